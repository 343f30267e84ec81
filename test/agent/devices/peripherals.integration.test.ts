/**
 * A Nonin oximeter simulated on the far end of a real pseudo-terminal pair, the agent on the
 * near end, readings observed on a real mosquitto.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PeripheralState, ReadingPayload } from "../../../agent/core/api.ts";
import { DRIVERS } from "../../../drivers/index.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TestClient } from "../../helpers/mqttClient.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";

const fixture = useBroker();

interface Station {
  pty: PtyPair;
  agent: AgentProcess;
  simulator: SimulatorProcess;
  readingTopic: string;
  stateTopic: string;
}

interface StationOptions {
  driver?: string;
  scenario?: string;
  rateHz?: number;
  dataDir?: string;
  deviceId?: string;
  silentAfterSec?: number;
}

async function station(options: StationOptions = {}): Promise<Station> {
  const driver = options.driver ?? "nonin";
  const dir = await mkdtemp(path.join(tmpdir(), "thea-station-"));
  const pty = new PtyPair(dir, "oximeter");
  await pty.open();
  fixture.cleanup(() => pty.close());
  const simulator = await SimulatorProcess.start(driver, pty.deviceEnd, options.scenario);
  fixture.cleanup(() => simulator.stop());
  const agent = await AgentProcess.start({
    brokerUrl: fixture.broker.url,
    ...(options.dataDir && { dataDir: options.dataDir }),
    ...(options.deviceId && { deviceId: options.deviceId }),
    extraYaml: [
      "peripherals:",
      `  - { id: oximeter, driver: ${driver}, port: "${pty.agentEnd}", publishRateHz: ${options.rateHz ?? 2}, silentAfterSec: ${options.silentAfterSec ?? 10} }`,
    ].join("\n"),
  });
  fixture.cleanup(() => agent.stop());
  const root = `thea/v1/${agent.deviceId}/peripherals/oximeter`;
  return { pty, agent, simulator, readingTopic: `${root}/reading`, stateTopic: `${root}/state` };
}

/** The next `count` readings on a topic, in arrival order. */
async function readings(topic: string, count: number, match: (reading: ReadingPayload) => boolean = () => true): Promise<ReadingPayload[]> {
  const seen: ReadingPayload[] = [];
  await fixture.watcher.next(topic, (message) => {
    const reading = message.json() as ReadingPayload;
    if (match(reading)) seen.push(reading);
    return seen.length >= count;
  });
  return seen;
}

