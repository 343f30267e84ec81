/**
 * The way of a reading with the parts around it faked: a driver instance that decodes what the
 * test says (or a real driver's), and an outbox that keeps what it is given. What reaches the
 * outbox, with which stamp and priority; what a throttled burst keeps; a reply sent once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ReadingPath, type ReadingCounters } from "../../../agent/devices/readingPath.ts";
import { PRIORITY } from "../../../agent/outbox/priority.ts";
import type { NewEntry } from "../../../agent/outbox/store.ts";
import { driverById } from "../../../drivers/index.ts";
import type { DeviceReading, DriverEvent, DriverInstance, ReadingFlag } from "../../../drivers/core/types.ts";

const TOPIC = "thea/v1/box-1/peripherals/finger/reading";
const STARTED = Date.UTC(2026, 11, 3, 10, 0, 0);

/** A driver instance whose decoder yields, for each chunk, the events the test queued. */
function scriptedInstance(): DriverInstance & { next: DriverEvent[][] } {
  const next: DriverEvent[][] = [];
  return {
    next,
    connected: () => undefined,
    push: (_chunk, take) => next.shift()?.forEach((event) => take?.(event)),
    execute: () => Promise.reject(new Error("no commands")),
    disconnected: () => undefined,
  };
}

const counters = (): ReadingCounters => ({ readings: 0, demoReadings: 0, unmappedObservations: 0, badFrames: 0, discardedBytes: 0, lastReadingAt: null });

function path(publishRateHz = 1) {
  const entries: NewEntry[] = [];
  const state = counters();
  const readings = new ReadingPath({ peripheral: "finger", driver: "nonin", topic: TOPIC, publishRateHz, outbox: { enqueue: (entry) => entries.push(entry) }, counters: state });
  return { readings, entries, state };
}

/** The payload as the outbox would store it, numbered `seq`. */
function payloadOf(entry: NewEntry | undefined, seq = 1): Record<string, unknown> {
  if (entry === undefined) throw new Error("nothing in the outbox");
  return JSON.parse(typeof entry.payload === "string" ? entry.payload : entry.payload(seq)) as Record<string, unknown>;
}

const spo2 = (value: number, kind: DeviceReading["kind"] = "continuous", flags: ReadingFlag[] = []): DriverEvent => ({
  type: "reading",
  reading: { kind, observations: [{ type: "spo2", value, unit: "%", loinc: "59408-5" }], flags },
});
const chunk = Uint8Array.of(0);

beforeEach(() => {
  vi.useFakeTimers({ now: STARTED });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the way of a reading", () => {
  it("puts a decoded reading in the outbox, stamped, at clinical priority on its peripheral's topic", () => {
    const { readings, entries, state } = path();
    const instance = scriptedInstance();
    const receivedAt = new Date(STARTED);
    const cuff: DriverEvent = {
      type: "reading",
      reading: { kind: "spot", observations: [{ type: "systolic_bp", value: 120, unit: "mm[Hg]", loinc: "8480-6" }], flags: ["device-clock-offset"], deviceTime: "2026-12-03T11:01:00", deviceClockOffsetMs: 60_000 },
    };
    instance.next.push([cuff]);
    readings.receive(chunk, instance, receivedAt);

    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ topic: TOPIC, priority: PRIORITY.clinical, createdAt: STARTED });
    expect(payloadOf(entries[0], 42)).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      seq: 42,
      peripheral: "finger",
      driver: "nonin",
      time: "2026-12-03T11:01:00",
      receivedAt: "2026-12-03T10:00:00.000Z",
      kind: "spot",
      observations: [{ type: "systolic_bp", value: 120, unit: "mm[Hg]", loinc: "8480-6" }],
      flags: ["device-clock-offset"],
      deviceClockOffsetMs: 60_000,
    });
    expect(state).toMatchObject({ readings: 1, lastReadingAt: "2026-12-03T10:00:00.000Z" });
  });

  it("counts discards, demo data and unmapped codes in the peripheral's state, and publishes none of the first two", () => {
    const { readings, entries, state } = path();
    const instance = scriptedInstance();
    const unmapped = { type: "device_numeric", value: 3, unit: "1", code: "999999", codeSystem: "MDC" } as const;
    instance.next.push([{ type: "discarded", bytes: 7, reason: "bad checksum" }, spo2(95, "spot", ["demo-data"]), { type: "reading", reading: { kind: "spot", observations: [unmapped], flags: [] } }]);
    readings.receive(chunk, instance, new Date(STARTED));
    expect(state).toMatchObject({ badFrames: 1, discardedBytes: 7, demoReadings: 1, readings: 1, unmappedObservations: 1 });
    expect(entries.map((entry) => payloadOf(entry).observations)).toEqual([[unmapped]]);
  });

  it("keeps of a continuous burst what the throttle keeps: the first at once, the flags of the rest an interval later", async () => {
    const { readings, entries, state } = path(1);
    const instance = scriptedInstance();
    const burst = [spo2(90), spo2(91, "continuous", ["artifact"]), spo2(92), spo2(93)];
    for (const event of burst) {
      instance.next.push([event]);
      readings.receive(chunk, instance, new Date());
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(state.readings).toBe(4);
    expect(entries.map((entry) => payloadOf(entry).observations)).toEqual([[expect.objectContaining({ value: 90 })]]);

    // The device falls silent: an interval after the last one, the latest held-back reading goes out with the flag held.
    await vi.advanceTimersByTimeAsync(800);
    expect(entries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(entries).toHaveLength(2);
    expect(payloadOf(entries[1])).toMatchObject({ observations: [expect.objectContaining({ value: 93 })], flags: ["artifact"], receivedAt: "2026-12-03T10:00:00.300Z" });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(entries).toHaveLength(2);
  });

  it("stores a held-back reading with flags at once when the peripheral stops, and leaves no timer", async () => {
    const { readings, entries } = path(1);
    const instance = scriptedInstance();
    instance.next.push([spo2(90)], [spo2(91, "continuous", ["sensor-off"])]);
    readings.receive(chunk, instance, new Date(STARTED));
    readings.receive(chunk, instance, new Date(STARTED + 100));
    readings.release();
    expect(entries.map((entry) => payloadOf(entry).flags)).toEqual([[], ["sensor-off"]]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(entries).toHaveLength(2);
  });

  it("sends the reply a decoder asks for (an HL7 ACK) to the device once, through io, after its reading is in the outbox", () => {
    const hl7 = driverById("hl7-mllp");
    if (!hl7) throw new Error("hl7-mllp not registered");
    const happened: string[] = [];
    const sent: Uint8Array[] = [];
    const readings = new ReadingPath({
      peripheral: "monitor",
      driver: hl7.id,
      topic: TOPIC,
      publishRateHz: 1,
      outbox: { enqueue: () => happened.push("stored") },
      counters: counters(),
    });
    const instance = hl7.instantiate({}, { send: (bytes) => (sent.push(bytes), happened.push("sent")) > 0 });
    readings.receive(hl7.simulator({}, "normal").chunk(0), instance, new Date(STARTED));

    expect(happened).toEqual(["stored", "sent"]);
    expect(sent).toHaveLength(1);
    expect(new TextDecoder().decode(sent[0])).toMatch(/^\x0bMSH\|.*\rMSA\|AA\|/s);
  });
});
