/** An N-595 printing its real-time trend every 2 seconds, with a header every 20 lines. */
import { garble, vitalsAt, type DeviceSimulator, type Scenario } from "../core/simulation.ts";

const START = Date.UTC(2026, 10, 23, 8, 0, 0);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const INTERVAL_MS = 2000;
const pad = (value: number | string, width = 2) => String(value).padStart(width, "0");

const HEADER =
  "N-595   VERSION 1.3.0.0   CRC: 0000   SpO2 Limit: 85-100%   PR Limit: 50-120BPM   ADULT   0SAT-S\r\n" +
  "TIME                %SPO2   BPM   PA   Status\r\n";

export function nellcorLines(tick: number, scenario: Scenario): string {
  const seconds = (tick * INTERVAL_MS) / 1000;
  const vitals = vitalsAt(scenario, seconds);
  const at = new Date(START + seconds * 1000);
  const stamp = `${pad(at.getUTCDate())}-${MONTHS[at.getUTCMonth()]}-${pad(at.getUTCFullYear() % 100)} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
  const value = (n: number | undefined) => (n === undefined ? "---" : String(n)).padStart(5);
  const amplitude = vitals.sensorOff ? "---" : "45";
  const status = vitals.sensorOff ? "SD" : "";
  const line = `${stamp} ${value(vitals.spo2)}  ${value(vitals.pulseRate)}  ${amplitude.padStart(3)}    ${status}\r\n`;
  return (tick % 20 === 0 ? HEADER : "") + line;
}

export function createNellcorSimulator(scenario: Scenario): DeviceSimulator {
  return {
    intervalMs: INTERVAL_MS,
    chunk(tick) {
      const bytes = new TextEncoder().encode(nellcorLines(tick, scenario));
      return scenario === "garbled" ? garble(bytes, tick) : bytes;
    },
  };
}
