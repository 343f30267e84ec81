/** Lines in the layout of the Rad-8 / Radical-7 operator's manuals' ASCII 1 description. */
import { describe, expect, it } from "vitest";
import { parseMasimoLine } from "../../../drivers/masimo-ascii/parser.ts";

const RAD8 = "02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800";

describe("Masimo ASCII 1", () => {
  it("reads SpO2, pulse rate and PI with the device's own time", () => {
    expect(parseMasimoLine(RAD8)).toEqual({
      type: "reading",
      reading: {
        kind: "continuous",
        deviceTime: "2016-02-22T22:47:45",
        flags: [],
        observations: [
          { type: "spo2", value: 98, unit: "%", loinc: "59408-5" },
          { type: "pulse_rate", value: 97, unit: "/min", loinc: "8889-8" },
          { type: "perfusion_index", value: 3.6, unit: "%", loinc: "61006-3" },
        ],
      },
    });
  });

  it("reads PVI when the Radical-7 sends it", () => {
    const line = "12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% SPCO=01.0% SPMET=00.5% DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000800";
    const outcome = parseMasimoLine(line);
    expect(outcome.type === "reading" && outcome.reading.observations.find((o) => o.type === "pleth_variability_index")).toEqual({
      type: "pleth_variability_index",
      value: 27,
      unit: "%",
    });
  });

  it("leaves out dashed values and turns EXC and ALARM bits into flags", () => {
    const line = "02/22/16 22:47:46 SN=0000056661 SPO2=---% BPM=--- PI=--.--% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0052 EXC=000429";
    // EXC 0x429: no sensor, pulse search, sensor off, low signal IQ; ALARM 0x52: SpO2 low, alarm active, low battery
    expect(parseMasimoLine(line)).toEqual({
      type: "reading",
      reading: {
        kind: "continuous",
        deviceTime: "2016-02-22T22:47:46",
        observations: [],
        flags: ["sensor-disconnected", "pulse-search", "sensor-off", "low-signal-quality", "in-alarm", "low-battery"],
      },
    });
  });

  it("skips blank lines and rejects anything else that is not a record", () => {
    expect(parseMasimoLine("")).toEqual({ type: "skip" });
    expect(parseMasimoLine("Rad-8 V7.9.0.5").type).toBe("invalid");
    expect(parseMasimoLine("13/45/16 22:47:45 SPO2=098% BPM=097 ALARM=0000 EXC=000800").type).toBe("invalid");
    expect(parseMasimoLine("02/22/16 22:47:45 SPO2=098% BPM=097 PI=03.60%").type).toBe("invalid");
  });

  it("never publishes an impossible value", () => {
    const outcome = parseMasimoLine("02/22/16 22:47:45 SPO2=140% BPM=097 PI=03.60% ALARM=0000 EXC=000800");
    expect(outcome.type === "reading" && outcome.reading.observations.map((o) => o.type)).toEqual(["pulse_rate", "perfusion_index"]);
  });
});
