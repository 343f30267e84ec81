import { describe, expect, it } from "vitest";
import { MllpFramer, wrapMllp } from "../../../drivers/hl7-mllp/mllp.ts";

const text = (value: string) => new TextEncoder().encode(value);
const messages = (events: ReturnType<MllpFramer["push"]>) =>
  events.flatMap((event) => (event.type === "message" ? [new TextDecoder().decode(event.bytes)] : []));

describe("MLLP framing", () => {
  it("wraps a message as 0B … 1C 0D", () => {
    expect([...wrapMllp(text("MSH|x"))]).toEqual([0x0b, ...text("MSH|x"), 0x1c, 0x0d]);
  });

  it("finds the same messages whatever offset the stream is cut at", () => {
    const stream = Uint8Array.from([...wrapMllp(text("MSH|a\rPID|1")), ...wrapMllp(text("MSH|b"))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new MllpFramer();
      expect(messages([...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))])).toEqual(["MSH|a\rPID|1", "MSH|b"]);
    }
  });

  it("counts bytes outside frames and an unterminated frame, and keeps a lone 1C as data", () => {
    const framer = new MllpFramer();
    const events = framer.push(Uint8Array.from([0x41, 0x42, 0x0b, 0x58, 0x0b, 0x59, 0x1c, 0x5a, 0x1c, 0x0d]));
    expect(messages(events)).toEqual(["Y\u001cZ"]);
    const discarded = events.filter((event) => event.type === "discarded").reduce((sum, event) => sum + event.bytes, 0);
    expect(discarded).toBe(4); // "AB" outside, "0B X" unterminated
  });

  it("drops a frame over the size limit and recovers with the next", () => {
    const framer = new MllpFramer(16);
    const events = framer.push(Uint8Array.from([...wrapMllp(new Uint8Array(40).fill(0x41)), ...wrapMllp(text("MSH|ok"))]));
    expect(messages(events)).toEqual(["MSH|ok"]);
    expect(events.some((event) => event.type === "discarded" && event.reason === "MLLP frame too large")).toBe(true);
  });
});
