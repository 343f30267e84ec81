/**
 * Glucose Measurement (0x2A18, Glucose Service 0x1808, by notification, also as the answer to a
 * Record Access Control Point request; GSS and GLS v1.0.1): Flags, Sequence Number (uint16),
 * Base Time (Date Time, always), then by flag: Time Offset (sint16 minutes, bit 0); Glucose
 * Concentration (SFLOAT, kg/L or mol/L by bit 2) with Type-Sample Location (uint8: type in the
 * low nibble, location in the high nibble) (bit 1); Sensor Status Annunciation (uint16, bit 3).
 * Bit 4 says a Glucose Measurement Context follows separately; bits 5–7 are reserved.
 */
import type { DeviceReading, ReadingFlag } from "../core/types.ts";
import { DATE_TIME_LENGTH, type DateTime, isoDeviceTime, readDateTime, writeDateTime } from "./dateTime.ts";
import { FieldWriter } from "./fields.ts";
import { optionalLength, plausibleObservations, type MeasurementLayout } from "./layout.ts";
import { medValue, type MedFloat } from "./medfloat.ts";

const FLAG = { TIME_OFFSET: 0x01, CONCENTRATION: 0x02, MOL_PER_L: 0x04, SENSOR_STATUS: 0x08, CONTEXT_FOLLOWS: 0x10 } as const;
/** Type 10 and Sample Location 4 (GSS, Glucose Measurement: Type-Sample Location): the meter measured control solution, not a patient. */
const CONTROL_SOLUTION_TYPE = 10;
const CONTROL_SOLUTION_LOCATION = 4;
/** Sensor Status Annunciation bits (GSS, Glucose Measurement). */
const STATUS = {
  BATTERY_LOW: 1 << 0,
  SENSOR_MALFUNCTION: 1 << 1,
  SAMPLE_SIZE: 1 << 2,
  STRIP_INSERTION: 1 << 3,
  STRIP_TYPE: 1 << 4,
  RESULT_HIGH: 1 << 5,
  RESULT_LOW: 1 << 6,
  TEMPERATURE_HIGH: 1 << 7,
  TEMPERATURE_LOW: 1 << 8,
  STRIP_PULLED: 1 << 9,
  DEVICE_FAULT: 1 << 10,
  TIME_FAULT: 1 << 11,
} as const;
/** Annunciations after which the concentration is not a result. */
const NO_RESULT =
  STATUS.SENSOR_MALFUNCTION | STATUS.SAMPLE_SIZE | STATUS.STRIP_INSERTION | STATUS.STRIP_TYPE | STATUS.TEMPERATURE_HIGH | STATUS.TEMPERATURE_LOW | STATUS.STRIP_PULLED | STATUS.DEVICE_FAULT;

export interface GlucoseMeasurement {
  /** The meter's record number, for RACP requests and for deduplicating records across reconnects. */
  sequenceNumber: number;
  baseTime: DateTime;
  timeOffsetMinutes?: number;
  concentration?: { value: MedFloat; unit: "kg/L" | "mol/L"; type: number; sampleLocation: number };
  sensorStatus?: number;
  contextFollows: boolean;
}

export const glucoseLayout: MeasurementLayout<GlucoseMeasurement> = {
  name: "Glucose Measurement",
  reservedFlags: 0xe0,
  length: (flags) => 1 + 2 + DATE_TIME_LENGTH + optionalLength(flags, [[FLAG.TIME_OFFSET, 2], [FLAG.CONCENTRATION, 3], [FLAG.SENSOR_STATUS, 2]]),
  read(reader, flags) {
    const measurement: GlucoseMeasurement = { sequenceNumber: reader.u16(), baseTime: readDateTime(reader), contextFollows: (flags & FLAG.CONTEXT_FOLLOWS) !== 0 };
    if (flags & FLAG.TIME_OFFSET) measurement.timeOffsetMinutes = reader.s16();
    if (flags & FLAG.CONCENTRATION) {
      const value = reader.sfloat();
      const typeLocation = reader.u8();
      measurement.concentration = { value, unit: flags & FLAG.MOL_PER_L ? "mol/L" : "kg/L", type: typeLocation & 0x0f, sampleLocation: typeLocation >> 4 };
    }
    if (flags & FLAG.SENSOR_STATUS) measurement.sensorStatus = reader.u16();
    return measurement;
  },
};

export function encodeGlucose(measurement: GlucoseMeasurement): Uint8Array {
  const { concentration, timeOffsetMinutes, sensorStatus } = measurement;
  const flags =
    (timeOffsetMinutes !== undefined ? FLAG.TIME_OFFSET : 0) |
    (concentration ? FLAG.CONCENTRATION | (concentration.unit === "mol/L" ? FLAG.MOL_PER_L : 0) : 0) |
    (sensorStatus !== undefined ? FLAG.SENSOR_STATUS : 0) |
    (measurement.contextFollows ? FLAG.CONTEXT_FOLLOWS : 0);
  const writer = writeDateTime(new FieldWriter().u8(flags).u16(measurement.sequenceNumber), measurement.baseTime);
  if (timeOffsetMinutes !== undefined) writer.u16(timeOffsetMinutes);
  if (concentration) writer.sfloat(concentration.value).u8((concentration.type & 0x0f) | (concentration.sampleLocation << 4));
  if (sensorStatus !== undefined) writer.u16(sensorStatus);
  return writer.toBytes();
}

export function glucoseReading(measurement: GlucoseMeasurement): DeviceReading {
  const status = measurement.sensorStatus ?? 0;
  const flags: ReadingFlag[] = [];
  if (status & STATUS.BATTERY_LOW) flags.push("low-battery");
  if (status & (STATUS.SENSOR_MALFUNCTION | STATUS.DEVICE_FAULT)) flags.push("sensor-fault");
  if (status & NO_RESULT) flags.push("measurement-failed");
  if (status & STATUS.RESULT_HIGH) flags.push("result-above-range");
  if (status & STATUS.RESULT_LOW) flags.push("result-below-range");
  if (status & STATUS.TIME_FAULT) flags.push("device-clock-unreliable");
  const { concentration } = measurement;
  // Control solution is a check of the meter: never a patient's reading (the agent holds back demo-data).
  if (concentration && (concentration.type === CONTROL_SOLUTION_TYPE || concentration.sampleLocation === CONTROL_SOLUTION_LOCATION)) flags.push("demo-data");
  // A result the meter could not measure (or beyond what it can process: "HI"/"LO") is left out.
  const measured = concentration && (status & (NO_RESULT | STATUS.RESULT_HIGH | STATUS.RESULT_LOW)) === 0 ? concentration : undefined;
  const observations = plausibleObservations("Glucose Measurement", [
    // kg/L → mg/dL is 10^5; mol/L → mmol/L is 10^3 (exponent shifts, no rounding).
    ["glucose", measured?.unit === "kg/L" ? medValue(measured.value, 5) : undefined],
    ["glucose_molar", measured?.unit === "mol/L" ? medValue(measured.value, 3) : undefined],
  ]);
  const time = isoDeviceTime(measurement.baseTime, measurement.timeOffsetMinutes ?? 0);
  return { kind: "spot", observations, flags, ...(time !== undefined && { deviceTime: time }) };
}
