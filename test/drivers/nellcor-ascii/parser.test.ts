import { describe, expect, it } from "vitest";
import { parseNellcorLine } from "../../../drivers/nellcor-ascii/parser.ts";

describe("Nellcor N-5xx trend lines", () => {
  it("reads SpO2 and pulse rate with the monitor's time", () => {
    expect(parseNellcorLine("15-Jan-24 14:30:00    97     72   45")).toEqual({
      type: "reading",
      reading: {
        kind: "continuous",
        deviceTime: "2024-01-15T14:30:00",
        flags: [],
        observations: [
          { type: "spo2", value: 97, unit: "%", loinc: "59408-5" },
          { type: "pulse_rate", value: 72, unit: "/min", loinc: "8889-8" },
        ],
      },
    });
  });

  it("flags a starred value as in alarm and maps status codes", () => {
    const outcome = parseNellcorLine("15-Jan-24 14:30:02    84*    72   45    SL LB");
    expect(outcome.type === "reading" && outcome.reading.flags).toEqual(["in-alarm", "low-battery"]);
    expect(outcome.type === "reading" && outcome.reading.observations[0]?.value).toBe(84);
  });

  it("leaves out --- values", () => {
    const outcome = parseNellcorLine("15-Jan-24 14:30:04   ---    ---  ---    SD");
    expect(outcome).toMatchObject({ type: "reading", reading: { observations: [], flags: ["sensor-disconnected"] } });
  });

  it("skips the header lines the monitor repeats, rejects other junk", () => {
    expect(parseNellcorLine("N-595   VERSION 1.3.0.0   CRC: 0000   SpO2 Limit: 85-100%   PR Limit: 50-120BPM   ADULT   0SAT-S")).toEqual({ type: "skip" });
    expect(parseNellcorLine("TIME                %SPO2   BPM   PA   Status")).toEqual({ type: "skip" });
    expect(parseNellcorLine("15-Foo-24 14:30:04   97 72 45").type).toBe("invalid");
    expect(parseNellcorLine("15-Jan-24 14:30:04   9x7 72 45").type).toBe("invalid");
  });
});
