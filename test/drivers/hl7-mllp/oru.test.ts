/**
 * ORU^R01 observations to readings, from messages written here by hand after the IHE PCD-01
 * field layout: OBX-2 value type, -3 `code^REFERENCE_ID^MDC`, -4 sub-id, -5 value,
 * -6 `dimension code^MDC_DIM_…^MDC` (or UCUM), -8 abnormal flags, -11 status, -14 time.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hl7Decoder } from "../../../drivers/hl7-mllp/decoder.ts";
import { MDC_OBSERVATIONS } from "../../../drivers/hl7-mllp/mdc.ts";
import { wrapMllp } from "../../../drivers/hl7-mllp/mllp.ts";
import { MAX_DEVICE_NUMERICS } from "../../../drivers/hl7-mllp/oru.ts";
import { OBSERVATIONS, type Observation } from "../../../drivers/core/observations.ts";
import type { DecoderEvent } from "../../../drivers/core/types.ts";
import { readings } from "../../helpers/decoderEvents.ts";

const MSH = "MSH|^~\\&|MON^0000000000000001^EUI-64|ICU|THEA|CLINIC|20261123080006+0000||ORU^R01^ORU_R01|C1|P|2.6";
const obx = (n: number, code: string, value: string, unit: string, flags = "", status = "R") => `OBX|${n}|NM|${code}|1.0.1.${n}|${value}|${unit}||${flags}|||${status}`;

function decode(...segments: string[]): DecoderEvent[] {
  const message = [MSH, "OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20261123080006+0000", ...segments].join("\r");
  return hl7Decoder({ kind: "spot", now: () => new Date(0) }).push(wrapMllp(new TextEncoder().encode(message)));
}

function observations(...segments: string[]): Observation[] {
  return readings(decode(...segments)).flatMap((reading) => reading.observations);
}

const PERCENT = "262688^MDC_DIM_PERCENT^MDC";
const BPM = "264864^MDC_DIM_BEAT_PER_MIN^MDC";
const RPM = "264928^MDC_DIM_RESP_PER_MIN^MDC";
const MMHG = "266016^MDC_DIM_MMHG^MDC";
const DEGC = "268192^MDC_DIM_DEGC^MDC";

describe("ORU^R01 vital signs by MDC code", () => {
  it("maps what a multi-parameter monitor sends to observation types with UCUM units and LOINC codes", () => {
    const found = observations(
      obx(1, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "96", PERCENT),
      obx(2, "149530^MDC_PULS_OXIM_PULS_RATE^MDC", "71", BPM),
      obx(3, "147842^MDC_ECG_HEART_RATE^MDC", "70", BPM),
      obx(4, "151578^MDC_TTHOR_RESP_RATE^MDC", "18", RPM),
      obx(5, "151594^MDC_CO2_RESP_RATE^MDC", "17", RPM),
      obx(6, "151658^MDC_PULS_OXIM_PLETH_RESP_RATE^MDC", "16", RPM),
      obx(7, "151562^MDC_RESP_RATE^MDC", "15", RPM),
      obx(8, "150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "124", MMHG),
      obx(9, "150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "78", MMHG),
      obx(10, "150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "93", MMHG),
      obx(11, "151708^MDC_CONC_AWAY_CO2_ET^MDC", "38", MMHG),
    );
    expect(found.map((o) => [o.type, o.value, o.unit, "loinc" in o ? o.loinc : undefined])).toEqual([
      ["spo2", 96, "%", "59408-5"],
      ["pulse_rate", 71, "/min", "8889-8"],
      ["heart_rate", 70, "/min", "8867-4"],
      ["resp_rate_impedance", 18, "/min", "9279-1"],
      ["resp_rate_co2", 17, "/min", "9279-1"],
      ["resp_rate_pleth", 16, "/min", "9279-1"],
      ["resp_rate", 15, "/min", "9279-1"],
      ["systolic_bp", 124, "mm[Hg]", "8480-6"],
      ["diastolic_bp", 78, "mm[Hg]", "8462-4"],
      ["mean_bp", 93, "mm[Hg]", "8478-0"],
      ["etco2", 38, "mm[Hg]", "19891-1"],
    ]);
  });

  it("tells temperatures apart by site", () => {
    const found = observations(
      obx(1, "150364^MDC_TEMP_BODY^MDC", "36.9", DEGC),
      obx(2, "150368^MDC_TEMP_CORE^MDC", "37.2", DEGC),
      obx(3, "188424^MDC_TEMP_ORAL^MDC", "36.8", DEGC),
      obx(4, "188452^MDC_TEMP_AXILLA^MDC", "36.4", DEGC),
      obx(5, "188420^MDC_TEMP_RECT^MDC", "37.4", DEGC),
      obx(6, "150392^MDC_TEMP_TYMP^MDC", "37.0", DEGC),
      obx(7, "150388^MDC_TEMP_SKIN^MDC", "33.1", DEGC),
    );
    expect(found.map((o) => [o.type, o.value, "loinc" in o ? o.loinc : undefined])).toEqual([
      ["body_temperature", 36.9, "8310-5"],
      ["core_temperature", 37.2, "8329-5"],
      ["oral_temperature", 36.8, "8331-1"],
      ["axillary_temperature", 36.4, "8328-7"],
      ["rectal_temperature", 37.4, "8332-9"],
      ["tympanic_temperature", 37, "8333-7"],
      ["skin_temperature", 33.1, undefined],
    ]);
  });

  it("converts kPa, °F and pounds, whether the unit is an MDC dimension code, its reference id or UCUM", () => {
    const found = observations(
      obx(1, "151708^MDC_CONC_AWAY_CO2_ET^MDC", "5.1", "265987^MDC_DIM_KILO_PASCAL^MDC"),
      obx(2, "188424^MDC_TEMP_ORAL^MDC", "98.6", "^MDC_DIM_FAHR^MDC"),
      obx(3, "188736^MDC_MASS_BODY_ACTUAL^MDC", "154", "[lb_av]^[lb_av]^UCUM"),
      obx(4, "150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "16", "kPa^kPa^UCUM"),
    );
    expect(found.map((o) => `${o.type}=${o.value}${o.unit}`)).toEqual(["etco2=38.3mm[Hg]", "oral_temperature=37Cel", "body_weight=69.9kg", "systolic_bp=120mm[Hg]"]);
  });

  it("finds the MDC code by its reference id alone, or as the alternate identifier after a local code", () => {
    const found = observations(obx(1, "^MDC_TTHOR_RESP_RATE^MDC", "19", RPM), obx(2, "RR-IMP^Resp imp^99LOCAL^151578^MDC_TTHOR_RESP_RATE^MDC", "20", RPM));
    expect(found.map((o) => [o.type, o.value])).toEqual([
      ["resp_rate_impedance", 19],
      ["resp_rate_impedance", 20],
    ]);
  });
});

describe("ORU^R01 numbers the table does not know", () => {
  it("publishes a code not in the table with its code and its unit in UCUM", () => {
    // 151728 is not in the table (its reference id could not be confirmed); a vendor's local code neither.
    const found = observations(obx(1, "151728^MDC_AWAY_CO2_ET^MDC", "36", MMHG), obx(2, "478^MNDRY_PULS_OXIM_PLETH_VAR_INDEX^99MNDRY", "14", PERCENT));
    expect(found).toEqual([
      { type: "device_numeric", value: 36, unit: "mm[Hg]", code: "151728", codeName: "MDC_AWAY_CO2_ET", codeSystem: "MDC" },
      { type: "device_numeric", value: 14, unit: "%", code: "478", codeName: "MNDRY_PULS_OXIM_PLETH_VAR_INDEX", codeSystem: "99MNDRY" },
    ]);
  });

  it("publishes a known code in a unit it cannot convert (EtCO2 in %, or no unit) as sent", () => {
    const found = observations(obx(1, "151708^MDC_CONC_AWAY_CO2_ET^MDC", "5.0", PERCENT), obx(2, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", ""), obx(3, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", "999^MDC_DIM_STRANGE^MDC"));
    expect(found).toEqual([
      { type: "device_numeric", value: 5, unit: "%", code: "151708", codeName: "MDC_CONC_AWAY_CO2_ET", codeSystem: "MDC" },
      { type: "device_numeric", value: 97, unit: "", code: "150456", codeName: "MDC_PULS_OXIM_SAT_O2", codeSystem: "MDC" },
      { type: "device_numeric", value: 97, unit: "MDC_DIM_STRANGE", code: "150456", codeName: "MDC_PULS_OXIM_SAT_O2", codeSystem: "MDC" },
    ]);
  });

  it("does not take a local code that happens to equal an MDC code for that MDC code", () => {
    expect(observations(obx(1, "150456^Cuff pressure^99LOCAL", "120", MMHG))).toEqual([{ type: "device_numeric", value: 120, unit: "mm[Hg]", code: "150456", codeName: "Cuff pressure", codeSystem: "99LOCAL" }]);
  });

  it("carries at most 64 unknown numbers a message and counts the rest as discarded, still answering AA", () => {
    const segments = Array.from({ length: MAX_DEVICE_NUMERICS + 6 }, (_, i) => obx(i + 1, `${900000 + i}^MDC_X${i}^MDC`, String(i), PERCENT));
    const events = decode(...segments, obx(99, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "95", PERCENT));
    const [reading] = readings(events);
    expect(reading?.observations.filter((o) => o.type === "device_numeric")).toHaveLength(MAX_DEVICE_NUMERICS);
    expect(reading?.observations.at(-1)).toMatchObject({ type: "spo2", value: 95 });
    expect(events.filter((event) => event.type === "discarded")).toEqual([{ type: "discarded", bytes: 0, reason: expect.stringContaining("6 numeric OBX") }]);
    expect(events.at(-1)?.type).toBe("reply");
  });

  it("still leaves out values outside a known observation's range, results not obtained, and text", () => {
    const found = observations(
      obx(1, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "140", PERCENT),
      obx(2, "149530^MDC_PULS_OXIM_PULS_RATE^MDC", "70", BPM, "", "X"),
      obx(3, "999001^MDC_SOMETHING^MDC", "n/a", PERCENT),
      obx(4, "999002^MDC_SOMETHING_ELSE^MDC", "", PERCENT),
    );
    expect(found).toEqual([]);
  });
});

/** OBX text the way a fuzzer would write it: anything but the HL7 delimiters and line ends. */
const hl7Text = fc.string({ maxLength: 80 }).map((text) => text.replace(/[|^~\\&\r\n]/g, ""));
const number = fc.oneof(fc.integer({ min: -1000, max: 100_000 }).map(String), fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((n) => n.toFixed(2)));
const knownCodes = Object.entries(MDC_OBSERVATIONS).map(([code, entry]) => `${code}^${entry.refId}^MDC`);
const unknownCode = fc.tuple(fc.integer({ min: 0, max: 9_999_999 }), hl7Text, fc.constantFrom("MDC", "", "99LOCAL")).filter(([code, , system]) => !(String(code) in MDC_OBSERVATIONS) || system === "99LOCAL");
const unit = fc.constantFrom(PERCENT, BPM, RPM, MMHG, DEGC, "266560^MDC_DIM_FAHR^MDC", "265987^MDC_DIM_KILO_PASCAL^MDC", "", "kg^kg^UCUM", "mystery");

