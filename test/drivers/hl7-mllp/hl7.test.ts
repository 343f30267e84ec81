import { describe, expect, it } from "vitest";
import { buildAck, isoFromHl7, parseHl7 } from "../../../drivers/hl7-mllp/hl7.ts";

const MESSAGE = "MSH|^~\\&|MON|WARD|THEA|CLINIC|20261123080006||ORU^R01|C42|P|2.6\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||95|%^%^UCUM||||||R";

describe("HL7 v2 fields", () => {
  it("numbers MSH fields as the standard does (MSH-1 is the separator)", () => {
    const parsed = parseHl7(MESSAGE);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect([parsed.message.msh(1), parsed.message.msh(2), parsed.message.msh(9), parsed.message.msh(10)]).toEqual(["|", "^~\\&", "ORU^R01", "C42"]);
    const obx = parsed.message.segments[1];
    expect([obx?.field(5), obx?.component(3, 2), obx?.component(6, 1)]).toEqual(["95", "MDC_PULS_OXIM_SAT_O2", "%"]);
  });

  it("builds an ACK with sender and receiver swapped and the original control id", () => {
    const parsed = parseHl7(MESSAGE);
    if (!parsed.ok) throw new Error(parsed.reason);
    const ack = buildAck(parsed.message, "AE", { now: new Date("2026-11-23T08:00:07Z"), controlId: "A1" }, "bad | thing");
    expect(ack.split("\r")).toEqual([
      "MSH|^~\\&|THEA|CLINIC|MON|WARD|20261123080007+0000||ACK^R01^ACK|A1|P|2.6",
      "MSA|AE|C42|bad | thing",
      "ERR|||207^Application internal error^HL70357|E||||bad \\F\\ thing",
      "",
    ]);
  });

  it("reads HL7 timestamps, with or without zone and seconds, and rejects nonsense", () => {
    expect(isoFromHl7("20261123080006+0700")).toBe("2026-11-23T08:00:06+07:00");
    expect(isoFromHl7("202611230800")).toBe("2026-11-23T08:00:00");
    expect(isoFromHl7("20261323080006")).toBeUndefined();
    expect(isoFromHl7("yesterday")).toBeUndefined();
  });
});
