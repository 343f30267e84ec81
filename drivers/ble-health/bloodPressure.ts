/**
 * Blood Pressure Measurement (0x2A35, Blood Pressure Service 0x1810, by indication; GATT Specification
 * Supplement (GSS) and BLS v1.1): Flags, systolic, diastolic and mean arterial pressure (SFLOAT each, mmHg or kPa by
 * flag bit 0), then by flag: Time Stamp (Date Time, bit 1), Pulse Rate (SFLOAT, bit 2), User ID
 * (uint8, bit 3), Measurement Status (uint16, bit 4). Bits 5–7 are reserved.
 */
import type { DeviceReading, ReadingFlag } from "../core/types.ts";
import { DATE_TIME_LENGTH, type DateTime, isoDeviceTime, readDateTime, writeDateTime } from "./dateTime.ts";
import { BleValueError, FieldWriter } from "./fields.ts";
import { impliedTimestamp, optionalLength, plausibleObservations, type MeasurementLayout } from "./layout.ts";
import { convertedValue, medValue, type MedFloat } from "./medfloat.ts";

const FLAG = { KPA: 0x01, TIME_STAMP: 0x02, PULSE_RATE: 0x04, USER_ID: 0x08, STATUS: 0x10 } as const;
/** Measurement Status bits (GSS, Blood Pressure Measurement); bits 3–4 are the pulse rate range (0 = within range). */
const STATUS = { BODY_MOVEMENT: 0x0001, CUFF_LOOSE: 0x0002, IRREGULAR_PULSE: 0x0004, PULSE_RANGE: 0x0018, IMPROPER_POSITION: 0x0020 } as const;
/** 1 kPa in mmHg: 1 mmHg = 133.322387415 Pa (the conventional millimetre of mercury). */
const MMHG_PER_KPA = 1000 / 133.322387415;

export interface BloodPressureMeasurement {
  unit: "mmHg" | "kPa";
  systolic: MedFloat;
  diastolic: MedFloat;
  meanArterial: MedFloat;
  timeStamp?: DateTime;
  pulseRate?: MedFloat;
  userId?: number;
  status?: number;
}

export const bloodPressureLayout: MeasurementLayout<BloodPressureMeasurement> = {
  name: "Blood Pressure Measurement",
  reservedFlags: 0xe0,
  impliedFields: [impliedTimestamp(FLAG.TIME_STAMP), { quirk: "user-id-despite-flag", flag: FLAG.USER_ID, octets: 1 }],
  length: (flags) =>
    1 + 6 + optionalLength(flags, [[FLAG.TIME_STAMP, DATE_TIME_LENGTH], [FLAG.PULSE_RATE, 2], [FLAG.USER_ID, 1], [FLAG.STATUS, 2]]),
  read(reader, flags, quirks) {
    const swapped = quirks.includes("big-endian-pulse-and-status");
    const systolic = reader.sfloat();
    const diastolic = reader.sfloat();
    const meanArterial = reader.sfloat();
    const measurement: BloodPressureMeasurement = {
      unit: flags & FLAG.KPA ? "kPa" : "mmHg",
      systolic,
      diastolic,
      meanArterial: quirks.includes("mean-pressure-zero-absent") && medValue(meanArterial) === 0 ? { special: "nan" } : meanArterial,
    };
    if (flags & FLAG.TIME_STAMP) measurement.timeStamp = readDateTime(reader);
    if (flags & FLAG.PULSE_RATE) measurement.pulseRate = swapped ? reader.sfloat(true) : reader.sfloat();
    if (flags & FLAG.USER_ID) measurement.userId = reader.u8();
    if (flags & FLAG.STATUS) measurement.status = reader.u16(swapped);
    return measurement;
  },
};

export function encodeBloodPressure(measurement: BloodPressureMeasurement): Uint8Array {
  const { timeStamp, pulseRate, userId, status } = measurement;
  const flags =
    (measurement.unit === "kPa" ? FLAG.KPA : 0) |
    (timeStamp ? FLAG.TIME_STAMP : 0) |
    (pulseRate ? FLAG.PULSE_RATE : 0) |
    (userId !== undefined ? FLAG.USER_ID : 0) |
    (status !== undefined ? FLAG.STATUS : 0);
  const writer = new FieldWriter().u8(flags).sfloat(measurement.systolic).sfloat(measurement.diastolic).sfloat(measurement.meanArterial);
  if (timeStamp) writeDateTime(writer, timeStamp);
  if (pulseRate) writer.sfloat(pulseRate);
  if (userId !== undefined) writer.u8(userId);
  if (status !== undefined) writer.u16(status);
  return writer.toBytes();
}

export function bloodPressureReading(measurement: BloodPressureMeasurement): DeviceReading {
  const pressure = (value: MedFloat) => (measurement.unit === "kPa" ? convertedValue(value, (kpa) => kpa * MMHG_PER_KPA) : medValue(value));
  const [systolic, diastolic, mean] = [pressure(measurement.systolic), pressure(measurement.diastolic), pressure(measurement.meanArterial)];
  // The mean pressure lies between the diastolic and the systolic one (it is their weighted mean
  // over a heartbeat): three that do not are no measurement but fields read wrongly.
  if (systolic !== undefined && diastolic !== undefined && (diastolic > systolic || (mean !== undefined && (mean < diastolic || mean > systolic)))) {
    throw new BleValueError("implausible-value", `Blood Pressure Measurement: ${systolic}/${diastolic} with mean ${mean} is no pressure curve`);
  }
  const observations = plausibleObservations("Blood Pressure Measurement", [
    ["systolic_bp", systolic],
    ["diastolic_bp", diastolic],
    ["mean_bp", mean],
    ["pulse_rate", measurement.pulseRate && medValue(measurement.pulseRate)],
  ]);
  const time = measurement.timeStamp && isoDeviceTime(measurement.timeStamp);
  const flags = bloodPressureFlags(measurement.status ?? 0);
  // No pressure at all (every one NaN or another special value): the cuff's "Err", not a reading.
  if (systolic === undefined && diastolic === undefined && mean === undefined) flags.push("measurement-failed");
  return { kind: "spot", observations, flags, ...(time !== undefined && { deviceTime: time }) };
}

function bloodPressureFlags(status: number): ReadingFlag[] {
  const flags: ReadingFlag[] = [];
  if (status & STATUS.BODY_MOVEMENT) flags.push("body-movement");
  if (status & STATUS.CUFF_LOOSE) flags.push("cuff-loose");
  if (status & STATUS.IRREGULAR_PULSE) flags.push("irregular-pulse");
  // 1: above the upper limit, 2: below the lower limit (3 is reserved and says nothing).
  const range = (status & STATUS.PULSE_RANGE) >> 3;
  if (range === 1 || range === 2) flags.push("pulse-rate-out-of-range");
  if (status & STATUS.IMPROPER_POSITION) flags.push("improper-position");
  return flags;
}
