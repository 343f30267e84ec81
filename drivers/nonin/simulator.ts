/**
 * The oximeter's side of a Nonin line: encodes simulated vitals as Format #2 or #7 packets (3 a
 * second) or Format #8 records (1 a second), byte for byte as the device sends them.
 */
import { garble, vitalsAt, type DeviceSimulator, type Scenario, type SimulatedVitals } from "../core/simulation.ts";
import { frameChecksum, FRAMES_PER_PACKET, NO_PULSE_RATE, NO_SPO2, POSITION, STATUS } from "./packet.ts";
import { STATUS8 } from "./format8.ts";

const FIRMWARE_REVISION = 0x2a;

/** A packet of Format #2 (`01 STATUS PLETH DATA`) or #7 (`STATUS PLETH-MSB PLETH-LSB DATA`), each frame + CHK. */
export function encodePacket(format: 2 | 7, vitals: SimulatedVitals, phase = 0): Uint8Array {
  const pulseRate = vitals.pulseRate ?? NO_PULSE_RATE;
  const spo2 = vitals.spo2 ?? NO_SPO2;
  const dataAt: Record<number, number> = {
    [POSITION.HR_MSB]: (pulseRate >> 7) & 0x03,
    [POSITION.HR_LSB]: pulseRate & 0x7f,
    [POSITION.SPO2]: spo2,
    [POSITION.FIRMWARE]: FIRMWARE_REVISION,
  };
  // Good (green) perfusion while on the finger; disconnected sensor otherwise.
  const baseStatus = STATUS.ALWAYS | (vitals.sensorOff ? STATUS.SNSD | STATUS.OOT : STATUS.YPRF | STATUS.RPRF);
  const bytes = new Uint8Array(FRAMES_PER_PACKET * 5);
  for (let frame = 0; frame < FRAMES_PER_PACKET; frame++) {
    const status = baseStatus | (frame === 0 ? STATUS.SYNC : 0);
    const wave = Math.sin(((phase * FRAMES_PER_PACKET + frame) / 75) * 2 * Math.PI);
    const data = dataAt[frame] ?? 0;
    const head =
      format === 2
        ? [0x01, status, vitals.sensorOff ? 0 : Math.round(128 + 100 * wave) & 0xff, data]
        : [status, ...(vitals.sensorOff ? [0, 0] : pleth16(Math.round(32768 + 25000 * wave))), data];
    bytes.set([...head, frameChecksum(head)], frame * 5);
  }
  return bytes;
}

const pleth16 = (value: number) => [(value >> 8) & 0xff, value & 0xff];

export function encodeFormat8Record(vitals: SimulatedVitals): Uint8Array {
  const pulseRate = vitals.pulseRate ?? NO_PULSE_RATE;
  const status = STATUS8.ALWAYS | (vitals.sensorOff ? STATUS8.SNSD | STATUS8.OOT : 0) | ((pulseRate >> 7) & 0x03);
  return Uint8Array.from([status, pulseRate & 0x7f, (vitals.spo2 ?? NO_SPO2) & 0x7f, 0]);
}

export function createNoninSimulator(format: 2 | 7 | 8, scenario: Scenario): DeviceSimulator {
  const intervalMs = format === 8 ? 1000 : 1000 / 3;
  return {
    intervalMs,
    chunk(tick) {
      const vitals = vitalsAt(scenario, (tick * intervalMs) / 1000);
      const bytes = format === 8 ? encodeFormat8Record(vitals) : encodePacket(format, vitals, tick);
      return scenario === "garbled" ? garble(bytes, tick) : bytes;
    },
  };
}
