/** A Rad-8 printing ASCII 1 lines once a second. */
import { garble, vitalsAt, type DeviceSimulator, type Scenario } from "../core/simulation.ts";

const START = Date.UTC(2026, 10, 23, 8, 0, 0);
const pad = (value: number, width = 2) => String(value).padStart(width, "0");

export function masimoLine(tick: number, scenario: Scenario): string {
  const vitals = vitalsAt(scenario, tick);
  const at = new Date(START + tick * 1000);
  const stamp = `${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/${pad(at.getUTCFullYear() % 100)} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
  const spo2 = vitals.spo2 === undefined ? "---" : pad(vitals.spo2, 3);
  const bpm = vitals.pulseRate === undefined ? "---" : pad(vitals.pulseRate, 3);
  const pi = vitals.sensorOff ? "--.--" : (2.5 + Math.sin(tick / 3)).toFixed(2).padStart(5, "0");
  const exc = vitals.sensorOff ? "000820" : "000800"; // sensor off + Masimo SET, or SET alone
  return `${stamp} SN=0000056661 SPO2=${spo2}% BPM=${bpm} PI=${pi}% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- ALARM=0000 EXC=${exc}\r\n`;
}

export function createMasimoSimulator(scenario: Scenario): DeviceSimulator {
  return {
    intervalMs: 1000,
    chunk(tick) {
      const bytes = new TextEncoder().encode(masimoLine(tick, scenario));
      return scenario === "garbled" ? garble(bytes, tick) : bytes;
    },
  };
}
