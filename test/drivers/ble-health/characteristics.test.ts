/**
 * The health measurement characteristics, from values worked out by hand from the services'
 * field layouts (Flags first; each flag bit adds its field in the order the specification lists
 * them; multi-octet fields little-endian). Every truncation of a valid value, trailing bytes and
 * reserved flag bits are counted discards; special medfloat values leave the observation out.
 */
import { describe, expect, it } from "vitest";
import { BleHealthDecoder, CHARACTERISTIC, decodeMeasurement } from "../../../drivers/ble-health/characteristics.ts";
import type { DeviceReading } from "../../../drivers/core/types.ts";
import { discarded, readings } from "../../helpers/decoderEvents.ts";
import { hex, STAMP } from "./arbitraries.ts";

const reading = (characteristic: number, value: string): DeviceReading => {
  const decoded = decodeMeasurement(characteristic, hex(value));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.reading;
};

const SYSTOLIC = { type: "systolic_bp", value: 120, unit: "mm[Hg]", loinc: "8480-6" };

describe("Blood Pressure Measurement (0x2A35)", () => {
  it("decodes every field the flags announce, with the device's time and status flags", () => {
    // Flags 0x1E: time stamp, pulse rate, user id, status; mmHg. 120/80/93 mmHg, pulse 71, user 1,
    // status 0x0004 (irregular pulse).
    expect(reading(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, `1E 78 00 50 00 5D 00 ${STAMP} 47 00 01 04 00`)).toEqual({
      kind: "spot",
      deviceTime: "2026-11-23T14:05:30",
      flags: ["irregular-pulse"],
      observations: [
        SYSTOLIC,
        { type: "diastolic_bp", value: 80, unit: "mm[Hg]", loinc: "8462-4" },
        { type: "mean_bp", value: 93, unit: "mm[Hg]", loinc: "8478-0" },
        { type: "pulse_rate", value: 71, unit: "/min", loinc: "8889-8" },
      ],
    });
  });

  it("converts kPa to mmHg and leaves out a mean pressure sent as NaN", () => {
    // 16.0 kPa = 0xF0A0, 10.7 kPa = 0xF06B, MAP NaN = 0x07FF.
    expect(reading(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, "01 A0 F0 6B F0 FF 07").observations).toEqual([
      { type: "systolic_bp", value: 120.01, unit: "mm[Hg]", loinc: "8480-6" },
      { type: "diastolic_bp", value: 80.26, unit: "mm[Hg]", loinc: "8462-4" },
    ]);
  });

  it.each([
    ["07FF", "NaN"],
    ["0800", "NRes"],
    ["07FE", "+INF"],
    ["0802", "-INF"],
    ["0801", "reserved"],
  ])("leaves out a value sent as 0x%s (%s), never publishing 0", (raw) => {
    const sfloat = `${raw.slice(2)} ${raw.slice(0, 2)}`;
    expect(reading(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, `00 ${sfloat} ${sfloat} ${sfloat}`).observations).toEqual([]);
    expect(reading(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, `04 78 00 50 00 5D 00 ${sfloat}`).observations.map((o) => o.type)).toEqual([
      "systolic_bp",
      "diastolic_bp",
      "mean_bp",
    ]);
  });

  it("reports a measurement with no pressure at all (a cuff showing Err) as failed", () => {
    // Sent by a cuff whose display showed "Err" after the arm moved (derdilla/blood-pressure-monitor-fl
    // issue #80): flags 0x16, all pressures and the pulse NaN, 2024-06-23 14:35:10, status 0.
    expect(reading(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, "16 FF 07 FF 07 FF 07 E8 07 06 17 0E 23 0A FF 07 00 00")).toEqual({
      kind: "spot",
      deviceTime: "2024-06-23T14:35:10",
      flags: ["measurement-failed"],
      observations: [],
    });
  });

  it("discards and counts pressures that are no pressure curve (diastolic above systolic, mean outside them)", () => {
    // 80/120/93 and 120/80/130 mmHg.
    expect(decodeMeasurement(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, hex("00 50 00 78 00 5D 00"))).toMatchObject({ ok: false, code: "implausible-value" });
    expect(decodeMeasurement(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, hex("00 78 00 50 00 82 00"))).toMatchObject({ ok: false, code: "implausible-value" });
    // A pulse rate of -1 (0x0FFF).
    expect(decodeMeasurement(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, hex("04 78 00 50 00 5D 00 FF 0F"))).toMatchObject({ ok: false, code: "implausible-value" });
  });

  it("turns each measurement-status bit into its flag", () => {
    const status = (bits: string) => reading(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, `10 78 00 50 00 5D 00 ${bits}`).flags;
    expect(status("01 00")).toEqual(["body-movement"]);
    expect(status("02 00")).toEqual(["cuff-loose"]);
    expect(status("08 00")).toEqual(["pulse-rate-out-of-range"]); // range 1: above the upper limit
    expect(status("10 00")).toEqual(["pulse-rate-out-of-range"]); // range 2: below the lower limit
    expect(status("18 00")).toEqual([]); // range 3 is reserved
    expect(status("20 00")).toEqual(["improper-position"]);
  });
});