describe("a Nonin oximeter on a serial line", () => {
  it("publishes typed, unit-bearing readings at the configured rate with increasing seq", async () => {
    const { readingTopic } = await station({ rateHz: 2 });
    const got = await readings(readingTopic, 4);
    expect(got[0]).toMatchObject({
      id: expect.any(String),
      peripheral: "oximeter",
      driver: "nonin",
      kind: "continuous",
      time: expect.any(String),
      receivedAt: expect.any(String),
      flags: [],
      observations: [
        { type: "spo2", value: expect.any(Number), unit: "%", loinc: "59408-5" },
        { type: "pulse_rate", value: expect.any(Number), unit: "/min", loinc: "8889-8" },
      ],
    });
    for (let i = 1; i < got.length; i++) {
      const [previous, current] = [got[i - 1], got[i]];
      if (!previous || !current) continue;
      expect(current.seq).toBeGreaterThan(previous.seq);
      // 3 packets a second arrive; at 2 Hz the agent must not publish them closer than 0.5 s.
      expect(Date.parse(current.receivedAt) - Date.parse(previous.receivedAt)).toBeGreaterThanOrEqual(450);
    }
  });

  it("reports the cable pulled and recovers when it is plugged back, without restarting the agent", async () => {
    const { pty, agent, simulator, readingTopic, stateTopic } = await station();
    await readings(readingTopic, 1);

    const eventTopic = `thea/v1/${agent.deviceId}/event`;
    // Its own client, subscribed before the cable is pulled (events are not retained).
    const operator = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => operator.close());
    const unplugEvent = await operator.armed(eventTopic, (m) => (m.json() as { type: string }).type === "peripheral.disconnected");
    const unplugged = fixture.watcher.next(stateTopic, (m) => (m.json() as PeripheralState).connected === false);
    await simulator.stop();
    await pty.close();
    const state = (await unplugged).json() as PeripheralState;
    expect(state).toMatchObject({ connected: false, lastError: expect.any(String) });
    // Retained: someone who subscribes now still learns the cable is out.
    const late = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => late.close());
    const retained = await late.next(stateTopic);
    expect(retained.packet.retain).toBe(true);
    expect(retained.json()).toMatchObject({ connected: false });

    expect((await unplugEvent.message).json()).toMatchObject({ type: "peripheral.disconnected", peripheral: "oximeter", driver: "nonin", id: expect.any(String), time: expect.any(String) });
    const replugEvent = await operator.armed(eventTopic, (m) => (m.json() as { type: string }).type === "peripheral.connected");
    const replugged = fixture.watcher.next(stateTopic, (m) => (m.json() as PeripheralState).connected === true);
    await pty.open();
    const again = await SimulatorProcess.start("nonin", pty.deviceEnd);
    fixture.cleanup(() => again.stop());
    await replugged;
    await replugEvent.message;
    const after = await readings(readingTopic, 1);
    expect(after[0]?.observations.length).toBe(2);
    expect(agent.running).toBe(true);
  });

  it("reports the oximeter switched off with its cable still in, and back when it is switched on", async () => {
    const { simulator, readingTopic, stateTopic } = await station({ silentAfterSec: 2 });
    await readings(readingTopic, 1);
    const off = fixture.watcher.next(stateTopic, (m) => (m.json() as PeripheralState).connected === false);
    simulator.switchOff();
    expect((await off).json()).toMatchObject({ connected: false, lastError: "no data from the device for 2 s (switched off?)" });
    const on = fixture.watcher.next(stateTopic, (m) => (m.json() as PeripheralState).connected === true);
    simulator.switchOn();
    expect((await on).json()).toMatchObject({ connected: true, lastError: null });
    await readings(readingTopic, 1);
  });

  it("counts and skips garbled bytes and keeps decoding; peripherals.list shows the counters", async () => {
    const { agent, readingTopic } = await station({ scenario: "garbled" });
    await readings(readingTopic, 3);
    const { body } = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/peripherals.list`, "{}");
    const [oximeter] = (body as { result: { peripherals: PeripheralState[] } }).result.peripherals;
    expect(oximeter).toMatchObject({ peripheral: "oximeter", driver: "nonin", connected: true });
    expect(oximeter?.badFrames).toBeGreaterThan(0);
    expect(oximeter?.discardedBytes).toBeGreaterThan(0);
    // Every decoded reading is counted, published or not (a gappy line gets each one out).
    expect(oximeter?.readings).toBeGreaterThanOrEqual(3);
  });

  it("flags a finger taken out and leaves its values out instead of publishing zeros", async () => {
    const { readingTopic } = await station({ scenario: "finger-out", rateHz: 5 });
    const [out] = await readings(readingTopic, 1, (reading) => reading.flags.includes("sensor-disconnected"));
    expect(out?.observations).toEqual([]);
  });

  it("keeps seq increasing across an agent restart", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-seq-"));
    const first = await station({ dataDir, deviceId: "seq-box" });
    const before = await readings(first.readingTopic, 2);
    first.agent.kill("SIGTERM");
    await first.agent.waitForExit(5000);
    await fixture.cleanupNow();

    const second = await station({ dataDir, deviceId: "seq-box" });
    const [firstAfterRestart] = await readings(second.readingTopic, 1);
    expect(firstAfterRestart?.seq).toBeGreaterThan(before[before.length - 1]?.seq ?? Number.POSITIVE_INFINITY);
  });
});

// Bluetooth LE drivers have no byte stream on a port: test/agent/bleHealth.integration.test.ts.
describe.each(DRIVERS.filter((driver) => driver.measures.length > 0 && driver.transport === undefined).map((driver) => [driver.id, driver] as const))("driver %s end to end", (id, driver) => {
  it("turns its simulator's bytes on a pty into readings on the broker", async () => {
    const { readingTopic, stateTopic, agent } = await station({ driver: id });
    const first = readings(readingTopic, 1);
    if (driver.measureCommand) {
      // A cuff measures when told to: tell it once the line is up.
      await fixture.watcher.next(stateTopic, (message) => (message.json() as PeripheralState).connected);
      const answer = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${driver.measureCommand}`, "{}");
      expect(answer.body).toMatchObject({ ok: true });
    }
    const [reading] = await first;
    expect(reading).toMatchObject({ driver: id, peripheral: "oximeter", kind: driver.kind });
    const types = reading?.observations.map((observation) => observation.type) ?? [];
    expect(types.length).toBeGreaterThan(0);
    for (const type of types) expect(driver.measures).toContain(type);
  });
});
