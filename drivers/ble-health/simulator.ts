/**
 * A Bluetooth LE blood pressure monitor as the agent's link would relay it: its Device
 * Information strings and the ready frame first, then one Blood Pressure Measurement
 * indication a tick (the cuff measures, then reports), each wrapped in a GATT frame.
 */
import { garble, vitalsAt, type DeviceSimulator, type Scenario } from "../core/simulation.ts";
import { encodeBloodPressure } from "./bloodPressure.ts";
import { CHARACTERISTIC } from "./characteristics.ts";
import { encodeFrame, FRAME_KIND, readyFrame, type GattFrame } from "./gattStream.ts";
import { DEVICE_INFORMATION } from "./stream.ts";

/** A fixed clock, so the simulator's bytes are the same on every run. */
const SIMULATED_BOX_TIME = Date.UTC(2026, 0, 15, 9, 30);

const text = (value: string) => new TextEncoder().encode(value);

export function bloodPressureValue(tick: number, pulseRate: number): Uint8Array {
  return encodeBloodPressure({
    unit: "mmHg",
    systolic: { mantissa: 118 + (tick % 7), exponent: 0 },
    diastolic: { mantissa: 76 + (tick % 5), exponent: 0 },
    meanArterial: { mantissa: 90 + (tick % 5), exponent: 0 },
    pulseRate: { mantissa: pulseRate, exponent: 0 },
    timeStamp: { year: 2026, month: 1, day: 15, hours: 9, minutes: 30 + (tick % 30), seconds: 0 },
  });
}

export function createBleHealthSimulator(scenario: Scenario): DeviceSimulator {
  return {
    intervalMs: 1000,
    chunk(tick) {
      const pulseRate = vitalsAt("normal", tick).pulseRate ?? 72;
      const frames: GattFrame[] = [{ kind: FRAME_KIND.VALUE, characteristic: CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT, value: bloodPressureValue(tick, pulseRate) }];
      if (tick === 0) {
        frames.unshift(
          { kind: FRAME_KIND.VALUE, characteristic: DEVICE_INFORMATION.MANUFACTURER_NAME, value: text("Thea Simulated") },
          { kind: FRAME_KIND.VALUE, characteristic: DEVICE_INFORMATION.MODEL_NUMBER, value: text("BP-1") },
          readyFrame(SIMULATED_BOX_TIME, [CHARACTERISTIC.BLOOD_PRESSURE_MEASUREMENT]),
        );
      }
      const bytes = Uint8Array.from(frames.flatMap((frame) => [...encodeFrame(frame)]));
      return scenario === "garbled" ? garble(bytes, tick) : bytes;
    },
  };
}
