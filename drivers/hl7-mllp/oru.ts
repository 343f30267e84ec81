/**
 * IHE PCD-01 observation reports (HL7 v2 ORU^R01) to readings. Observations are identified by
 * their ISO/IEEE 11073 MDC code in OBX-3 and their unit in OBX-6 (MDC or UCUM); values in other
 * units are converted. A number whose code is not in the table (mdc.ts), or whose unit we cannot
 * convert, is published as the device sent it (`device_numeric`), never dropped.
 */
import { DEVICE_NUMERIC, observation, OBSERVATIONS, type DeviceNumericObservation, type Observation } from "../core/observations.ts";
import type { DeviceReading, ReadingKind } from "../core/types.ts";
import { isoFromHl7, type Hl7Message, type Segment } from "./hl7.ts";
import { deviceUnit, MDC_OBSERVATIONS, mdcCode } from "./mdc.ts";

const DEMO = "DEMO";
/** device_numeric observations one message may carry; the rest are counted as discarded. */
export const MAX_DEVICE_NUMERICS = 64;
/** Longest code, name or unit text published from a device_numeric OBX. */
const MAX_TEXT = 64;

export interface OruReadings {
  /** Patient observations (at most one reading per message). */
  patient: DeviceReading | undefined;
  /** Observations the device marked DEMO (OBX-8): flagged, never published as patient data. */
  demo: DeviceReading | undefined;
  /** device_numeric observations beyond MAX_DEVICE_NUMERICS, left out of the readings. */
  overflow: number;
}

export function readingsFromOru(message: Hl7Message, kind: ReadingKind): OruReadings {
  const obr = message.segments.find((segment) => segment.id === "OBR");
  const reportTime = obr ? isoFromHl7(obr.field(7)) : undefined;
  const patient: Observation[] = [];
  const demo: Observation[] = [];
  let numerics = 0;
  let overflow = 0;
  let observedAt: string | undefined;
  for (const obx of message.segments.filter((segment) => segment.id === "OBX")) {
    const found = obxObservation(obx);
    if (!found) continue;
    if (found.type === DEVICE_NUMERIC && ++numerics > MAX_DEVICE_NUMERICS) {
      overflow += 1;
      continue;
    }
    (isDemo(obx) ? demo : patient).push(found);
    observedAt ??= isoFromHl7(obx.field(14));
  }
  // Observation time (OBX-14), else the report's (OBR-7), else when the message was made (MSH-7).
  const deviceTime = observedAt ?? reportTime ?? isoFromHl7(message.msh(7));
  const reading = (observations: Observation[], flags: DeviceReading["flags"]): DeviceReading | undefined => {
    if (observations.length === 0) return undefined;
    return deviceTime === undefined ? { kind, observations, flags } : { kind, observations, flags, deviceTime };
  };
  return { patient: reading(patient, []), demo: reading(demo, ["demo-data"]), overflow };
}

/**
 * The OBX's observation: a catalogue one when its code is in the table and its unit converts,
 * else the number as sent. Undefined for an OBX without a number, whose result could not be
 * obtained, or whose value is outside the catalogue's range.
 */
function obxObservation(obx: Segment): Observation | undefined {
  const status = obx.field(11);
  // X: result cannot be obtained; D: deleted. Anything else with a number is a value.
  if (status === "X" || status === "D") return undefined;
  const raw = obx.field(5).trim();
  if (!/^[+-]?\d+(\.\d+)?$/.test(raw)) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) return undefined;
  const id = observationId(obx);
  const unit = deviceUnit(obx.component(6, 1), obx.component(6, 2));
  const known = id.system === "MDC" || id.system === "" ? mdcCode(id.code, id.name) : undefined;
  const type = known === undefined ? undefined : MDC_OBSERVATIONS[known]?.type;
  // Out of the catalogue's range: left out, as every driver does with an impossible value.
  if (type && unit?.to === OBSERVATIONS[type].unit) return observation(type, unit.convert(value));
  // EtCO2 in % (needs the barometric pressure), or no unit at all: as sent.
  return deviceNumeric(id, value, unit?.ucum ?? (obx.component(6, 2) || obx.component(6, 1)));
}

interface ObservationId {
  code: string;
  name: string;
  system: string;
}

/** OBX-3 (CWE): the MDC triplet, which PCD-01 puts first; a local code may come first and MDC second. */
function observationId(obx: Segment): ObservationId {
  const first = { code: obx.component(3, 1), name: obx.component(3, 2), system: obx.component(3, 3) };
  if (first.system !== "MDC" && obx.component(3, 6) === "MDC") return { code: obx.component(3, 4), name: obx.component(3, 5), system: "MDC" };
  return first;
}

function deviceNumeric(id: ObservationId, value: number, unit: string): DeviceNumericObservation {
  const text = (s: string) => s.slice(0, MAX_TEXT);
  return {
    type: DEVICE_NUMERIC,
    value,
    unit: text(unit),
    code: text(id.code || id.name),
    ...(id.name && { codeName: text(id.name) }),
    ...(id.system && { codeSystem: text(id.system) }),
  };
}

function isDemo(obx: Segment): boolean {
  return obx
    .field(8)
    .split("~")
    .some((flag) => flag.trim().toUpperCase() === DEMO);
}
