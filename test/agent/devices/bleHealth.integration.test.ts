/**
 * Bluetooth LE health devices end to end without a radio: a private dbus-daemon, a stand-in
 * org.bluez on it (test/helpers/bluezStandIn.ts), the real agent pointed at that bus as its
 * system bus, readings observed on a real mosquitto.
 */
import { describe, expect, it } from "vitest";
import type { PeripheralState, ReadingPayload } from "../../../agent/core/api.ts";
import { encodeBloodPressure } from "../../../drivers/ble-health/bloodPressure.ts";
import { encodeGlucose } from "../../../drivers/ble-health/glucose.ts";
import { encodePlxContinuous } from "../../../drivers/ble-health/pulseOximeter.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { BluezStandIn, type DeviceSpec, type StandInDevice } from "../../helpers/bluezStandIn.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { DbusDaemon } from "../../helpers/dbusDaemon.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();

const BLOOD_PRESSURE = { SERVICE: 0x1810, MEASUREMENT: 0x2a35 };
const DEVICE_INFORMATION = { SERVICE: 0x180a, MANUFACTURER: 0x2a29, MODEL: 0x2a24 };
const CUFF_ADDRESS = "C0:26:DA:01:23:45";

const text = (value: string) => new TextEncoder().encode(value);

function cuff(overrides: Partial<DeviceSpec> = {}): DeviceSpec {
  return {
    address: CUFF_ADDRESS,
    name: "BP cuff",
    advertised: [BLOOD_PRESSURE.SERVICE],
    known: true,
    services: [
      {
        uuid: DEVICE_INFORMATION.SERVICE,
        characteristics: [
          { uuid: DEVICE_INFORMATION.MANUFACTURER, flags: ["read"], value: text("Example Medical") },
          { uuid: DEVICE_INFORMATION.MODEL, flags: ["read"], value: text("BP-100") },
        ],
      },
      { uuid: BLOOD_PRESSURE.SERVICE, characteristics: [{ uuid: BLOOD_PRESSURE.MEASUREMENT, flags: ["indicate"] }] },
    ],
    ...overrides,
  };
}

/** 128/84 mmHg, mean 99, pulse 71 /min, with the cuff's own time stamp (GSS Blood Pressure Measurement). */
const MEASUREMENT = encodeBloodPressure({
  unit: "mmHg",
  systolic: { mantissa: 128, exponent: 0 },
  diastolic: { mantissa: 84, exponent: 0 },
  meanArterial: { mantissa: 99, exponent: 0 },
  pulseRate: { mantissa: 71, exponent: 0 },
  timeStamp: { year: 2026, month: 12, day: 3, hours: 10, minutes: 15, seconds: 0 },
});

const GLUCOSE = { SERVICE: 0x1808, MEASUREMENT: 0x2a18, RACP: 0x2a52 };

/** A glucose meter with a Record Access Control Point (its answers: answerRacp). */
function glucoseMeter(): DeviceSpec {
  return {
    address: "E8:00:11:22:33:44",
    name: "Glucose meter",
    advertised: [GLUCOSE.SERVICE],
    known: true,
    services: [
      {
        uuid: GLUCOSE.SERVICE,
        characteristics: [
          { uuid: GLUCOSE.MEASUREMENT, flags: ["notify"] },
          { uuid: GLUCOSE.RACP, flags: ["write", "indicate"] },
        ],
      },
    ],
  };
}

const glucoseRecord = (sequenceNumber: number) =>
  encodeGlucose({
    sequenceNumber,
    baseTime: { year: 2026, month: 12, day: 3, hours: 8, minutes: 5 * sequenceNumber, seconds: 0 },
    concentration: { value: { mantissa: 95, exponent: -5 }, unit: "kg/L", type: 1, sampleLocation: 1 },
    contextFollows: false,
  });

/**
 * Answers Report Stored Records (all, or from a sequence number on) from records 1…count(), once
 * `listening()` resolves (the test is subscribed to the readings by then).
 */