describe("ORU^R01 decoding, fuzzed", () => {
  it("never throws, answers every message, and publishes every number with an unknown code exactly once", () => {
    const obxSegment = fc.oneof(
      fc.record({ known: fc.constant(true), code: fc.constantFrom(...knownCodes), value: fc.oneof(number, hl7Text), unit, status: fc.constantFrom("R", "F", "X", "D", "") }),
      fc.record({ known: fc.constant(false), code: unknownCode.map(([code, name, system]) => `${code}^${name}^${system}`), value: number, unit, status: fc.constantFrom("R", "F", "") }),
    );
    fc.assert(
      fc.property(fc.array(obxSegment, { maxLength: 40 }), fc.array(hl7Text, { maxLength: 3 }), (segments, junk) => {
        const events = decode(...segments.map((s, i) => obx(i + 1, s.code, s.value, s.unit, "", s.status)), ...junk);
        expect(events.filter((event) => event.type === "reply")).toHaveLength(1);
        const published = readings(events).flatMap((reading) => reading.observations);
        // Identified by code, name (published up to 64 characters) and coding system.
        const unknown = new Set(segments.filter((s) => !s.known).map((s) => s.code.split("^").map((part) => part.slice(0, 64)).join("^")));
        const unknownCount = segments.filter((s) => !s.known).length;
        expect(published.filter((o) => o.type === "device_numeric" && unknown.has(`${o.code}^${o.codeName ?? ""}^${o.codeSystem ?? ""}`))).toHaveLength(unknownCount);
        for (const o of published) {
          if (o.type === "device_numeric") continue;
          const spec = OBSERVATIONS[o.type];
          expect(o.unit).toBe(spec.unit);
          expect(o.value).toBeGreaterThanOrEqual(spec.min);
          expect(o.value).toBeLessThanOrEqual(spec.max);
        }
      }),
      { numRuns: 300 },
    );
  });
});
