import { describe, expect, it } from "vitest";
import { LineFramer } from "../../../drivers/serial/lineFramer.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("LineFramer", () => {
  it("splits on LF, drops the CR before it, and keeps a partial line for later", () => {
    const framer = new LineFramer();
    expect(framer.push(bytes("one\r\ntw"))).toEqual([{ type: "line", text: "one", bytes: 5 }]);
    expect(framer.push(bytes("o\n"))).toEqual([{ type: "line", text: "two", bytes: 4 }]);
  });

  it("gives the same lines whatever offset the stream is cut at", () => {
    const stream = bytes("alpha\r\nbeta\n\ngamma\r\n");
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new LineFramer();
      const events = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      expect(events.map((event) => (event.type === "line" ? event.text : "?"))).toEqual(["alpha", "beta", "", "gamma"]);
    }
  });

  it("discards and counts an overlong line without holding more than the limit", () => {
    const framer = new LineFramer(8);
    const events = [...framer.push(bytes("0123456789ABCDEF")), ...framer.push(bytes("\nok\n"))];
    const discarded = events.filter((event) => event.type === "discarded").reduce((sum, event) => sum + event.bytes, 0);
    expect(discarded).toBe(17);
    expect(events.at(-1)).toEqual({ type: "line", text: "ok", bytes: 3 });
  });

  it("discards a line with binary bytes in it", () => {
    const framer = new LineFramer();
    expect(framer.push(Uint8Array.from([0x41, 0x00, 0xff, 0x0a]))).toEqual([{ type: "discarded", bytes: 4, reason: "not printable ASCII" }]);
  });
});