describe("PLX Spot-Check (0x2A5E) and Continuous (0x2A5F)", () => {
  it("decodes a spot check with its timestamp and pulse amplitude index", () => {
    // Flags 0x09: timestamp, PAI. SpO2 97, PR 72, PAI 3.6 (0xF024).
    expect(reading(CHARACTERISTIC.PLX_SPOT_CHECK, `09 61 00 48 00 ${STAMP} 24 F0`)).toEqual({
      kind: "spot",
      deviceTime: "2026-11-23T14:05:30",
      flags: [],
      observations: [
        { type: "spo2", value: 97, unit: "%", loinc: "59408-5" },
        { type: "pulse_rate", value: 72, unit: "/min", loinc: "8889-8" },
        { type: "perfusion_index", value: 3.6, unit: "%", loinc: "61006-3" },
      ],
    });
  });

  it("does not take the time of a device whose clock is not set, and says so", () => {
    const spot = reading(CHARACTERISTIC.PLX_SPOT_CHECK, `11 61 00 48 00 ${STAMP}`);
    expect(spot.deviceTime).toBeUndefined();
    expect(spot.flags).toEqual(["device-clock-unreliable"]);
  });

  it("maps measurement status: invalid → no values, demonstration/testing → demo-data, questionable, unavailable", () => {
    const spot = (status: string) => reading(CHARACTERISTIC.PLX_SPOT_CHECK, `02 61 00 48 00 ${status}`);
    expect(spot("00 80")).toMatchObject({ observations: [], flags: ["measurement-failed"] });
    expect(spot("00 04").flags).toEqual(["demo-data"]);
    expect(spot("00 08").flags).toEqual(["demo-data"]);
    expect(spot("00 40").flags).toEqual(["questionable-measurement"]);
    expect(spot("00 20")).toMatchObject({ observations: [], flags: ["measurement-unavailable"] });
  });

  it("decodes continuous Normal values, skipping Fast and Slow, with device and sensor status", () => {
    // Flags 0x0B: fast, slow, device and sensor status. Normal 96/70, fast 95/71, slow 97/69,
    // status 0x008020: sensor disconnected and low perfusion.
    const continuous = reading(CHARACTERISTIC.PLX_CONTINUOUS, "0B 60 00 46 00 5F 00 47 00 61 00 45 00 20 80 00");
    expect(continuous).toEqual({
      kind: "continuous",
      flags: ["low-perfusion", "sensor-disconnected"],
      observations: [
        { type: "spo2", value: 96, unit: "%", loinc: "59408-5" },
        { type: "pulse_rate", value: 70, unit: "/min", loinc: "8889-8" },
      ],
    });
  });

  it("publishes nothing for values the oximeter marks NaN (finger out)", () => {
    expect(reading(CHARACTERISTIC.PLX_CONTINUOUS, "08 FF 07 FF 07 00 08 00")).toEqual({ kind: "continuous", flags: ["sensor-off"], observations: [] });
  });
});

describe("Temperature Measurement (0x2A1C)", () => {
  it("decodes a FLOAT in °C with time stamp and type, published as the site's temperature", () => {
    // 36.6 °C = FLOAT 0xFF00016E (exponent -1, mantissa 366), type 6 (mouth).
    expect(reading(CHARACTERISTIC.TEMPERATURE_MEASUREMENT, `06 6E 01 00 FF ${STAMP} 06`)).toEqual({
      kind: "spot",
      deviceTime: "2026-11-23T14:05:30",
      flags: [],
      observations: [{ type: "oral_temperature", value: 36.6, unit: "Cel", loinc: "8331-1" }],
    });
  });

  it.each([
    [1, "axillary_temperature", "8328-7"],
    [2, "body_temperature", "8310-5"],
    [3, "body_temperature", "8310-5"],
    [5, "core_temperature", "8329-5"],
    [7, "rectal_temperature", "8332-9"],
    [9, "tympanic_temperature", "8333-7"],
    [4, "skin_temperature", undefined],
    [15, "body_temperature", "8310-5"],
  ])("publishes Temperature Type %i as %s", (type, observation, loinc) => {
    const [found] = reading(CHARACTERISTIC.TEMPERATURE_MEASUREMENT, `04 6E 01 00 FF 0${type.toString(16).toUpperCase()}`).observations;
    expect(found).toEqual({ type: observation, value: 36.6, unit: "Cel", ...(loinc && { loinc }) });
  });

  it("discards and counts a temperature no body has (a wrongly decoded value), never publishing part of it", () => {
    // 12.0 °C = FLOAT 0xFF000078.
    expect(decodeMeasurement(CHARACTERISTIC.TEMPERATURE_MEASUREMENT, hex("00 78 00 00 FF"))).toMatchObject({ ok: false, code: "implausible-value" });
  });

  it("converts °F, and leaves out every special FLOAT", () => {
    expect(reading(CHARACTERISTIC.TEMPERATURE_MEASUREMENT, "01 DA 03 00 FF").observations).toEqual([
      { type: "body_temperature", value: 37, unit: "Cel", loinc: "8310-5" },
    ]);
    for (const special of ["FF FF 7F 00", "00 00 80 00", "FE FF 7F 00", "02 00 80 00", "01 00 80 00"]) {
      expect(reading(CHARACTERISTIC.TEMPERATURE_MEASUREMENT, `00 ${special}`).observations).toEqual([]);
    }
  });
});

