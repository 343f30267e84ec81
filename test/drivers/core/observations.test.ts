/**
 * The observation catalogue: what every decoder publishes through. A value outside the possible
 * range never becomes an observation; each carries its type's one unit and LOINC code.
 */
import { describe, expect, it } from "vitest";
import { observation, observationsOf, OBSERVATIONS, type ObservationSpec, type ObservationType } from "../../../drivers/core/observations.ts";

const types = Object.keys(OBSERVATIONS) as ObservationType[];

describe("observation", () => {
  it("takes a value within its type's range, bounds included, with the type's unit and LOINC code", () => {
    expect(observation("spo2", 97)).toEqual({ type: "spo2", value: 97, unit: "%", loinc: "59408-5" });
    expect(observation("body_temperature", 20)).toMatchObject({ value: 20, unit: "Cel" });
    expect(observation("body_temperature", 45)).toMatchObject({ value: 45, unit: "Cel" });
  });

  it("leaves out a value outside the range, or one that is not a finite number", () => {
    expect(observation("spo2", 100.1)).toBeUndefined();
    expect(observation("pulse_rate", -1)).toBeUndefined();
    expect(observation("body_temperature", 19.9)).toBeUndefined();
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(observation("pulse_rate", value)).toBeUndefined();
  });

  it("carries no LOINC key for a type LOINC has no confirmed code for", () => {
    const uncoded = types.find((type) => (OBSERVATIONS[type] as ObservationSpec).loinc === undefined);
    expect(uncoded).toBeDefined();
    if (uncoded === undefined) return;
    const spec: ObservationSpec = OBSERVATIONS[uncoded];
    expect(observation(uncoded, spec.min)).toEqual({ type: uncoded, value: spec.min, unit: spec.unit });
  });
});

describe("observationsOf", () => {
  it("keeps the values a device reported in order, and leaves out absent and impossible ones", () => {
    expect(observationsOf([["spo2", 98], ["pulse_rate", undefined], ["perfusion_index", 250], ["pulse_rate", 72]])).toEqual([
      { type: "spo2", value: 98, unit: "%", loinc: "59408-5" },
      { type: "pulse_rate", value: 72, unit: "/min", loinc: "8889-8" },
    ]);
  });
});

describe("the catalogue", () => {
  it("gives every type a range that holds values", () => {
    for (const type of types) {
      const spec: ObservationSpec = OBSERVATIONS[type];
      expect(spec.min, type).toBeLessThan(spec.max);
    }
  });
});
