/**
 * The health measurement characteristics by their 16-bit UUID, and one device's decoder: each
 * notified or indicated value is one whole measurement (ATT delivers values, not a byte stream),
 * decoded into a reading or counted as discarded with the reason. The typed measurement goes out
 * as a `message` event too: the agent needs a glucose record's sequence number (to ask only for
 * newer records after a reconnect) and the device's timestamp (to report its clock offset).
 */
import type { DecoderEvent, DeviceReading } from "../core/types.ts";
import { BleValueError } from "./fields.ts";
import { bloodPressureLayout, bloodPressureReading } from "./bloodPressure.ts";
import { glucoseLayout, glucoseReading } from "./glucose.ts";
import { decodeWithLayout, type MeasurementLayout } from "./layout.ts";
import { plxContinuousLayout, plxContinuousReading, plxSpotCheckLayout, plxSpotCheckReading } from "./pulseOximeter.ts";
import type { QuirkId } from "./quirks.ts";
import { temperatureLayout, temperatureReading } from "./thermometer.ts";
import { weightLayout, weightReading } from "./weightScale.ts";

/** Assigned numbers (Bluetooth SIG Assigned Numbers: GATT services and characteristics). */
export const SERVICE = { HEALTH_THERMOMETER: 0x1809, BLOOD_PRESSURE: 0x1810, GLUCOSE: 0x1808, PULSE_OXIMETER: 0x1822, WEIGHT_SCALE: 0x181d, CURRENT_TIME: 0x1805 } as const;
export const CHARACTERISTIC = {
  BLOOD_PRESSURE_MEASUREMENT: 0x2a35,
  PLX_SPOT_CHECK: 0x2a5e,
  PLX_CONTINUOUS: 0x2a5f,
  TEMPERATURE_MEASUREMENT: 0x2a1c,
  WEIGHT_MEASUREMENT: 0x2a9d,
  GLUCOSE_MEASUREMENT: 0x2a18,
  RECORD_ACCESS_CONTROL_POINT: 0x2a52,
  CURRENT_TIME: 0x2a2b,
} as const;

/** A characteristic's decoder with its measurement type erased (it travels as a `message`). */
type MeasurementDecoder = (value: Uint8Array, quirks: readonly QuirkId[]) => { measurement: unknown; reading: DeviceReading };

const kind =
  <Measurement>(layout: MeasurementLayout<Measurement>, reading: (measurement: Measurement) => DeviceReading): MeasurementDecoder =>
  (value, quirks) => {
    const measurement = decodeWithLayout(layout, value, quirks);
    return { measurement, reading: reading(measurement) };
  };

const MEASUREMENTS = new Map<number, MeasurementDecoder>([
  [CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, kind(bloodPressureLayout, bloodPressureReading)],
  [CHARACTERISTIC.PLX_SPOT_CHECK, kind(plxSpotCheckLayout, plxSpotCheckReading)],
  [CHARACTERISTIC.PLX_CONTINUOUS, kind(plxContinuousLayout, plxContinuousReading)],
  [CHARACTERISTIC.TEMPERATURE_MEASUREMENT, kind(temperatureLayout, temperatureReading)],
  [CHARACTERISTIC.WEIGHT_MEASUREMENT, kind(weightLayout, weightReading)],
  [CHARACTERISTIC.GLUCOSE_MEASUREMENT, kind(glucoseLayout, glucoseReading)],
]);

export const MEASUREMENT_CHARACTERISTICS: readonly number[] = [...MEASUREMENTS.keys()];

export type DecodedValue = { ok: true; measurement: unknown; reading: DeviceReading } | { ok: false; code: BleValueError["code"]; reason: string };

/** One characteristic value as a reading, or why it breaks its specification. */
export function decodeMeasurement(characteristic: number, value: Uint8Array, quirks: readonly QuirkId[] = []): DecodedValue {
  const decode = MEASUREMENTS.get(characteristic);
  if (!decode) return { ok: false, code: "unknown-characteristic", reason: `0x${characteristic.toString(16)} is no health measurement characteristic` };
  try {
    return { ok: true, ...decode(value, quirks) };
  } catch (error) {
    if (error instanceof BleValueError) return { ok: false, code: error.code, reason: error.message };
    throw error;
  }
}

export interface BleHealthDecoderOptions {
  /** quirksFor(the device's manufacturer and model). */
  quirks?: readonly QuirkId[];
}

/** One connected device: its values in, readings or counted discards out. */
export class BleHealthDecoder {
  readonly #quirks: readonly QuirkId[];

  constructor(options: BleHealthDecoderOptions = {}) {
    this.#quirks = options.quirks ?? [];
  }

  decode(characteristic: number, value: Uint8Array): DecoderEvent[] {
    const decoded = decodeMeasurement(characteristic, value, this.#quirks);
    if (!decoded.ok) return [{ type: "discarded", bytes: value.length, reason: decoded.reason }];
    return [
      { type: "message", message: { characteristic, measurement: decoded.measurement } },
      { type: "reading", reading: decoded.reading },
    ];
  }
}
