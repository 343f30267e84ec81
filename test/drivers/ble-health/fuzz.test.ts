/**
 * Fuzzing as for the other decoders: garbage on any characteristic, with any quirks, never throws
 * and yields only well-formed readings or counted discards; garbage Current Time values and
 * control-point indications, and any records, never break a glucose pull; every valid
 * measurement, encoded per its layout, decodes back to itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bloodPressureLayout, encodeBloodPressure } from "../../../drivers/ble-health/bloodPressure.ts";
import { BleHealthDecoder, CHARACTERISTIC, decodeMeasurement, MEASUREMENT_CHARACTERISTICS } from "../../../drivers/ble-health/characteristics.ts";
import { encodeGlucose, glucoseLayout } from "../../../drivers/ble-health/glucose.ts";
import { decodeWithLayout, type MeasurementLayout } from "../../../drivers/ble-health/layout.ts";
import { encodePlxContinuous, encodePlxSpotCheck, plxContinuousLayout, plxSpotCheckLayout } from "../../../drivers/ble-health/pulseOximeter.ts";
import { QUIRK_IDS } from "../../../drivers/ble-health/quirks.ts";
import { encodeTemperature, temperatureLayout } from "../../../drivers/ble-health/thermometer.ts";
import { encodeWeight, weightLayout } from "../../../drivers/ble-health/weightScale.ts";
import { decodeCurrentTime } from "../../../drivers/ble-health/dateTime.ts";
import { GlucoseRecordSync, type GlucoseCursor } from "../../../drivers/ble-health/glucoseSync.ts";
import { OBSERVATIONS } from "../../../drivers/core/observations.ts";
import { READING_FLAGS, type DeviceReading } from "../../../drivers/core/types.ts";
import { readings } from "../../helpers/decoderEvents.ts";
import { dateTimeArb, floatArb, sfloatArb, u16, u24, u8 } from "./arbitraries.ts";

/** A reading in the published shape: known flags, catalogued types in their unit and range, an ISO device time. */
function expectWellFormed(reading: DeviceReading): void {
  expect(["continuous", "spot"]).toContain(reading.kind);
  for (const flag of reading.flags) expect(READING_FLAGS).toContain(flag);
  expect(new Set(reading.flags).size).toBe(reading.flags.length);
  if (reading.deviceTime !== undefined) expect(reading.deviceTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  for (const observation of reading.observations) {
    // BLE health readings are always catalogued types, never a device's own code.
    expect(observation.type).not.toBe("device_numeric");
    if (observation.type === "device_numeric") continue;
    const spec = OBSERVATIONS[observation.type];
    expect(observation.unit).toBe(spec.unit);
    expect(observation.value).toBeGreaterThanOrEqual(spec.min);
    expect(observation.value).toBeLessThanOrEqual(spec.max);
  }
}

describe("garbage", () => {
  it("never throws, is counted when it is no measurement, and stays well-formed", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MEASUREMENT_CHARACTERISTICS, CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT),
        fc.uint8Array({ maxLength: 40 }),
        fc.subarray([...QUIRK_IDS]),
        (characteristic, value, quirks) => {
          const events = new BleHealthDecoder({ quirks }).decode(characteristic, value);
          expect(events.length).toBeGreaterThan(0);
          for (const event of events) if (event.type === "discarded") expect(event.bytes).toBe(value.length);
          for (const reading of readings(events)) expectWellFormed(reading);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("in a Current Time value throws only BleValueError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 14 }), (value) => {
        try {
          const current = decodeCurrentTime(value);
          expect(value.length).toBe(10);
          expect(current.dayOfWeek).toBeLessThanOrEqual(7);
        } catch (error) {
          expect(error).toMatchObject({ name: "BleValueError" });
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("on the control point and as records never throws a glucose pull and keeps its cursor a uint16", () => {
    const cursorArb = fc.option(fc.record({ sequenceNumber: u16, baseTime: fc.option(fc.constant("2026-01-01T00:00:00"), { nil: undefined }) }), { nil: undefined });
    const recordArb = fc.record({ sequenceNumber: u16, baseTime: dateTimeArb, contextFollows: fc.boolean() });
    const stepArb = fc.oneof(recordArb.map((record) => ({ record })), fc.uint8Array({ maxLength: 8 }).map((indication) => ({ indication })));
    fc.assert(
      fc.property(cursorArb, fc.array(stepArb, { maxLength: 30 }), (cursor, steps) => {
        const sync = new GlucoseRecordSync(cursor === undefined ? {} : { cursor: JSON.parse(JSON.stringify(cursor)) as GlucoseCursor });
        let published = 0;
        for (const step of steps) {
          if ("record" in step) published += sync.record(step.record).publish ? 1 : 0;
          else {
            const answer = sync.response(step.indication);
            expect(["write", "done", "count", "failed"]).toContain(answer.kind);
            if (answer.kind === "done") expect(answer.published).toBe(published);
          }
          const now = sync.cursor;
          if (now !== undefined) expect(Number.isInteger(now.sequenceNumber) && now.sequenceNumber >= 0 && now.sequenceNumber <= 0xffff).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Drops keys whose value is undefined (what the decoder leaves absent). */
const defined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;

const pair = fc.record({ spo2: sfloatArb, pulseRate: sfloatArb });
const plxStatus = { measurementStatus: optional(u16), sensorStatus: optional(u24), pulseAmplitudeIndex: optional(sfloatArb) };

const CASES = [
  {
    name: "blood pressure",
    characteristic: CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT,
    arb: fc
      .record({
        unit: fc.constantFrom("mmHg" as const, "kPa" as const),
        systolic: sfloatArb,
        diastolic: sfloatArb,
        meanArterial: sfloatArb,
        timeStamp: optional(dateTimeArb),
        pulseRate: optional(sfloatArb),
        userId: optional(u8),
        status: optional(u16),
      })
      .map(defined),
    encode: encodeBloodPressure,
    layout: bloodPressureLayout,
  },
  {
    name: "PLX spot check",
    characteristic: CHARACTERISTIC.PLX_SPOT_CHECK,
    arb: fc
      .record({ spo2: sfloatArb, pulseRate: sfloatArb, timestamp: optional(dateTimeArb), clockNotSet: fc.boolean(), ...plxStatus })
      .map(defined),
    encode: encodePlxSpotCheck,
    layout: plxSpotCheckLayout,
  },
  {
    name: "PLX continuous",
    characteristic: CHARACTERISTIC.PLX_CONTINUOUS,
    arb: fc.record({ normal: pair, fast: optional(pair), slow: optional(pair), ...plxStatus }).map(defined),
    encode: encodePlxContinuous,
    layout: plxContinuousLayout,
  },
  {
    name: "temperature",
    characteristic: CHARACTERISTIC.TEMPERATURE_MEASUREMENT,
    arb: fc
      .record({ unit: fc.constantFrom("Cel" as const, "degF" as const), value: floatArb, timeStamp: optional(dateTimeArb), type: optional(u8) })
      .map(defined),
    encode: encodeTemperature,
    layout: temperatureLayout,
  },
  {
    name: "weight",
    characteristic: CHARACTERISTIC.WEIGHT_MEASUREMENT,
    arb: fc
      .record({
        unit: fc.constantFrom("kg" as const, "lb" as const),
        weight: u16,
        timeStamp: optional(dateTimeArb),
        userId: optional(u8),
        bmiHeight: optional(fc.tuple(u16, u16)),
      })
      // WSS: no BMI and height with an unsuccessful measurement (0xFFFF).
      .map(({ bmiHeight, ...rest }) => defined({ ...rest, ...(bmiHeight && rest.weight !== 0xffff && { bmi: bmiHeight[0], height: bmiHeight[1] }) })),
    encode: encodeWeight,
    layout: weightLayout,
  },
  {
    name: "glucose",
    characteristic: CHARACTERISTIC.GLUCOSE_MEASUREMENT,
    arb: fc
      .record({
        sequenceNumber: u16,
        baseTime: dateTimeArb,
        timeOffsetMinutes: optional(fc.integer({ min: -0x8000, max: 0x7fff })),
        concentration: optional(
          fc.record({
            value: sfloatArb,
            unit: fc.constantFrom("kg/L" as const, "mol/L" as const),
            type: fc.integer({ min: 0, max: 15 }),
            sampleLocation: fc.integer({ min: 0, max: 15 }),
          }),
        ),
        sensorStatus: optional(u16),
        contextFollows: fc.boolean(),
      })
      .map(defined),
    encode: encodeGlucose,
    layout: glucoseLayout,
  },
] as const;

describe.each(CASES)("$name", ({ characteristic, arb, encode, layout }) => {
  it("decodes every valid encoding back to the measurement it came from, and publishes it or discards it as implausible", () => {
    fc.assert(
      fc.property(arb as fc.Arbitrary<Parameters<typeof encode>[0]>, (measurement) => {
        const bytes = (encode as (value: typeof measurement) => Uint8Array)(measurement);
        expect(decodeWithLayout(layout as MeasurementLayout<unknown>, bytes, [])).toEqual(measurement);
        // Random medfloats are mostly no possible reading (a pulse of -1): counted, never published.
        const decoded = decodeMeasurement(characteristic, bytes);
        if (decoded.ok) expect(decoded.measurement).toEqual(measurement);
        else expect(decoded.code).toBe("implausible-value");
      }),
      { numRuns: 500 },
    );
  });
});
