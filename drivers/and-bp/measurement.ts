/**
 * One blood-pressure measurement in the monitor's RB output format: fields separated by RS,
 *
 *   0 model · 1 time YYMMDDhhmm · 2–3 (not used here) · 4 error code (0 = measured) ·
 *   5 systolic · 6 mean · 7 diastolic · 8 pulse rate · 9 inflation setting · 10 max pulse amplitude
 *
 * Value fields start with a one-letter tag before their digits (which the driver does not rely
 * on); spaces are padding. A value that is not digits is absent. Pure functions only.
 */
import { observationsOf } from "../core/observations.ts";
import type { DeviceReading } from "../core/types.ts";
import { RS } from "./frames.ts";

export interface BpMeasurement {
  model: string;
  /** The monitor's clock, `20YY-MM-DDThh:mm:00` (no zone: the monitor has none). */
  time?: string;
  /** 0 when the measurement succeeded; the monitor's error code otherwise. */
  error: number;
  systolic?: number;
  mean?: number;
  diastolic?: number;
  pulseRate?: number;
}

const FIELD = { MODEL: 0, TIME: 1, ERROR: 4, SYSTOLIC: 5, MEAN: 6, DIASTOLIC: 7, PULSE: 8 } as const;
const FIELD_COUNT = 9;
/** Tags the simulator writes before each value (the parser skips whatever tag is there). */
const TAGS = { systolic: "S", mean: "M", diastolic: "D", pulseRate: "P" } as const;

/** The measurement in an RB text, or why the text is not one. */
export function parseMeasurement(text: string): { ok: true; measurement: BpMeasurement } | { ok: false; reason: string } {
  const fields = text.split(String.fromCharCode(RS)).map((field) => field.replaceAll(" ", ""));
  if (fields.length < FIELD_COUNT) return { ok: false, reason: `RB text with ${fields.length} fields, expected at least ${FIELD_COUNT}` };
  const field = (index: number) => fields[index] ?? "";
  const error = /^\d{1,3}$/.test(field(FIELD.ERROR)) ? Number(field(FIELD.ERROR)) : undefined;
  if (error === undefined) return { ok: false, reason: `RB error code "${field(FIELD.ERROR)}" is not a number` };
  const time = deviceTime(field(FIELD.TIME));
  const measurement: BpMeasurement = { model: field(FIELD.MODEL), error, ...(time !== undefined && { time }) };
  if (error !== 0) return { ok: true, measurement };
  const values = {
    systolic: taggedValue(field(FIELD.SYSTOLIC)),
    mean: taggedValue(field(FIELD.MEAN)),
    diastolic: taggedValue(field(FIELD.DIASTOLIC)),
    pulseRate: taggedValue(field(FIELD.PULSE)),
  };
  for (const [name, value] of Object.entries(values)) if (value !== undefined) Object.assign(measurement, { [name]: value });
  return { ok: true, measurement };
}

function taggedValue(field: string): number | undefined {
  const digits = /^[A-Za-z]?(\d{1,3})$/.exec(field)?.[1];
  return digits === undefined ? undefined : Number(digits);
}

function deviceTime(field: string): string | undefined {
  const parts = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(field);
  if (!parts) return undefined;
  const [, yy, mm, dd, hh, mi] = parts;
  const [month, day, hour, minute] = [mm, dd, hh, mi].map(Number);
  if (month === undefined || day === undefined || hour === undefined || minute === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return undefined;
  return `20${yy}-${mm}-${dd}T${hh}:${mi}:00`;
}

/** A measurement as a spot reading; a failed one carries no values and says so. */
export function readingFromMeasurement(measurement: BpMeasurement): DeviceReading {
  const time = measurement.time === undefined ? {} : { deviceTime: measurement.time };
  if (measurement.error !== 0) return { kind: "spot", observations: [], flags: ["measurement-failed"], ...time };
  const observations = observationsOf([
    ["systolic_bp", measurement.systolic],
    ["diastolic_bp", measurement.diastolic],
    ["mean_bp", measurement.mean],
    ["pulse_rate", measurement.pulseRate],
  ]);
  return { kind: "spot", observations, flags: [], ...time };
}

/** The RB text for a measurement, as the monitor writes it (the simulator's side). */
export function encodeMeasurement(measurement: BpMeasurement, serial: number): string {
  const value = (tag: string, value: number | undefined) => `${tag}${value === undefined ? "---" : String(value).padStart(3, "0")}`;
  const time = measurement.time === undefined ? "0000000000" : measurement.time.slice(2, 16).replaceAll(/[-T:]/g, "");
  return [
    measurement.model,
    time,
    String(serial % 10_000).padStart(4, "0"),
    "0",
    String(measurement.error).padStart(2, "0"),
    value(TAGS.systolic, measurement.systolic),
    value(TAGS.mean, measurement.mean),
    value(TAGS.diastolic, measurement.diastolic),
    value(TAGS.pulseRate, measurement.pulseRate),
    "C180",
    "A045",
  ].join(String.fromCharCode(RS));
}
