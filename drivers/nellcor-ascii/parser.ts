/**
 * Nellcor N-5xx (N-560, N-595, N-600) real-time trend output, one line per reading:
 *   15-Jan-24 14:30:02    84*    72   45    SL
 * i.e. date, time, %SpO2, BPM, pulse amplitude, then status codes. `*` marks a value outside its
 * alarm limit, `---` means no value. The monitor repeats a header (model/version/limits line and
 * a column title line) which is skipped. Pulse amplitude has no observation type here.
 */
import { observation } from "../core/observations.ts";
import type { LineOutcome } from "../serial/lineFramer.ts";
import type { Observation, ReadingFlag } from "../core/types.ts";

/** Status codes as printed by the N-5xx operator's manuals; unknown codes are ignored. */
export const STATUS_CODES: Readonly<Record<string, ReadingFlag>> = {
  SD: "sensor-disconnected", // sensor disconnect
  SO: "sensor-off",
  PS: "pulse-search",
  LP: "pulse-search", // loss of pulse
  LM: "artifact", // loss of pulse with patient motion
  MO: "artifact", // patient motion
  LB: "low-battery",
  SH: "in-alarm", // saturation upper limit
  SL: "in-alarm", // saturation lower limit
  PH: "in-alarm", // pulse rate upper limit
  PL: "in-alarm", // pulse rate lower limit
};

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const LINE = /^(\d\d)-([A-Za-z]{3})-(\d\d) (\d\d):(\d\d):(\d\d)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/;
const HEADER = /^(N-\d+|TIME\b)|VERSION|Limit:/i;

export function parseNellcorLine(text: string): LineOutcome {
  const line = text.trim();
  if (line === "" || HEADER.test(line)) return { type: "skip" };
  const match = LINE.exec(line);
  if (!match) return { type: "invalid", reason: "not an N-5xx trend line" };
  const [, day, monthName = "", year, hour, minute, second, spo2Text = "", bpmText = "", amplitude = "", status = ""] = match;
  const month = MONTHS.findIndex((name) => name.toLowerCase() === monthName.toLowerCase()) + 1;
  if (month === 0 || Number(day) < 1 || Number(day) > 31) return { type: "invalid", reason: "impossible date" };
  const values = [spo2Text, bpmText, amplitude].map(parseValue);
  if (values.some((value) => value === "invalid")) return { type: "invalid", reason: "value is neither a number nor ---" };

  const flags = new Set<ReadingFlag>();
  const observations: Observation[] = [];
  const [spo2, bpm] = values;
  for (const [type, value] of [["spo2", spo2], ["pulse_rate", bpm]] as const) {
    if (value === undefined || value === "invalid") continue;
    if (value.inAlarm) flags.add("in-alarm");
    const found = observation(type, value.number);
    if (found) observations.push(found);
  }
  for (const code of status.split(/\s+/)) {
    const flag = STATUS_CODES[code.toUpperCase()];
    if (flag) flags.add(flag);
  }
  return {
    type: "reading",
    reading: {
      kind: "continuous",
      observations,
      flags: [...flags],
      // No zone and a two-digit year on the monitor's clock.
      deviceTime: `20${year}-${String(month).padStart(2, "0")}-${day}T${hour}:${minute}:${second}`,
    },
  };
}

function parseValue(text: string): { number: number; inAlarm: boolean } | undefined | "invalid" {
  if (/^-+\*?$/.test(text)) return undefined;
  const match = /^(\d{1,3})(\*?)$/.exec(text);
  return match ? { number: Number(match[1]), inAlarm: match[2] === "*" } : "invalid";
}
