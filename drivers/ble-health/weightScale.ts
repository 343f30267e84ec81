/**
 * Weight Measurement (0x2A9D, Weight Scale Service 0x181D, by indication; GSS and WSS v1.0):
 * Flags, Weight (uint16: 0.005 kg SI or 0.01 lb imperial by flag bit 0; 0xFFFF = measurement
 * unsuccessful), then by flag: Time Stamp (Date Time, bit 1), User ID (uint8, bit 2), BMI
 * (uint16, 0.1 kg/m²) and Height (uint16, 0.001 m or 0.1 in) together (bit 3). Bits 4–7 reserved.
 * With 0xFFFF, WSS allows only the Time Stamp and User ID fields besides the weight.
 */
import type { DeviceReading } from "../core/types.ts";
import { DATE_TIME_LENGTH, type DateTime, isoDeviceTime, readDateTime, writeDateTime } from "./dateTime.ts";
import { BleValueError, FieldWriter } from "./fields.ts";
import { impliedTimestamp, optionalLength, plausibleObservations, type MeasurementLayout } from "./layout.ts";

const FLAG = { IMPERIAL: 0x01, TIME_STAMP: 0x02, USER_ID: 0x04, BMI_HEIGHT: 0x08 } as const;
const UNSUCCESSFUL = 0xffff;
/** The international avoirdupois pound, exactly. */
const KG_PER_LB = 0.45359237;

export interface WeightMeasurement {
  unit: "kg" | "lb";
  /** Raw field: × 0.005 kg or × 0.01 lb; 0xFFFF when the measurement failed. */
  weight: number;
  timeStamp?: DateTime;
  userId?: number;
  /** Raw fields: BMI × 0.1 kg/m², height × 0.001 m or × 0.1 in (decoded, not published). */
  bmi?: number;
  height?: number;
}

export const weightLayout: MeasurementLayout<WeightMeasurement> = {
  name: "Weight Measurement",
  reservedFlags: 0xf0,
  impliedFields: [impliedTimestamp(FLAG.TIME_STAMP)],
  length: (flags) => 1 + 2 + optionalLength(flags, [[FLAG.TIME_STAMP, DATE_TIME_LENGTH], [FLAG.USER_ID, 1], [FLAG.BMI_HEIGHT, 4]]),
  read(reader, flags) {
    const measurement: WeightMeasurement = { unit: flags & FLAG.IMPERIAL ? "lb" : "kg", weight: reader.u16() };
    if (measurement.weight === UNSUCCESSFUL && flags & FLAG.BMI_HEIGHT) {
      throw new BleValueError("invalid-field", "Weight Measurement: BMI and height with an unsuccessful measurement (0xFFFF)");
    }
    if (flags & FLAG.TIME_STAMP) measurement.timeStamp = readDateTime(reader);
    if (flags & FLAG.USER_ID) measurement.userId = reader.u8();
    if (flags & FLAG.BMI_HEIGHT) Object.assign(measurement, { bmi: reader.u16(), height: reader.u16() });
    return measurement;
  },
};

export function encodeWeight(measurement: WeightMeasurement): Uint8Array {
  const bmiHeight = measurement.bmi !== undefined && measurement.height !== undefined;
  const flags =
    (measurement.unit === "lb" ? FLAG.IMPERIAL : 0) |
    (measurement.timeStamp ? FLAG.TIME_STAMP : 0) |
    (measurement.userId !== undefined ? FLAG.USER_ID : 0) |
    (bmiHeight ? FLAG.BMI_HEIGHT : 0);
  const writer = new FieldWriter().u8(flags).u16(measurement.weight);
  if (measurement.timeStamp) writeDateTime(writer, measurement.timeStamp);
  if (measurement.userId !== undefined) writer.u8(measurement.userId);
  if (bmiHeight) writer.u16(measurement.bmi ?? 0).u16(measurement.height ?? 0);
  return writer.toBytes();
}

export function weightReading(measurement: WeightMeasurement): DeviceReading {
  const time = measurement.timeStamp && isoDeviceTime(measurement.timeStamp);
  const deviceTime = time === undefined ? {} : { deviceTime: time };
  if (measurement.weight === UNSUCCESSFUL) return { kind: "spot", observations: [], flags: ["measurement-failed"], ...deviceTime };
  // Whole grams: 0.005 kg steps are exact in grams; 0.01 lb is 4.5359237 g, rounded to the gram.
  const kg = measurement.unit === "kg" ? (measurement.weight * 5) / 1000 : Math.round(measurement.weight * KG_PER_LB * 10) / 1000;
  return { kind: "spot", observations: plausibleObservations("Weight Measurement", [["body_weight", kg]]), flags: [], ...deviceTime };
}
