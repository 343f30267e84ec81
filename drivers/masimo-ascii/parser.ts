/**
 * Masimo Rad-8 / Radical-7 serial output in "ASCII 1" mode: one line a second,
 *   MM/DD/YY HH:MM:SS SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-%
 *   DESAT=-- PIDELTA=+-- [PVI=---] ALARM=0000 EXC=000800
 * Dashes mean no value. ALARM and EXC are hex bit fields (operator's manual, serial interface
 * section); SPCO and SPMET have no observation type here and are not published.
 */
import { observation } from "../core/observations.ts";
import type { LineOutcome } from "../serial/lineFramer.ts";
import type { Observation, ReadingFlag } from "../core/types.ts";

/** EXC (exception) bits and the flag each becomes. 0x800 ("Masimo SET") is informational. */
export const EXCEPTIONS: ReadonlyArray<[number, ReadingFlag]> = [
  [0x000001, "sensor-disconnected"], // no sensor
  [0x000002, "sensor-fault"], // defective sensor
  [0x000004, "low-perfusion"],
  [0x000008, "pulse-search"],
  [0x000010, "interference"],
  [0x000020, "sensor-off"],
  [0x000040, "interference"], // ambient light
  [0x000080, "sensor-fault"], // unrecognised sensor
  [0x000100, "sensor-fault"], // incompatible sensor
  [0x000400, "low-signal-quality"], // low signal IQ
  [0x001000, "sensor-disconnected"], // no cable connected
];

/** ALARM bits: limit violations and "alarm active" mean in-alarm; 0x40 is low battery. */
export const ALARMS = { LIMITS_OR_ACTIVE: 0x001f | 0x3f00, LOW_BATTERY: 0x0040 } as const;

const LINE = /^(\d\d)\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) (.+)$/;

export function parseMasimoLine(text: string): LineOutcome {
  const line = text.trim();
  if (line === "") return { type: "skip" };
  const match = LINE.exec(line);
  if (!match) return { type: "invalid", reason: "not an ASCII 1 record" };
  const [, month, day, year, hour, minute, second, rest = ""] = match;
  const fields = new Map(
    rest
      .split(/\s+/)
      .map((token) => token.split("="))
      .filter((pair): pair is [string, string] => pair.length === 2),
  );
  const exc = hexField(fields.get("EXC"));
  const alarm = hexField(fields.get("ALARM"));
  if (!fields.has("SPO2") || !fields.has("BPM") || exc === undefined || alarm === undefined) {
    return { type: "invalid", reason: "ASCII 1 record without SPO2, BPM, ALARM or EXC" };
  }
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > 31) {
    return { type: "invalid", reason: "impossible date" };
  }

  const observations: Observation[] = [];
  const add = (type: Parameters<typeof observation>[0], raw: string | undefined) => {
    const value = numberField(raw);
    const found = value === undefined ? undefined : observation(type, value);
    if (found) observations.push(found);
  };
  add("spo2", fields.get("SPO2"));
  add("pulse_rate", fields.get("BPM"));
  add("perfusion_index", fields.get("PI"));
  add("pleth_variability_index", fields.get("PVI"));

  const flags = new Set<ReadingFlag>();
  for (const [bit, flag] of EXCEPTIONS) if (exc & bit) flags.add(flag);
  if (alarm & ALARMS.LIMITS_OR_ACTIVE) flags.add("in-alarm");
  if (alarm & ALARMS.LOW_BATTERY) flags.add("low-battery");

  return {
    type: "reading",
    // The device clock has no zone and a two-digit year; this record format dates from 2000 on.
    reading: { kind: "continuous", observations, flags: [...flags], deviceTime: `20${year}-${month}-${day}T${hour}:${minute}:${second}` },
  };
}

/** "098%" → 98, "03.60%" → 3.6; anything with dashes, or not a number, → undefined. */
function numberField(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.includes("-")) return undefined;
  const text = raw.replace(/%$/, "");
  return /^\+?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
}

function hexField(raw: string | undefined): number | undefined {
  return raw !== undefined && /^[0-9A-Fa-f]{1,8}$/.test(raw) ? Number.parseInt(raw, 16) : undefined;
}
