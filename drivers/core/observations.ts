/**
 * The observation catalogue: every reading's `type` maps to one UCUM unit, one LOINC code and
 * the physiologically possible range. Decoders never publish a value outside it. The one
 * exception is `device_numeric`: a device's own code for something the catalogue lacks.
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
  // Respiration rate by method. LOINC has one code for any method (9279-1, the one the FHIR
  // vital-signs profile requires); we found no method-specific code to confirm, so all carry it.
  resp_rate_impedance: { unit: "/min", loinc: "9279-1", min: 0, max: 150 },
  resp_rate_co2: { unit: "/min", loinc: "9279-1", min: 0, max: 150 },
  resp_rate_pleth: { unit: "/min", loinc: "9279-1", min: 0, max: 150 },
  // End-tidal CO2 as a partial pressure. 19891-1 is the code the German MII ICU module binds to
  // MDC 151708 in mm[Hg] (its profile SD_MII_ICU_Endexpiratorischer_Kohlendioxidpartialdruck).
  etco2: { unit: "mm[Hg]", loinc: "19891-1", min: 0, max: 150 },
  // Temperatures by site (body_temperature is "site not stated"). LOINC codes as the MII ICU
  // module's temperature profiles bind them; skin temperature has none we could confirm.
  core_temperature: { unit: "Cel", loinc: "8329-5", min: 20, max: 45 },
  oral_temperature: { unit: "Cel", loinc: "8331-1", min: 20, max: 45 },
  axillary_temperature: { unit: "Cel", loinc: "8328-7", min: 20, max: 45 },
  rectal_temperature: { unit: "Cel", loinc: "8332-9", min: 20, max: 45 },
  tympanic_temperature: { unit: "Cel", loinc: "8333-7", min: 20, max: 45 },
  skin_temperature: { unit: "Cel", min: 10, max: 45 },
  // A meter reports in mass or in molar concentration; each has its own LOINC code, so neither is
  // converted into the other (that would need glucose's molar mass and lose the device's precision).
  glucose: { unit: "mg/dL", loinc: "2339-0", min: 0, max: 2000 },
  glucose_molar: { unit: "mmol/L", loinc: "15074-8", min: 0, max: 111 },
} as const satisfies Record<string, ObservationSpec>;

export type ObservationType = keyof typeof OBSERVATIONS;

/** An observation with its unit and code, or undefined when the value is outside the range. */
export function observation(type: ObservationType, value: number): TypedObservation | undefined {
  const spec: ObservationSpec = OBSERVATIONS[type];
  if (!Number.isFinite(value) || value < spec.min || value > spec.max) return undefined;
  return spec.loinc === undefined ? { type, value, unit: spec.unit } : { type, value, unit: spec.unit, loinc: spec.loinc };
}

/** An observation of a catalogue type. */
export interface TypedObservation {
  type: ObservationType;
  value: number;
  unit: Unit;
  loinc?: string;
}

/**
 * A number the device reported under a code the catalogue has no type for (an HL7 monitor's MDC
 * code not in our table, or one in a unit we cannot convert): published as the device sent it,
 * never dropped, and counted by the agent. No range applies; the reader decides what it is.
 */
export const DEVICE_NUMERIC = "device_numeric";

export interface DeviceNumericObservation {
  type: typeof DEVICE_NUMERIC;
  value: number;
  /** UCUM when the device's unit is one we know, else the unit as the device sent it ("" for none). */
  unit: string;
  /** The device's code for the observation (HL7 OBX-3: MDC numeric code, reference id, coding system). */
  code: string;
  codeName?: string;
  codeSystem?: string;
}

export type Observation = TypedObservation | DeviceNumericObservation;

/** Observations for the values a device reported; undefined (absent) and impossible values are left out. */
export function observationsOf(values: ReadonlyArray<readonly [ObservationType, number | undefined]>): TypedObservation[] {
  return values.flatMap(([type, value]) => {
    const found = value === undefined ? undefined : observation(type, value);
    return found ? [found] : [];
  });
}
