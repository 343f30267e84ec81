/**
 * The ISO/IEEE 11073-10101 (MDC) codes vitals monitors send in an IHE PCD-01 ORU^R01: OBX-3
 * `code^REFERENCE_ID^MDC` names the observation, OBX-6 its unit as an MDC dimension code.
 *
 * An MDC code is partition × 65536 + term code: observations are partition 2 (131072 + term;
 * 150456 is term 19384), units partition 4, MDC_PART_DIM (262144 + term; 262688 is term 544).
 * No code here is from memory; each was checked against a public source (docs/drivers.md):
 *   [dk]  HL7 Denmark, DK Core IG, ValueSet dk-core-IEEEBasicObservation
 *         (github.com/hl7dk/dk-core, input/fsh/valueSets.fsh): code, reference id, definition.
 *   [mii] Medizininformatik-Initiative, ICU module profiles, which bind MDC, LOINC and unit
 *         (github.com/medizininformatik-initiative/kerndatensatzmodul-intensivmedizin,
 *         ressourcen-profile/fsh/input/fsh/profiles/SD_MII_ICU_*.fsh).
 *   [dim] MDC_PART_DIM term codes as the IntelliVue Data Export nomenclature lists them (its
 *         NOM_DIM_* are the 10101 dimension terms; github.com/Koshsky/Intellivue-api,
 *         pkg/intellivue/base/unitCodes.go), e.g. NOM_DIM_KILO_PASCAL 3843 → 265987.
 *   [pcd] only seen in public PCD-01 sample messages, no nomenclature table at hand; kept from
 *         this driver's first table, where monitors were already sending them.
 * Codes we could not confirm (MDC_AWAY_CO2_ET, MDC_TEMP_EAR, esophageal and nasopharyngeal
 * temperatures, …) are left out: a monitor that sends them is still published, as device_numeric.
 */
import type { ObservationType, Unit } from "../core/observations.ts";

export interface MdcObservation {
  refId: string;
  type: ObservationType;
}

/** OBX-3 MDC code → observation type. */
export const MDC_OBSERVATIONS: Readonly<Record<string, MdcObservation>> = {
  "150456": { refId: "MDC_PULS_OXIM_SAT_O2", type: "spo2" }, // [dk]
  "149530": { refId: "MDC_PULS_OXIM_PULS_RATE", type: "pulse_rate" }, // [dk] pulse from the oximeter
  "150488": { refId: "MDC_BLD_PERF_INDEX", type: "perfusion_index" }, // [pcd]
  "147842": { refId: "MDC_ECG_HEART_RATE", type: "heart_rate" }, // [dk] rate from the ECG
  "151562": { refId: "MDC_RESP_RATE", type: "resp_rate" }, // [dk] method not specified
  "151578": { refId: "MDC_TTHOR_RESP_RATE", type: "resp_rate_impedance" }, // [dk] transthoracic impedance
  "151594": { refId: "MDC_CO2_RESP_RATE", type: "resp_rate_co2" }, // [dk] capnography
  "151658": { refId: "MDC_PULS_OXIM_PLETH_RESP_RATE", type: "resp_rate_pleth" }, // [dk] SpO2 plethysmogram
  "150021": { refId: "MDC_PRESS_BLD_NONINV_SYS", type: "systolic_bp" }, // [dk]
  "150022": { refId: "MDC_PRESS_BLD_NONINV_DIA", type: "diastolic_bp" }, // [dk]
  "150023": { refId: "MDC_PRESS_BLD_NONINV_MEAN", type: "mean_bp" }, // [dk]
  "151708": { refId: "MDC_CONC_AWAY_CO2_ET", type: "etco2" }, // [mii] end-tidal CO2, bound to mm[Hg]
  "150344": { refId: "MDC_TEMP", type: "body_temperature" }, // [pcd] site unspecified
  "150364": { refId: "MDC_TEMP_BODY", type: "body_temperature" }, // [dk] site unspecified
  "150368": { refId: "MDC_TEMP_CORE", type: "core_temperature" }, // [dk] [mii]
  "188424": { refId: "MDC_TEMP_ORAL", type: "oral_temperature" }, // [dk] [mii]
  "188452": { refId: "MDC_TEMP_AXILLA", type: "axillary_temperature" }, // [dk]
  "188420": { refId: "MDC_TEMP_RECT", type: "rectal_temperature" }, // [dk] [mii]
  "150392": { refId: "MDC_TEMP_TYMP", type: "tympanic_temperature" }, // [dk]
  "150388": { refId: "MDC_TEMP_SKIN", type: "skin_temperature" }, // [dk]
  "188736": { refId: "MDC_MASS_BODY_ACTUAL", type: "body_weight" }, // [dk]
};

