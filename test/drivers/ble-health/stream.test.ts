/**
 * The ble-health driver as the agent's BlueZ link drives it: GATT frames in (gattStream.ts),
 * readings, discards and writes back out. Glucose records are pulled through the control point
 * and published once across reconnects (the peripheral's memory); the Current Time read at
 * connection gives the clock offset and, where off, a write that sets the clock.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHARACTERISTIC } from "../../../drivers/ble-health/characteristics.ts";
import { encodeCurrentTime } from "../../../drivers/ble-health/dateTime.ts";
import { encodeGlucose } from "../../../drivers/ble-health/glucose.ts";
import { droppedFrame, encodeFrame, FRAME_KIND, GattFrameReader, readyFrame, type GattFrame } from "../../../drivers/ble-health/gattStream.ts";
import { bleHealth } from "../../../drivers/ble-health/descriptor.ts";
import type { DecoderEvent, DriverMemory } from "../../../drivers/core/types.ts";
import { readings } from "../../helpers/decoderEvents.ts";

const NOW = Date.UTC(2026, 11, 3, 10, 0, 0);
const value = (characteristic: number, bytes: Uint8Array): Uint8Array => encodeFrame({ kind: FRAME_KIND.VALUE, characteristic, value: bytes });
const ready = (...characteristics: number[]) => encodeFrame(readyFrame(NOW, characteristics));
const glucoseRecord = (sequenceNumber: number, minute: number) =>
  value(
    CHARACTERISTIC.GLUCOSE_MEASUREMENT,
    encodeGlucose({
      sequenceNumber,
      baseTime: { year: 2026, month: 12, day: 3, hours: 8, minutes: minute, seconds: 0 },
      // 0.00095 kg/L = 95 mg/dL, capillary whole blood (type 1), finger (location 1).
      concentration: { value: { mantissa: 95, exponent: -5 }, unit: "kg/L", type: 1, sampleLocation: 1 },
      contextFollows: false,
    }),
  );
const racpSuccess = value(CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT, Uint8Array.of(0x06, 0x00, 0x01, 0x01));

/** The frames the driver asked the link to write. */
function writes(events: DecoderEvent[]): GattFrame[] {
  const reader = new GattFrameReader();
  return events.flatMap((event) => (event.type === "reply" ? reader.push(event.bytes) : [])).flatMap((event) => (event.type === "frame" ? [event.frame] : []));
}

/** One connection: what it decoded, and the writes it sent through its io (as `reply`), in order. */
function connection(memory: DriverMemory, options: Record<string, unknown> = {}) {
  let events: DecoderEvent[] = [];
  const session = bleHealth.instantiate(options, { send: (bytes) => events.push({ type: "reply", bytes }) > 0 }, memory);
  return (...frames: Uint8Array[]): DecoderEvent[] => {
    events = [];
    for (const frame of frames) session.push(frame, (event) => events.push(event));
    return events;
  };
}

