/**
 * Pulse Oximeter Service (0x1822, PLXS v1.0.1 and GSS). SpO2 in %, pulse rate in
 * beats/min, Pulse Amplitude Index in % (the perfusion index), all SFLOAT.
 *
 * PLX Spot-Check Measurement (0x2A5E, by indication): Flags, SpO2, PR, then by flag: Timestamp
 * (Date Time, bit 0), Measurement Status (uint16, bit 1), Device and Sensor Status (uint24,
 * bit 2), Pulse Amplitude Index (bit 3); bit 4 says the device clock is not set; bits 5–7 reserved.
 *
 * PLX Continuous Measurement (0x2A5F, by notification): Flags, SpO2PR-Normal (SpO2, PR), then by
 * flag: SpO2PR-Fast (bit 0), SpO2PR-Slow (bit 1), Measurement Status (bit 2), Device and Sensor
 * Status (bit 3), Pulse Amplitude Index (bit 4); bits 5–7 reserved.
 */
import type { DeviceReading, ReadingFlag } from "../core/types.ts";
import { DATE_TIME_LENGTH, type DateTime, isoDeviceTime, readDateTime, writeDateTime } from "./dateTime.ts";
import { FieldWriter, type FieldReader } from "./fields.ts";
import { impliedTimestamp, optionalLength, plausibleObservations, type MeasurementLayout } from "./layout.ts";
import { medValue, type MedFloat } from "./medfloat.ts";

const SPOT = { TIMESTAMP: 0x01, MEASUREMENT_STATUS: 0x02, SENSOR_STATUS: 0x04, PULSE_AMPLITUDE: 0x08, CLOCK_NOT_SET: 0x10 } as const;
const CONTINUOUS = { FAST: 0x01, SLOW: 0x02, MEASUREMENT_STATUS: 0x04, SENSOR_STATUS: 0x08, PULSE_AMPLITUDE: 0x10 } as const;

/** Measurement Status bits (PLXS, Measurement Status field; bits 0–4 reserved). */
const MEASUREMENT = { DEMONSTRATION: 1 << 10, TESTING: 1 << 11, UNAVAILABLE: 1 << 13, QUESTIONABLE: 1 << 14, INVALID: 1 << 15 } as const;
/** Device and Sensor Status bits (PLXS, Device and Sensor Status field) and the reading flag each becomes. */
const SENSOR_FLAGS: ReadonlyArray<readonly [number, ReadingFlag]> = [
  [1 << 1, "sensor-fault"], // equipment malfunction detected
  [1 << 2, "artifact"], // signal processing irregularity detected
  [1 << 3, "low-signal-quality"], // inadequate signal detected
  [1 << 4, "low-signal-quality"], // poor signal detected
  [1 << 5, "low-perfusion"],
  [1 << 6, "artifact"], // erratic signal detected
  [1 << 7, "pulse-search"], // nonpulsatile signal detected
  [1 << 8, "questionable-measurement"], // questionable pulse detected
  [1 << 9, "searching"], // signal analysis ongoing
  [1 << 10, "interference"], // sensor interference detected
  [1 << 11, "sensor-off"], // sensor unconnected to user
  [1 << 12, "sensor-fault"], // unknown sensor connected
  [1 << 13, "sensor-off"], // sensor displaced
  [1 << 14, "sensor-fault"], // sensor malfunctioning
  [1 << 15, "sensor-disconnected"],
];

export interface SpO2PR {
  spo2: MedFloat;
  pulseRate: MedFloat;
}

interface PlxStatus {
  measurementStatus?: number;
  sensorStatus?: number;
  pulseAmplitudeIndex?: MedFloat;
}

export interface PlxSpotCheckMeasurement extends SpO2PR, PlxStatus {
  timestamp?: DateTime;
  clockNotSet: boolean;
}

export interface PlxContinuousMeasurement extends PlxStatus {
  normal: SpO2PR;
  fast?: SpO2PR;
  slow?: SpO2PR;
}

const readPair = (reader: FieldReader): SpO2PR => ({ spo2: reader.sfloat(), pulseRate: reader.sfloat() });

function readStatus(reader: FieldReader, flags: number, bits: { MEASUREMENT_STATUS: number; SENSOR_STATUS: number; PULSE_AMPLITUDE: number }): PlxStatus {
  const status: PlxStatus = {};
  if (flags & bits.MEASUREMENT_STATUS) status.measurementStatus = reader.u16();
  if (flags & bits.SENSOR_STATUS) status.sensorStatus = reader.u24();
  if (flags & bits.PULSE_AMPLITUDE) status.pulseAmplitudeIndex = reader.sfloat();
  return status;
}

const statusLength = (flags: number, bits: { MEASUREMENT_STATUS: number; SENSOR_STATUS: number; PULSE_AMPLITUDE: number }) =>
  optionalLength(flags, [[bits.MEASUREMENT_STATUS, 2], [bits.SENSOR_STATUS, 3], [bits.PULSE_AMPLITUDE, 2]]);