function answerRacp(device: StandInDevice, count: () => number, listening: () => Promise<unknown>): void {
  device.events.on("write", async (uuid, request) => {
    if (uuid !== GLUCOSE.RACP || request[0] !== 0x01) return;
    await listening();
    const from = request[1] === 0x03 ? request.readUInt16LE(3) : 1;
    // As a meter does: the records as notifications, then the Response Code as an indication.
    for (let sequence = from; sequence <= count(); sequence++) device.notify(GLUCOSE.MEASUREMENT, glucoseRecord(sequence));
    device.notify(GLUCOSE.RACP, Uint8Array.of(0x06, 0x00, 0x01, from <= count() ? 0x01 : 0x06));
  });
}

interface Clinic {
  standIn: BluezStandIn;
  agent: AgentProcess;
  readingTopic: string;
  stateTopic: string;
}

async function clinic(devices: DeviceSpec[], ble: string): Promise<Clinic & { devices: StandInDevice[] }> {
  const daemon = await DbusDaemon.start();
  fixture.cleanup(() => daemon.stop());
  const standIn = await BluezStandIn.start(daemon.address);
  fixture.cleanup(() => standIn.stop());
  const added = devices.map((spec) => standIn.addDevice(spec));
  const agent = await AgentProcess.start({
    brokerUrl: fixture.broker.url,
    env: { DBUS_SYSTEM_BUS_ADDRESS: daemon.address },
    extraYaml: ["peripherals:", `  - { id: cuff, driver: ble-health, ble: ${ble} }`].join("\n"),
  });
  fixture.cleanup(() => agent.stop());
  const root = `thea/v1/${agent.deviceId}/peripherals/cuff`;
  return { standIn, agent, devices: added, readingTopic: `${root}/reading`, stateTopic: `${root}/state` };
}

/** Resolves once the agent has subscribed to the characteristic (at once if it already has). */
function subscribed(device: StandInDevice, uuid: number): Promise<void> {
  if (device.characteristic(uuid)?.notifying) return Promise.resolve();
  return waitFor(`a subscription to 0x${uuid.toString(16)} on ${device.spec.address}`, 15_000, (done) => {
    const listener = (notified: number, on: boolean) => {
      if (notified === uuid && on) done();
    };
    device.events.on("notifying", listener);
    return () => device.events.off("notifying", listener);
  });
}

/** Sends the measurement and resolves with the reading it became, and how long that took. */
async function measure(device: StandInDevice, readingTopic: string, value = MEASUREMENT): Promise<{ reading: ReadingPayload; latencyMs: number }> {
  const { message } = await fixture.watcher.armed(readingTopic, () => true);
  const sentAt = performance.now();
  expect(device.notify(BLOOD_PRESSURE.MEASUREMENT, value)).toBe(true);
  const reading = (await message).json() as ReadingPayload;
  return { reading, latencyMs: performance.now() - sentAt };
}