describe("ble-health over GATT frames", () => {
  it("pulls a meter's stored records and, after a reconnect, publishes only the newer ones", () => {
    const memory = bleHealth.memory();
    const first = connection(memory);
    const [request] = writes(first(ready(CHARACTERISTIC.GLUCOSE_MEASUREMENT, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT)));
    // Report Stored Records, all (GLS 4.9.2: Op Code 0x01, Operator 0x01).
    expect(request).toMatchObject({ kind: FRAME_KIND.WRITE, characteristic: CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT });
    expect([...(request?.value ?? [])]).toEqual([0x01, 0x01]);
    const pulled = readings(first(glucoseRecord(1, 0), glucoseRecord(2, 5), racpSuccess));
    expect(pulled.map((reading) => reading.observations)).toEqual([
      [{ type: "glucose", value: 95, unit: "mg/dL", loinc: "2339-0" }],
      [{ type: "glucose", value: 95, unit: "mg/dL", loinc: "2339-0" }],
    ]);

    const second = connection(memory);
    const [again] = writes(second(ready(CHARACTERISTIC.GLUCOSE_MEASUREMENT, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT)));
    // From sequence number 2 on (Operator 0x03, Filter Type 0x01): the last one published comes back, unpublished.
    expect([...(again?.value ?? [])]).toEqual([0x01, 0x03, 0x01, 0x02, 0x00]);
    const newer = readings(second(glucoseRecord(2, 5), glucoseRecord(3, 30), racpSuccess));
    expect(newer).toHaveLength(1);
    expect(newer[0]?.deviceTime).toBe("2026-12-03T08:30:00");
  });

  it("without the peripheral's memory a new connection asks for every record again", () => {
    const fresh = connection(bleHealth.memory());
    fresh(ready(CHARACTERISTIC.GLUCOSE_MEASUREMENT, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT), glucoseRecord(1, 0), racpSuccess);
    const [request] = writes(connection(bleHealth.memory())(ready(CHARACTERISTIC.GLUCOSE_MEASUREMENT, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT)));
    expect([...(request?.value ?? [])]).toEqual([0x01, 0x01]);
  });

  it("reports the device clock's offset read at connection, flags it beyond 5 s and sets the clock", () => {
    const push = connection(bleHealth.memory());
    // The cuff's clock reads 12:01:00 local (UTC+2) while the box's reads 10:00:00 UTC: 60 s ahead.
    const deviceNow = encodeCurrentTime({ now: new Date(NOW + 60_000), utcOffsetMinutes: 120 });
    const events = push(value(CHARACTERISTIC.CURRENT_TIME, deviceNow), ready(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, CHARACTERISTIC.CURRENT_TIME));
    // utcOffsetMinutes is an option; default 0 would call this 2 h 1 min off.
    expect(writes(events)).toHaveLength(1);
    const withOffset = connection(bleHealth.memory(), { utcOffsetMinutes: 120 });
    const set = writes(withOffset(value(CHARACTERISTIC.CURRENT_TIME, deviceNow), ready(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, CHARACTERISTIC.CURRENT_TIME)));
    expect(set).toEqual([{ kind: FRAME_KIND.WRITE, characteristic: CHARACTERISTIC.CURRENT_TIME, value: encodeCurrentTime({ now: new Date(NOW), utcOffsetMinutes: 120 }) }]);
    const bloodPressure = Uint8Array.of(0x00, 0x80, 0x00, 0x54, 0x00, 0x63, 0x00); // 128/84 mmHg, mean 99
    const [reading] = readings(withOffset(value(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, bloodPressure)));
    expect(reading).toMatchObject({ deviceClockOffsetMs: 60_000, flags: ["device-clock-offset"] });
  });

  it("takes the site's offset from its time zone at the moment, DST included", () => {
    // 3 Dec 2026 10:00 UTC is 11:00 in Berlin (CET, +60 min); the meter reads 11:00:30.
    const push = connection(bleHealth.memory(), { timeZone: "Europe/Berlin" });
    const deviceNow = encodeCurrentTime({ now: new Date(NOW + 30_000), utcOffsetMinutes: 60 });
    const [set] = writes(push(value(CHARACTERISTIC.CURRENT_TIME, deviceNow), ready(CHARACTERISTIC.CURRENT_TIME)));
    expect(set?.value).toEqual(encodeCurrentTime({ now: new Date(NOW), utcOffsetMinutes: 60 }));
    expect(bleHealth.checkOptions({ timeZone: "Mars/Olympus" })).toEqual([{ path: ["timeZone"], message: expect.stringMatching(/IANA time zone/) }]);
  });

  it("leaves a clock within 5 s alone and does not flag its readings", () => {
    const push = connection(bleHealth.memory(), { utcOffsetMinutes: 120 });
    const deviceNow = encodeCurrentTime({ now: new Date(NOW + 2_000), utcOffsetMinutes: 120 });
    expect(writes(push(value(CHARACTERISTIC.CURRENT_TIME, deviceNow), ready(CHARACTERISTIC.CURRENT_TIME)))).toEqual([]);
    const [reading] = readings(push(value(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, Uint8Array.of(0x00, 0x80, 0x00, 0x54, 0x00, 0x63, 0x00))));
    expect(reading).toMatchObject({ deviceClockOffsetMs: 2_000, flags: [] });
  });

  it("counts what the link dropped from a flooding device as discarded", () => {
    const events = connection(bleHealth.memory())(encodeFrame(droppedFrame(CHARACTERISTIC.PLX_CONTINUOUS, 300, 5_400)));
    expect(events).toEqual([{ type: "discarded", bytes: 5_400, reason: "0x2a5f flooded the link: 300 value(s) dropped" }]);
  });

  it("unwraps the same frames however the bytes are split", () => {
    const frames = [value(0x2a29, new TextEncoder().encode("Example")), glucoseRecord(7, 1), ready(0x2a18)];
    const whole = Uint8Array.from(frames.flatMap((frame) => [...frame]));
    const expected = new GattFrameReader().push(whole);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 10 }), (cuts) => {
        const reader = new GattFrameReader();
        const edges = [0, ...cuts.sort((a, b) => a - b), whole.length];
        expect(edges.slice(1).flatMap((end, i) => reader.push(whole.subarray(edges[i], end)))).toEqual(expected);
      }),
    );
  });
});
