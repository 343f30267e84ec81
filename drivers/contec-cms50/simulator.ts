/**
 * A CMS50D+ on the wire, 60 packets a second. Legacy firmware streams from power-on; firmware
 * 4.6+ stays silent until it receives the start-live-data command and falls silent again when the
 * command is not repeated within KEEP_ALIVE_TIMEOUT_MS, which is what the driver's keep-alive is for.
 */
import { garble, vitalsAt, type DeviceSimulator, type Scenario, type SimulatedVitals } from "../core/simulation.ts";
import { BYTE1, BYTE3 } from "./legacy.ts";
import { START_LIVE_DATA, STATUS46 } from "./live46.ts";

const INTERVAL_MS = 1000 / 3;
const PACKETS_PER_CHUNK = 20;
export const KEEP_ALIVE_TIMEOUT_MS = 10_000;

export function legacyPacket(vitals: SimulatedVitals, sample: number): number[] {
  const pulseRate = vitals.pulseRate ?? 255;
  const pleth = vitals.sensorOff ? 0 : Math.round(64 + 50 * Math.sin((sample / 60) * 2 * Math.PI));
  return [
    BYTE1.SYNC | (vitals.sensorOff ? BYTE1.FINGER_OUT : 0x08),
    pleth & 0x7f,
    ((pulseRate & 0x80) >> 1) | (vitals.sensorOff ? BYTE3.SEARCHING : 0),
    pulseRate & 0x7f,
    (vitals.spo2 ?? 127) & 0x7f,
  ];
}

export function live46Frame(vitals: SimulatedVitals, sample: number): number[] {
  const pleth = vitals.sensorOff ? 0 : Math.round(64 + 50 * Math.sin((sample / 60) * 2 * Math.PI));
  const status = STATUS46.FIXED | (vitals.sensorOff ? STATUS46.FINGER_OUT : 0);
  return [0x01, status, 0x80, 0x80 | pleth, 0x80 | pleth, 0x80 | ((vitals.pulseRate ?? 0) & 0x7f), 0x80 | ((vitals.spo2 ?? 0) & 0x7f), 0xff, 0xff];
}

export function createContecSimulator(firmware: "legacy" | "4.6", scenario: Scenario): DeviceSimulator {
  let commandSeen = false;
  let lastCommandTick: number | undefined;
  return {
    intervalMs: INTERVAL_MS,
    receive(bytes) {
      // Look for 7D 81 A1 anywhere in what the host sent.
      for (let i = 0; i + 2 < bytes.length; i++) {
        if (bytes[i] === 0x7d && bytes[i + 1] === 0x81 && bytes[i + 2] === START_LIVE_DATA) commandSeen = true;
      }
      return undefined; // the device answers by streaming, not with a reply
    },
    chunk(tick) {
      if (commandSeen) {
        lastCommandTick = tick;
        commandSeen = false;
      }
      const streaming =
        firmware === "legacy" || (lastCommandTick !== undefined && (tick - lastCommandTick) * INTERVAL_MS < KEEP_ALIVE_TIMEOUT_MS);
      if (!streaming) return new Uint8Array(0);
      const vitals = vitalsAt(scenario, (tick * INTERVAL_MS) / 1000);
      const bytes: number[] = [];
      for (let i = 0; i < PACKETS_PER_CHUNK; i++) {
        const sample = tick * PACKETS_PER_CHUNK + i;
        bytes.push(...(firmware === "legacy" ? legacyPacket(vitals, sample) : live46Frame(vitals, sample)));
      }
      const chunk = Uint8Array.from(bytes);
      return scenario === "garbled" ? garble(chunk, tick) : chunk;
    },
  };
}
