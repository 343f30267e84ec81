/**
 * The observation catalogue: every reading's `type` maps to one UCUM unit, one LOINC code and
 * the physiologically possible range. Decoders never publish a value outside it.
 */
export type Unit = "%" | "/min" | "mm[Hg]" | "Cel" | "kg" | "mg/dL" | "mmol/L";

export interface ObservationSpec {
  unit: Unit;
  /** LOINC code of the observation (loinc.org); absent where LOINC has none we could confirm. */
  loinc?: string;
  min: number;
  max: number;
}

export const OBSERVATIONS = {
  spo2: { unit: "%", loinc: "59408-5", min: 0, max: 100 },
  pulse_rate: { unit: "/min", loinc: "8889-8", min: 0, max: 350 },
  perfusion_index: { unit: "%", loinc: "61006-3", min: 0, max: 100 },
  pleth_variability_index: { unit: "%", min: 0, max: 100 },
  resp_rate: { unit: "/min", loinc: "9279-1", min: 0, max: 150 },
  systolic_bp: { unit: "mm[Hg]", loinc: "8480-6", min: 0, max: 350 },
  diastolic_bp: { unit: "mm[Hg]", loinc: "8462-4", min: 0, max: 300 },
  mean_bp: { unit: "mm[Hg]", loinc: "8478-0", min: 0, max: 300 },
  body_temperature: { unit: "Cel", loinc: "8310-5", min: 20, max: 45 },
  body_weight: { unit: "kg", loinc: "29463-7", min: 0, max: 500 },
  heart_rate: { unit: "/min", loinc: "8867-4", min: 0, max: 350 },
  // A meter reports in mass or in molar concentration; each has its own LOINC code, so neither is
  // converted into the other (that would need glucose's molar mass and lose the device's precision).
  glucose: { unit: "mg/dL", loinc: "2339-0", min: 0, max: 2000 },
  glucose_molar: { unit: "mmol/L", loinc: "15074-8", min: 0, max: 111 },
} as const satisfies Record<string, ObservationSpec>;

export type ObservationType = keyof typeof OBSERVATIONS;

/** An observation with its unit and code, or undefined when the value is outside the range. */
export function observation(type: ObservationType, value: number): Observation | undefined {
  const spec: ObservationSpec = OBSERVATIONS[type];
  if (!Number.isFinite(value) || value < spec.min || value > spec.max) return undefined;
  return spec.loinc === undefined ? { type, value, unit: spec.unit } : { type, value, unit: spec.unit, loinc: spec.loinc };
}

export interface Observation {
  type: ObservationType;
  value: number;
  unit: Unit;
  loinc?: string;
}

/** Observations for the values a device reported; undefined (absent) and impossible values are left out. */
export function observationsOf(values: ReadonlyArray<readonly [ObservationType, number | undefined]>): Observation[] {
  return values.flatMap(([type, value]) => {
    const found = value === undefined ? undefined : observation(type, value);
    return found ? [found] : [];
  });
}