const BY_REF_ID: ReadonlyMap<string, string> = new Map(Object.entries(MDC_OBSERVATIONS).map(([code, entry]) => [entry.refId, code]));

/** The table's code for an OBX-3 code or, when the code is missing, its reference id. */
export function mdcCode(code: string, refId: string): string | undefined {
  if (code !== "") return Object.hasOwn(MDC_OBSERVATIONS, code) ? code : undefined;
  return BY_REF_ID.get(refId);
}

export interface DeviceUnit {
  /** The unit in UCUM, as published for device_numeric observations. */
  ucum: string;
  /** The catalogue unit it converts to, and how. */
  to: Unit;
  convert(value: number): number;
}

const same = (value: number) => value;
const tenths = (value: number) => Math.round(value * 10) / 10;

const PERCENT: DeviceUnit = { ucum: "%", to: "%", convert: same };
const BEATS: DeviceUnit = { ucum: "{beat}/min", to: "/min", convert: same };
const BREATHS: DeviceUnit = { ucum: "{breath}/min", to: "/min", convert: same };
const PER_MIN: DeviceUnit = { ucum: "/min", to: "/min", convert: same };
const MMHG: DeviceUnit = { ucum: "mm[Hg]", to: "mm[Hg]", convert: same };
// 1 kPa = 1000 / 133.322387415 mmHg (the conventional millimetre of mercury, 133.322387415 Pa).
const KPA: DeviceUnit = { ucum: "kPa", to: "mm[Hg]", convert: (v) => tenths((v * 1000) / 133.322387415) };
const CELSIUS: DeviceUnit = { ucum: "Cel", to: "Cel", convert: same };
const FAHRENHEIT: DeviceUnit = { ucum: "[degF]", to: "Cel", convert: (v) => tenths(((v - 32) * 5) / 9) };
const KG: DeviceUnit = { ucum: "kg", to: "kg", convert: same };
// The avoirdupois pound is exactly 0.45359237 kg.
const POUND: DeviceUnit = { ucum: "[lb_av]", to: "kg", convert: (v) => tenths(v * 0.45359237) };

/** OBX-6 units, by MDC dimension code, MDC reference id or UCUM code. */
export const DEVICE_UNITS: Readonly<Record<string, DeviceUnit>> = {
  "262688": PERCENT, // MDC_DIM_PERCENT, term 544 [dim]
  MDC_DIM_PERCENT: PERCENT,
  "%": PERCENT,
  "264864": BEATS, // MDC_DIM_BEAT_PER_MIN, term 2720 [dim]
  MDC_DIM_BEAT_PER_MIN: BEATS,
  "{beat}/min": BEATS,
  "264928": BREATHS, // MDC_DIM_RESP_PER_MIN, term 2784 [dim]
  MDC_DIM_RESP_PER_MIN: BREATHS,
  "{breath}/min": BREATHS,
  "264672": PER_MIN, // MDC_DIM_PER_MIN, term 2528 [dim]
  "/min": PER_MIN,
  "266016": MMHG, // MDC_DIM_MMHG, term 3872 [dim]
  MDC_DIM_MMHG: MMHG,
  "mm[Hg]": MMHG,
  "265987": KPA, // MDC_DIM_KILO_PASCAL, term 3843 [dim]
  MDC_DIM_KILO_PASCAL: KPA,
  kPa: KPA,
  "268192": CELSIUS, // MDC_DIM_DEGC, term 6048 [dim]
  MDC_DIM_DEGC: CELSIUS,
  Cel: CELSIUS,
  "266560": FAHRENHEIT, // MDC_DIM_FAHR, term 4416 [dim]
  MDC_DIM_FAHR: FAHRENHEIT,
  "[degF]": FAHRENHEIT,
  "263875": KG, // MDC_DIM_KILO_G, term 1731 [dim]
  MDC_DIM_KILO_G: KG,
  kg: KG,
  "263904": POUND, // term 1760, NOM_DIM_X_LB [dim]
  "[lb_av]": POUND,
};

export function deviceUnit(code: string, name: string): DeviceUnit | undefined {
  if (Object.hasOwn(DEVICE_UNITS, code)) return DEVICE_UNITS[code];
  return Object.hasOwn(DEVICE_UNITS, name) ? DEVICE_UNITS[name] : undefined;
}