describe("Weight Measurement (0x2A9D)", () => {
  it("decodes kg in 5 g steps and lb in 0.01 lb steps", () => {
    // 70.5 kg = 14100 × 0.005 = 0x3714; 155.40 lb = 15540 = 0x3CB4 → 70.488 kg.
    expect(reading(CHARACTERISTIC.WEIGHT_MEASUREMENT, "00 14 37").observations).toEqual([{ type: "body_weight", value: 70.5, unit: "kg", loinc: "29463-7" }]);
    expect(reading(CHARACTERISTIC.WEIGHT_MEASUREMENT, "01 B4 3C").observations).toEqual([{ type: "body_weight", value: 70.488, unit: "kg", loinc: "29463-7" }]);
  });

  it("takes time stamp, user and BMI/height fields, and reports 0xFFFF as a failed measurement", () => {
    const decoded = decodeMeasurement(CHARACTERISTIC.WEIGHT_MEASUREMENT, hex(`0E 14 37 ${STAMP} 02 E6 00 D6 06`));
    expect(decoded).toMatchObject({ ok: true, measurement: { userId: 2, bmi: 230, height: 1750 }, reading: { deviceTime: "2026-11-23T14:05:30" } });
    expect(reading(CHARACTERISTIC.WEIGHT_MEASUREMENT, "00 FF FF")).toEqual({ kind: "spot", flags: ["measurement-failed"], observations: [] });
    // With 0xFFFF only the time stamp and user id may follow.
    expect(reading(CHARACTERISTIC.WEIGHT_MEASUREMENT, `06 FF FF ${STAMP} 02`)).toMatchObject({ deviceTime: "2026-11-23T14:05:30", flags: ["measurement-failed"] });
    expect(decodeMeasurement(CHARACTERISTIC.WEIGHT_MEASUREMENT, hex("08 FF FF E6 00 D6 06"))).toMatchObject({ ok: false, code: "invalid-field" });
  });
});

describe("Glucose Measurement (0x2A18)", () => {
  // Sequence 5, base time 2026-11-23 07:30:00.
  const HEAD = "05 00 EA 07 0B 17 07 1E 00";

  it("decodes a record in kg/L as mg/dL, its time offset applied, with its sequence number", () => {
    // Flags 0x03: time offset (+15 min), concentration 95 × 10^-5 kg/L (0xB05F), capillary whole blood, finger (0x11).
    const decoded = decodeMeasurement(CHARACTERISTIC.GLUCOSE_MEASUREMENT, hex(`03 ${HEAD} 0F 00 5F B0 11`));
    expect(decoded).toMatchObject({ ok: true, measurement: { sequenceNumber: 5, timeOffsetMinutes: 15 } });
    expect(decoded.ok && decoded.reading).toEqual({
      kind: "spot",
      deviceTime: "2026-11-23T07:45:00",
      flags: [],
      observations: [{ type: "glucose", value: 95, unit: "mg/dL", loinc: "2339-0" }],
    });
  });

  it("decodes mol/L as mmol/L, and a negative time offset across midnight", () => {
    // Base 2026-01-01 00:10:00, offset -20 min; 5.3 mmol/L = 53 × 10^-4 mol/L (0xC035).
    expect(reading(CHARACTERISTIC.GLUCOSE_MEASUREMENT, "07 09 00 EA 07 01 01 00 0A 00 EC FF 35 C0 11")).toEqual({
      kind: "spot",
      deviceTime: "2025-12-31T23:50:00",
      flags: [],
      observations: [{ type: "glucose_molar", value: 5.3, unit: "mmol/L", loinc: "15074-8" }],
    });
  });

  it("marks control solution as demo data and leaves out results the meter could not measure", () => {
    expect(reading(CHARACTERISTIC.GLUCOSE_MEASUREMENT, `02 ${HEAD} 5F B0 4A`).flags).toEqual(["demo-data"]);
    // Sensor status 0x0020: result higher than the device can process ("HI").
    expect(reading(CHARACTERISTIC.GLUCOSE_MEASUREMENT, `0A ${HEAD} 5F B0 11 20 00`)).toMatchObject({ observations: [], flags: ["result-above-range"] });
    // 0x0004: sample size insufficient; 0x0001: battery low (value kept); 0x0800: time fault.
    expect(reading(CHARACTERISTIC.GLUCOSE_MEASUREMENT, `0A ${HEAD} 5F B0 11 04 00`)).toMatchObject({ observations: [], flags: ["measurement-failed"] });
    expect(reading(CHARACTERISTIC.GLUCOSE_MEASUREMENT, `0A ${HEAD} 5F B0 11 01 08`)).toMatchObject({
      observations: [{ type: "glucose", value: 95 }],
      flags: ["low-battery", "device-clock-unreliable"],
    });
  });

  it("has no time when the meter does not know the date (year 0)", () => {
    expect(reading(CHARACTERISTIC.GLUCOSE_MEASUREMENT, "02 05 00 00 00 00 00 00 00 00 5F B0 11").deviceTime).toBeUndefined();
  });
});