export const plxSpotCheckLayout: MeasurementLayout<PlxSpotCheckMeasurement> = {
  name: "PLX Spot-Check Measurement",
  reservedFlags: 0xe0,
  impliedFields: [impliedTimestamp(SPOT.TIMESTAMP)],
  length: (flags) => 1 + 4 + optionalLength(flags, [[SPOT.TIMESTAMP, DATE_TIME_LENGTH]]) + statusLength(flags, SPOT),
  read(reader, flags) {
    const pair = readPair(reader);
    const timestamp = flags & SPOT.TIMESTAMP ? readDateTime(reader) : undefined;
    return { ...pair, ...(timestamp && { timestamp }), ...readStatus(reader, flags, SPOT), clockNotSet: (flags & SPOT.CLOCK_NOT_SET) !== 0 };
  },
};

export const plxContinuousLayout: MeasurementLayout<PlxContinuousMeasurement> = {
  name: "PLX Continuous Measurement",
  reservedFlags: 0xe0,
  length: (flags) => 1 + 4 + optionalLength(flags, [[CONTINUOUS.FAST, 4], [CONTINUOUS.SLOW, 4]]) + statusLength(flags, CONTINUOUS),
  read(reader, flags) {
    const normal = readPair(reader);
    const fast = flags & CONTINUOUS.FAST ? readPair(reader) : undefined;
    const slow = flags & CONTINUOUS.SLOW ? readPair(reader) : undefined;
    return { normal, ...(fast && { fast }), ...(slow && { slow }), ...readStatus(reader, flags, CONTINUOUS) };
  },
};

function writeStatus(writer: FieldWriter, status: PlxStatus): void {
  if (status.measurementStatus !== undefined) writer.u16(status.measurementStatus);
  if (status.sensorStatus !== undefined) writer.u24(status.sensorStatus);
  if (status.pulseAmplitudeIndex) writer.sfloat(status.pulseAmplitudeIndex);
}

function statusFlags(status: PlxStatus, bits: { MEASUREMENT_STATUS: number; SENSOR_STATUS: number; PULSE_AMPLITUDE: number }): number {
  return (
    (status.measurementStatus !== undefined ? bits.MEASUREMENT_STATUS : 0) |
    (status.sensorStatus !== undefined ? bits.SENSOR_STATUS : 0) |
    (status.pulseAmplitudeIndex ? bits.PULSE_AMPLITUDE : 0)
  );
}

export function encodePlxSpotCheck(measurement: PlxSpotCheckMeasurement): Uint8Array {
  const flags = (measurement.timestamp ? SPOT.TIMESTAMP : 0) | statusFlags(measurement, SPOT) | (measurement.clockNotSet ? SPOT.CLOCK_NOT_SET : 0);
  const writer = new FieldWriter().u8(flags).sfloat(measurement.spo2).sfloat(measurement.pulseRate);
  if (measurement.timestamp) writeDateTime(writer, measurement.timestamp);
  writeStatus(writer, measurement);
  return writer.toBytes();
}

export function encodePlxContinuous(measurement: PlxContinuousMeasurement): Uint8Array {
  const flags = (measurement.fast ? CONTINUOUS.FAST : 0) | (measurement.slow ? CONTINUOUS.SLOW : 0) | statusFlags(measurement, CONTINUOUS);
  const writer = new FieldWriter().u8(flags);
  for (const pair of [measurement.normal, measurement.fast, measurement.slow]) if (pair) writer.sfloat(pair.spo2).sfloat(pair.pulseRate);
  writeStatus(writer, measurement);
  return writer.toBytes();
}

/** SpO2, pulse rate and perfusion index with the status flags; an invalid measurement carries no values. */
function plxReading(kind: DeviceReading["kind"], pair: SpO2PR, status: PlxStatus): DeviceReading {
  const measurement = status.measurementStatus ?? 0;
  const flags = new Set<ReadingFlag>();
  if (measurement & (MEASUREMENT.DEMONSTRATION | MEASUREMENT.TESTING)) flags.add("demo-data");
  if (measurement & MEASUREMENT.UNAVAILABLE) flags.add("measurement-unavailable");
  if (measurement & MEASUREMENT.QUESTIONABLE) flags.add("questionable-measurement");
  if (measurement & MEASUREMENT.INVALID) flags.add("measurement-failed");
  for (const [bit, flag] of SENSOR_FLAGS) if ((status.sensorStatus ?? 0) & bit) flags.add(flag);
  const observations =
    // Invalid or unavailable (PLXS, Measurement Status): whatever numbers came are no measurement.
    measurement & (MEASUREMENT.INVALID | MEASUREMENT.UNAVAILABLE)
      ? []
      : plausibleObservations("PLX Measurement", [
          ["spo2", medValue(pair.spo2)],
          ["pulse_rate", medValue(pair.pulseRate)],
          ["perfusion_index", status.pulseAmplitudeIndex && medValue(status.pulseAmplitudeIndex)],
        ]);
  return { kind, observations, flags: [...flags] };
}

export function plxSpotCheckReading(measurement: PlxSpotCheckMeasurement): DeviceReading {
  const reading = plxReading("spot", measurement, measurement);
  // A device whose clock was never set sends a timestamp that means nothing (PLXS, Flags: Device Clock is Not Set).
  if (measurement.clockNotSet) return { ...reading, flags: [...reading.flags, "device-clock-unreliable"] };
  const time = measurement.timestamp && isoDeviceTime(measurement.timestamp);
  return time === undefined ? reading : { ...reading, deviceTime: time };
}

/** The Normal-averaged values are published; Fast and Slow are decoded but not published. */
export function plxContinuousReading(measurement: PlxContinuousMeasurement): DeviceReading {
  return plxReading("continuous", measurement.normal, measurement);
}
