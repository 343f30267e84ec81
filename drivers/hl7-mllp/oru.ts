/**
 * IHE PCD-01 observation reports (HL7 v2 ORU^R01) to readings. Observations are identified by
 * their ISO/IEEE 11073 MDC code in OBX-3 and their unit in OBX-6 (MDC or UCUM); values in other
 * units are converted, unknown observations are left out.
 */
import { observationsOf, type ObservationType } from "../observations.ts";
import type { DeviceReading, ReadingKind } from "../types.ts";
import { isoFromHl7, type Hl7Message, type Segment } from "./hl7.ts";

/** MDC codes (ISO/IEEE 11073-10101 nomenclature) and the observation each is. */
export const MDC_OBSERVATIONS: Readonly<Record<string, ObservationType>> = {
  "150456": "spo2", // MDC_PULS_OXIM_SAT_O2
  "149530": "pulse_rate", // MDC_PULS_OXIM_PULS_RATE
  "150488": "perfusion_index", // MDC_BLD_PERF_INDEX
  "147842": "heart_rate", // MDC_ECG_HEART_RATE
  "151562": "resp_rate", // MDC_RESP_RATE
  "150021": "systolic_bp", // MDC_PRESS_BLD_NONINV_SYS
  "150022": "diastolic_bp", // MDC_PRESS_BLD_NONINV_DIA
  "150023": "mean_bp", // MDC_PRESS_BLD_NONINV_MEAN
  "150364": "body_temperature", // MDC_TEMP_BODY
  "150344": "body_temperature", // MDC_TEMP
  "188736": "body_weight", // MDC_MASS_BODY_ACTUAL
};

/** Units as monitors send them (MDC dimension codes and names, UCUM), to ours. */
const UNITS: Readonly<Record<string, (value: number) => number>> = {
  "262688": (v) => v, // MDC_DIM_PERCENT
  "%": (v) => v,
  "264864": (v) => v, // MDC_DIM_BEAT_PER_MIN
  "264928": (v) => v, // MDC_DIM_RESP_PER_MIN
  "/min": (v) => v,
  "{beat}/min": (v) => v,
  "{breath}/min": (v) => v,
  "266016": (v) => v, // MDC_DIM_MMHG
  "mm[Hg]": (v) => v,
  "268192": (v) => v, // MDC_DIM_DEGC
  Cel: (v) => v,
  "266560": (v) => Math.round(((v - 32) * 5) / 9 * 10) / 10, // MDC_DIM_FAHR
  "[degF]": (v) => Math.round(((v - 32) * 5) / 9 * 10) / 10,
  "263875": (v) => v, // MDC_DIM_KILO_G
  kg: (v) => v,
};

const DEMO = "DEMO";

export interface OruReadings {
  /** Patient observations (at most one reading per message). */
  patient: DeviceReading | undefined;
  /** Observations the device marked DEMO (OBX-8): flagged, never published as patient data. */
  demo: DeviceReading | undefined;
}

export function readingsFromOru(message: Hl7Message, kind: ReadingKind): OruReadings {
  const obr = message.segments.find((segment) => segment.id === "OBR");
  const reportTime = obr ? isoFromHl7(obr.field(7)) : undefined;
  const patient: Array<readonly [ObservationType, number | undefined]> = [];
  const demo: Array<readonly [ObservationType, number | undefined]> = [];
  let observedAt: string | undefined;
  for (const obx of message.segments.filter((segment) => segment.id === "OBX")) {
    const value = observationValue(obx);
    if (!value) continue;
    (isDemo(obx) ? demo : patient).push(value);
    observedAt ??= isoFromHl7(obx.field(14));
  }
  // Observation time (OBX-14), else the report's (OBR-7), else when the message was made (MSH-7).
  const deviceTime = observedAt ?? reportTime ?? isoFromHl7(message.msh(7));
  const reading = (values: typeof patient, flags: DeviceReading["flags"]): DeviceReading | undefined => {
    const observations = observationsOf(values);
    if (observations.length === 0) return undefined;
    return deviceTime === undefined ? { kind, observations, flags } : { kind, observations, flags, deviceTime };
  };
  return { patient: reading(patient, []), demo: reading(demo, ["demo-data"]) };
}

function observationValue(obx: Segment): readonly [ObservationType, number] | undefined {
  const type = MDC_OBSERVATIONS[obx.component(3, 1)];
  const status = obx.field(11);
  // X: result cannot be obtained; D: deleted. Anything else with a number is a value.
  if (!type || status === "X" || status === "D") return undefined;
  const raw = obx.field(5).trim();
  if (!/^[+-]?\d+(\.\d+)?$/.test(raw)) return undefined;
  const convert = UNITS[obx.component(6, 1)] ?? UNITS[obx.component(6, 2)];
  return convert ? [type, convert(Number(raw))] : undefined;
}

function isDemo(obx: Segment): boolean {
  return obx
    .field(8)
    .split("~")
    .some((flag) => flag.trim().toUpperCase() === DEMO);
}
