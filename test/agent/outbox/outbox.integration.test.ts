/**
 * Never lose a reading: a simulated oximeter streams through the agent while the broker goes
 * away and the agent is killed; every sequence number must reach a subscriber.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { HealthPayload, ReadingPayload } from "../../../agent/core/api.ts";
import { OUTBOX_FILE } from "../../../agent/outbox/outbox.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TestClient } from "../../helpers/mqttClient.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";
import { waitFor } from "../../helpers/wait.ts";
import { DatabaseSync } from "node:sqlite";

/** Clinical entries the agent holds in its outbox right now (read beside it, as WAL allows). */
function storedReadings(dataDir: string): number {
  try {
    const db = new DatabaseSync(path.join(dataDir, OUTBOX_FILE), { readOnly: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE priority = 2").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

const fixture = useBroker();

/** An oximeter on a pty; returns the agent's end. */
async function oximeter(): Promise<string> {
  const pty = new PtyPair(await mkdtemp(path.join(tmpdir(), "thea-outbox-")), "oximeter");
  await pty.open();
  fixture.cleanup(() => pty.close());
  const simulator = await SimulatorProcess.start("nonin", pty.deviceEnd);
  fixture.cleanup(() => simulator.stop());
  return pty.agentEnd;
}

function startAgent(port: string, dataDir: string, deviceId: string): Promise<AgentProcess> {
  return AgentProcess.start({
    brokerUrl: fixture.broker.url,
    dataDir,
    deviceId,
    extraYaml: `peripherals:\n  - { id: oximeter, driver: nonin, port: "${port}", publishRateHz: 3 }\noutbox: { replayRatePerSec: 200 }`,
  });
}

/** Collects every reading seq a subscriber sees, in arrival order. */
async function collectSeqs(client: TestClient, topic: string): Promise<number[]> {
  const seen: number[] = [];
  client.client.on("message", (arrived, payload) => {
    if (arrived === topic) seen.push((JSON.parse(payload.toString()) as ReadingPayload).seq);
  });
  await client.client.subscribeAsync(topic, { qos: 1 });
  return seen;
}

function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  return waitFor(what, timeoutMs, (done) => {
    const timer = setInterval(() => condition() && done(), 50);
    return () => clearInterval(timer);
  });
}

const missing = (seen: number[]) => {
  const unique = new Set(seen);
  const max = Math.max(...seen);
  return Array.from({ length: max }, (_, i) => i + 1).filter((seq) => !unique.has(seq));
};

describe("store and forward", () => {
  it("delivers every reading taken while the broker was down, oldest first, once it is back", async () => {
    const port = await oximeter();
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-data-"));
    const agent = await startAgent(port, dataDir, "outage-box");
    fixture.cleanup(() => agent.stop());
    const topic = "thea/v1/outage-box/peripherals/oximeter/reading";
    const seen = await collectSeqs(fixture.watcher, topic);
    await until("readings before the outage", () => seen.length >= 3);

    await fixture.broker.pause();
    // Readings go on being taken (3 a second) while nobody can receive them.
    await until("readings stored during the outage", () => storedReadings(dataDir) >= 6);
    await fixture.broker.resume();

    const watcher = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => watcher.close());
    const after = await collectSeqs(watcher, topic);
    const health = await watcher.next("thea/v1/outage-box/health");
    expect((health.json() as HealthPayload).outbox).toMatchObject({ degraded: false, dropped: { clinical: 0 } });
    // Everything from the first reading after reconnect back to where the first subscriber lost
    // the stream must arrive.
    const lastBefore = Math.max(...seen);
    await until("the backlog and live readings", () => after.length > 0 && missing([...seen, ...after]).length === 0 && Math.max(...after) > lastBefore + 5);
    const replayed = after.filter((seq) => seq <= lastBefore + 5 && !seen.includes(seq));
    expect(replayed).toEqual([...replayed].sort((a, b) => a - b));
  });

  it("loses nothing across repeated kill -9 of the agent mid-stream, online and offline", { timeout: 60_000 }, async () => {
    const port = await oximeter();
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-data-"));
    const topic = "thea/v1/crash-box/peripherals/oximeter/reading";
    const seen = await collectSeqs(fixture.watcher, topic);
    for (let cycle = 0; cycle < 3; cycle++) {
      const agent = await startAgent(port, dataDir, "crash-box");
      const target = seen.length + 3;
      await until(`readings in cycle ${cycle}`, () => seen.length >= target);
      agent.kill("SIGKILL");
      await agent.exited;
    }
    // The hardest case: killed while the broker is away, with readings stored and never sent.
    const offline = await startAgent(port, dataDir, "crash-box");
    await until("the agent to be online", () => seen.length > 9);
    await fixture.broker.pause();
    const before = storedReadings(dataDir);
    await until("readings stored while offline", () => storedReadings(dataDir) >= before + 4);
    offline.kill("SIGKILL");
    await offline.exited;
    await fixture.broker.resume();
    const last = await startAgent(port, dataDir, "crash-box");
    fixture.cleanup(() => last.stop());
    const highest = Math.max(...seen);
    await until("every sequence number up to the last one taken", () => Math.max(...seen) > highest + 3 && missing(seen).length === 0);
    expect(missing(seen)).toEqual([]);
  });
});

describe("a failing data disk", () => {
  // 24 KiB free: the database cannot even be created; 96 KiB: it fills up while readings flow.
  it.each([
    ["full at start", 24, /cannot open the outbox database/],
    ["filling up while running", 96, /database or disk is full/],
  ] as const)("%s: degrades the outbox to memory, says so in health, keeps delivering readings", { timeout: 45_000 }, async (_label, freeKb, expected) => {
    const port = await oximeter();
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      deviceId: `full-disk-${freeKb}`,
      nearlyFullDiskKb: freeKb,
      healthIntervalSec: 1,
      extraYaml: `peripherals:\n  - { id: oximeter, driver: nonin, port: "${port}", publishRateHz: 3 }`,
    });
    fixture.cleanup(() => agent.stop());
    const events = `thea/v1/full-disk-${freeKb}/event`;
    // Events from before the connection travel in the outbox backlog, so plain waits suffice here.
    const diskWarning = fixture.watcher.next(events, (m) => (m.json() as { type: string }).type === "disk.usage-high", 40_000);
    const degradedEvent = fixture.watcher.next(events, (m) => (m.json() as { type: string }).type === "outbox.degraded", 40_000);
    const health = await fixture.watcher.next(`thea/v1/full-disk-${freeKb}/health`, (m) => (m.json() as HealthPayload).outbox.degraded, 40_000);
    expect((health.json() as HealthPayload).outbox.degradedReason).toMatch(expected);
    const topic = `thea/v1/full-disk-${freeKb}/peripherals/oximeter/reading`;
    const seen = await collectSeqs(fixture.watcher, topic);
    await until("readings after the disk filled", () => seen.length >= 3);
    expect(agent.running).toBe(true);
    expect(agent.stdout.text).toContain("OUTBOX DEGRADED");
    expect((await degradedEvent).json()).toMatchObject({ reason: expect.stringMatching(expected) });
    expect(((await diskWarning).json() as { usedPercent: number }).usedPercent).toBeGreaterThanOrEqual(80);
  });
});