/** A valid value of each characteristic, for the length and flag checks. */
const VALID: ReadonlyArray<readonly [string, number, string]> = [
  ["blood pressure", CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, `1E 78 00 50 00 5D 00 ${STAMP} 47 00 01 04 00`],
  ["PLX spot check", CHARACTERISTIC.PLX_SPOT_CHECK, `0F 61 00 48 00 ${STAMP} 00 00 00 00 00 24 F0`],
  ["PLX continuous", CHARACTERISTIC.PLX_CONTINUOUS, "1F 60 00 46 00 5F 00 47 00 61 00 45 00 00 00 20 80 00 24 F0"],
  ["temperature", CHARACTERISTIC.TEMPERATURE_MEASUREMENT, `06 6E 01 00 FF ${STAMP} 06`],
  ["weight", CHARACTERISTIC.WEIGHT_MEASUREMENT, `0E 14 37 ${STAMP} 02 E6 00 D6 06`],
  ["glucose", CHARACTERISTIC.GLUCOSE_MEASUREMENT, "0B 05 00 EA 07 0B 17 07 1E 00 0F 00 5F B0 11 01 00"],
];

describe.each(VALID)("%s values that break the layout", (_name, characteristic, valid) => {
  const bytes = hex(valid);

  it("decodes the whole value", () => {
    expect(decodeMeasurement(characteristic, bytes).ok).toBe(true);
  });

  it("discards every truncation as truncated, counting its bytes", () => {
    for (let length = 0; length < bytes.length; length++) {
      const decoder = new BleHealthDecoder();
      const events = decoder.decode(characteristic, bytes.subarray(0, length));
      expect(readings(events), `length ${length}`).toEqual([]);
      expect(discarded(events)).toBe(length);
      expect(decodeMeasurement(characteristic, bytes.subarray(0, length))).toMatchObject({ ok: false, code: "truncated" });
    }
  });

  it("discards a value longer than its flags say (fields the flags call absent)", () => {
    expect(decodeMeasurement(characteristic, Uint8Array.from([...bytes, 0x00]))).toMatchObject({ ok: false, code: "length-mismatch" });
  });

  it("discards a value with a reserved flag bit set", () => {
    const reserved = Uint8Array.from(bytes);
    reserved[0] = (reserved[0] ?? 0) | 0x80;
    expect(decodeMeasurement(characteristic, reserved)).toMatchObject({ ok: false, code: "reserved-flags" });
  });
});

describe("the decoder of one device", () => {
  it("emits the typed measurement (for the sequence number and clock offset) before the reading", () => {
    const events = new BleHealthDecoder().decode(CHARACTERISTIC.GLUCOSE_MEASUREMENT, hex("00 05 00 EA 07 0B 17 07 1E 00"));
    expect(events).toEqual([
      { type: "message", message: { characteristic: 0x2a18, measurement: expect.objectContaining({ sequenceNumber: 5 }) } },
      { type: "reading", reading: { kind: "spot", deviceTime: "2026-11-23T07:30:00", flags: [], observations: [] } },
    ]);
  });

  it("discards a Date Time field out of its range (month 13) and a characteristic it does not know", () => {
    const decoder = new BleHealthDecoder();
    expect(decoder.decode(CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, hex("02 78 00 50 00 5D 00 EA 07 0D 17 0E 05 1E"))).toEqual([
      { type: "discarded", bytes: 14, reason: expect.stringContaining("out of range") },
    ]);
    expect(decoder.decode(0x2a37, hex("00 48"))).toEqual([{ type: "discarded", bytes: 2, reason: expect.stringContaining("0x2a37") }]);
  });
});