async function peripheralState(agent: AgentProcess): Promise<PeripheralState | undefined> {
  const { body } = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/peripherals.list`, "{}");
  return (body as { result: { peripherals: PeripheralState[] } }).result.peripherals[0];
}

describe("a Bluetooth LE blood pressure cuff through BlueZ (a stand-in on a private D-Bus)", () => {
  it("finds the cuff by address, subscribes, and publishes LOINC/UCUM readings from its indication", async () => {
    const { devices, readingTopic, stateTopic } = await clinic([cuff()], `{ address: "${CUFF_ADDRESS}" }`);
    const [device] = devices;
    if (!device) throw new Error("no device");
    await fixture.watcher.next(stateTopic, (message) => (message.json() as PeripheralState).connected);
    await subscribed(device, BLOOD_PRESSURE.MEASUREMENT);
    const { reading, latencyMs } = await measure(device, readingTopic);
    // The issue asks for the reading within 2 s of the notification; shown, not asserted (a shared machine's timing).
    console.log(`ble-health: notification to reading on the broker in ${latencyMs.toFixed(0)} ms`);
    expect(reading).toMatchObject({
      peripheral: "cuff",
      driver: "ble-health",
      kind: "spot",
      flags: [],
      time: "2026-12-03T10:15:00",
      observations: [
        { type: "systolic_bp", value: 128, unit: "mm[Hg]", loinc: "8480-6" },
        { type: "diastolic_bp", value: 84, unit: "mm[Hg]", loinc: "8462-4" },
        { type: "mean_bp", value: 99, unit: "mm[Hg]", loinc: "8478-0" },
        { type: "pulse_rate", value: 71, unit: "/min", loinc: "8889-8" },
      ],
    });
  });

  it("reconnects with backoff after the cuff's link drops, and reads on", async () => {
    const { devices, readingTopic, stateTopic } = await clinic([cuff()], `{ address: "${CUFF_ADDRESS}" }`);
    const [device] = devices;
    if (!device) throw new Error("no device");
    await subscribed(device, BLOOD_PRESSURE.MEASUREMENT);
    await measure(device, readingTopic);

    const down = fixture.watcher.next(stateTopic, (message) => (message.json() as PeripheralState).connected === false);
    device.linkLost();
    expect((await down).json()).toMatchObject({ connected: false, lastError: "the device disconnected" });
    const up = fixture.watcher.next(stateTopic, (message) => (message.json() as PeripheralState).connected === true);
    await subscribed(device, BLOOD_PRESSURE.MEASUREMENT);
    expect((await up).json()).toMatchObject({ connected: true, path: CUFF_ADDRESS, lastError: null });
    expect(device.connects).toBe(2);
    const { reading } = await measure(device, readingTopic);
    expect(reading.observations[0]).toMatchObject({ type: "systolic_bp", value: 128 });
  });

  it("finds a cuff BlueZ does not know yet by the service it advertises, through discovery", async () => {
    const heartRateBelt: DeviceSpec = { address: "D4:11:22:33:44:55", name: "HR belt", advertised: [0x180d], known: false, services: [] };
    const { standIn, devices, readingTopic, stateTopic } = await clinic([heartRateBelt, cuff({ known: false })], `{ service: "1810" }`);
    const device = devices[1];
    if (!device) throw new Error("no device");
    const up = fixture.watcher.next(stateTopic, (message) => (message.json() as PeripheralState).connected === true);
    await subscribed(device, BLOOD_PRESSURE.MEASUREMENT);
    expect((await up).json()).toMatchObject({ connected: true, path: CUFF_ADDRESS });
    // Discovery is stopped again before connecting; the belt was never connected.
    expect(standIn.adapter.discovering).toBe(false);
    expect(devices[0]?.connects).toBe(0);
    const { reading } = await measure(device, readingTopic);
    expect(reading.observations.map((observation) => observation.type)).toEqual(["systolic_bp", "diastolic_bp", "mean_bp", "pulse_rate"]);
  });

  it("pulls a glucose meter's stored records, and after a reconnect publishes only the new one", async () => {
    let stored = 2;
    const { agent, devices, readingTopic, stateTopic } = await clinic([glucoseMeter()], `{ address: "E8:00:11:22:33:44" }`);
    const [meter] = devices;
    if (!meter) throw new Error("no device");
    const seen: string[] = [];
    let listening = fixture.watcher.armed(readingTopic, (message) => {
      seen.push((message.json() as ReadingPayload).time);
      return seen.length === 2;
    });
    answerRacp(meter, () => stored, () => listening);
    await (await listening).message;
    expect(seen).toEqual(["2026-12-03T08:05:00", "2026-12-03T08:10:00"]);

    const down = fixture.watcher.next(stateTopic, (message) => (message.json() as PeripheralState).connected === false);
    meter.linkLost();
    await down;
    stored = 3; // measured while away
    listening = fixture.watcher.armed(readingTopic, (message) => (message.json() as ReadingPayload).time === "2026-12-03T08:15:00");
    await (await listening).message;
    // Record 2 came back with record 3 (the request starts at the last one published) and was not published again.
    const state = await peripheralState(agent);
    expect(state).toMatchObject({ connected: true, readings: 3, badFrames: 0 });
    expect(meter.connects).toBe(2);
  });

  it("bounds an oximeter flooding notifications: drops and counts the excess, stays connected", async () => {
    const oximeter: DeviceSpec = {
      address: "A4:C1:38:00:00:01",
      name: "Oximeter",
      advertised: [0x1822],
      known: true,
      services: [{ uuid: 0x1822, characteristics: [{ uuid: 0x2a5f, flags: ["notify"] }] }],
    };
    const { agent, devices } = await clinic([oximeter], `{ address: "A4:C1:38:00:00:01" }`);
    const [device] = devices;
    if (!device) throw new Error("no device");
    await subscribed(device, 0x2a5f);
    const value = encodePlxContinuous({ normal: { spo2: { mantissa: 97, exponent: 0 }, pulseRate: { mantissa: 72, exponent: 0 } } });
    // Far beyond the link's budget (1,000 at once, then 20 a second), however slowly they arrive here.
    const FLOOD = 3000;
    for (let i = 0; i < FLOOD; i++) device.notify(0x2a5f, value);
    // The drops are reported once a second: wait until what was decoded and what was dropped add up.
    const state = await waitFor<PeripheralState>("every flooded value decoded or counted as dropped", 20_000, (done, fail) => {
      let stop = false;
      const poll = async () => {
        while (!stop) {
          const current = await peripheralState(agent);
          if (current && current.readings + current.discardedBytes / value.length >= FLOOD) return done(current);
        }
      };
      poll().catch(fail);
      return () => {
        stop = true;
      };
    });
    expect(state).toMatchObject({ connected: true });
    expect(state.badFrames).toBeGreaterThan(0);
    expect(state.readings).toBeLessThan(FLOOD);
    expect(state.readings + state.discardedBytes / value.length).toBe(FLOOD);
    expect(device.connects).toBe(1);
  });

  it("publishes the first reading of a burst of continuous oximeter values at once, and the sensor-off its last carried once the device falls silent", async () => {
    const oximeter: DeviceSpec = {
      address: "A4:C1:38:00:00:02",
      name: "Oximeter",
      advertised: [0x1822],
      known: true,
      services: [{ uuid: 0x1822, characteristics: [{ uuid: 0x2a5f, flags: ["notify"] }] }],
    };
    const { agent, devices, readingTopic } = await clinic([oximeter], `{ address: "A4:C1:38:00:00:02" }`);
    const [device] = devices;
    if (!device) throw new Error("no device");
    await subscribed(device, 0x2a5f);
    // Within the link's budget (1,000 at once), so every value is decoded. The test process is
    // busy sending for a while and the agent answers the first value at once: the subscription
    // must be the broker's before the burst starts, or the one published reading goes unseen.
    const BURST = 50;
    const { message } = await fixture.watcher.armed(readingTopic, () => true);
    const spo2Of = (payload: ReadingPayload) => payload.observations.find((observation) => observation.type === "spo2")?.value;
    // The burst's last value is the only 99 and says the sensor came off, so its reading says every
    // value before it was decoded.
    const LAST_SPO2 = 99;
    const { message: last } = await fixture.watcher.armed(readingTopic, (m) => spo2Of(m.json() as ReadingPayload) === LAST_SPO2);
    for (let i = 0; i < BURST; i++) {
      const spo2 = i === BURST - 1 ? LAST_SPO2 : 90 + (i % 8);
      const normal = { spo2: { mantissa: spo2, exponent: 0 }, pulseRate: { mantissa: 72, exponent: 0 } };
      // PLXS Device and Sensor Status bit 11: sensor unconnected to user.
      const value = encodePlxContinuous(i === BURST - 1 ? { normal, sensorStatus: 1 << 11 } : { normal });
      expect(device.notify(0x2a5f, value)).toBe(true);
    }
    // Continuous readings are published at most publishRateHz (1) a second: the burst's first at once.
    const reading = (await message).json() as ReadingPayload;
    expect(reading).toMatchObject({ peripheral: "cuff", driver: "ble-health", kind: "continuous", seq: expect.any(Number) });
    expect(reading.observations).toContainEqual(expect.objectContaining({ type: "spo2", value: 90 }));
    // The rest was held back; the oximeter then says nothing more, so the held sensor-off goes out
    // with its values an interval later instead of waiting for a next value that does not come.
    const trailing = (await last).json() as ReadingPayload;
    expect(trailing.seq).toBeGreaterThan(reading.seq);
    expect(trailing.flags).toContain("sensor-off");
    const state = await peripheralState(agent);
    expect(state).toMatchObject({ connected: true, readings: BURST, badFrames: 0 });
  });

  it("counts a malformed value, keeps the link, and decodes the next one", async () => {
    const { agent, devices, readingTopic } = await clinic([cuff()], `{ address: "${CUFF_ADDRESS}" }`);
    const [device] = devices;
    if (!device) throw new Error("no device");
    await subscribed(device, BLOOD_PRESSURE.MEASUREMENT);
    // Truncated: the flags announce a time stamp and pulse rate the value does not carry.
    expect(device.notify(BLOOD_PRESSURE.MEASUREMENT, MEASUREMENT.subarray(0, 9))).toBe(true);
    const { reading } = await measure(device, readingTopic);
    expect(reading.observations[0]).toMatchObject({ type: "systolic_bp", value: 128 });
    const state = await peripheralState(agent);
    expect(state).toMatchObject({ connected: true, readings: 1, badFrames: 1, discardedBytes: 9 });
    expect(device.connects).toBe(1);
  });
});

describe("a glucose meter's cursor across an agent restart", () => {
  it("after the agent restarts on the same data directory, publishes only the record measured meanwhile", async () => {
    let stored = 2;
    const daemon = await DbusDaemon.start();
    fixture.cleanup(() => daemon.stop());
    const standIn = await BluezStandIn.start(daemon.address);
    fixture.cleanup(() => standIn.stop());
    const meter = standIn.addDevice(glucoseMeter());
    const extraYaml = ["peripherals:", `  - { id: meter, driver: ble-health, ble: { address: "E8:00:11:22:33:44" } }`].join("\n");
    const env = { DBUS_SYSTEM_BUS_ADDRESS: daemon.address };
    const first = await AgentProcess.start({ brokerUrl: fixture.broker.url, env, extraYaml });
    fixture.cleanup(() => first.stop());
    const readingTopic = `thea/v1/${first.deviceId}/peripherals/meter/reading`;
    const firstIds = new Set<string>();
    let listening = fixture.watcher.armed(readingTopic, (message) => {
      firstIds.add((message.json() as ReadingPayload).id);
      return firstIds.size === 2;
    });
    answerRacp(meter, () => stored, () => listening);
    await (await listening).message;

    // An update or a reboot: the agent stops and starts again on the same data directory.
    first.kill("SIGTERM");
    await first.waitForExit(15_000);
    meter.linkLost(); // a no-op if the agent said Disconnect on its way out
    stored = 3; // measured while the agent was down; the meter still holds records 1 and 2
    const times: string[] = [];
    listening = fixture.watcher.armed(readingTopic, (message) => {
      const reading = message.json() as ReadingPayload;
      // The first agent's readings, resent under their own ids, are not duplicates.
      if (!firstIds.has(reading.id)) times.push(reading.time);
      return reading.time === "2026-12-03T08:15:00";
    });
    const second = await AgentProcess.start({ brokerUrl: fixture.broker.url, env, extraYaml, dataDir: first.dataDir, deviceId: first.deviceId });
    fixture.cleanup(() => second.stop());
    await (await listening).message;
    expect(times).toEqual(["2026-12-03T08:15:00"]);
    expect(meter.connects).toBe(2);
  });
});
