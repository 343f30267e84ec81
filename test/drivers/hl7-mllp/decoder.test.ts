import { describe, expect, it } from "vitest";
import { hl7Decoder } from "../../../drivers/hl7-mllp/decoder.ts";
import { wrapMllp } from "../../../drivers/hl7-mllp/mllp.ts";

const MESSAGE = "MSH|^~\\&|MON|WARD|THEA|CLINIC|20261123080006||ORU^R01|C42|P|2.6\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||95|%^%^UCUM||||||R";

describe("hl7Decoder", () => {
  it("answers each message and reads UCUM units as well as MDC ones", () => {
    const events = hl7Decoder({ kind: "spot", now: () => new Date(0) }).push(wrapMllp(new TextEncoder().encode(MESSAGE)));
    expect(events.map((event) => event.type)).toEqual(["reading", "reply"]);
    expect(events[0]).toMatchObject({ reading: { observations: [{ type: "spo2", value: 95, unit: "%" }], deviceTime: "2026-11-23T08:00:06" } });
  });
});
