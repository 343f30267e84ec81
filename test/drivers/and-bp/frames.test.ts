/** A&D blood-pressure monitor: link frames from byte arrays worked out by hand. */
import { describe, expect, it } from "vitest";
import { AndFramer, encodeText } from "../../../drivers/and-bp/frames.ts";

const ascii = (text: string) => Array.from(text, (char) => char.charCodeAt(0));
const xor = (bytes: number[]) => bytes.reduce((sum, byte) => sum ^ byte, 0);
/** SYN SYN SOH "00" STX text ETX BCC, BCC = XOR from SOH through ETX. */
const textFrame = (text: string) => {
  const body = [0x01, 0x30, 0x30, 0x02, ...ascii(text), 0x03];
  return [0x16, 0x16, ...body, xor(body)];
};
const ACK = [0x16, 0x16, 0x01, 0x30, 0x30, 0x06];

describe("A&D link frames", () => {
  it("encodes the host commands with the check byte worked out by hand", () => {
    // 01^30^30^02^53^54^03 = 07; 01^30^30^02^53^50^03 = 03; 01^30^30^02^52^42^03 = 10
    expect([...encodeText("ST")]).toEqual([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x53, 0x54, 0x03, 0x07]);
    expect([...encodeText("SP")]).toEqual([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x53, 0x50, 0x03, 0x03]);
    expect([...encodeText("RB")]).toEqual([0x16, 0x16, 0x01, 0x30, 0x30, 0x02, 0x52, 0x42, 0x03, 0x10]);
  });

  it("finds ACK, NAK and text frames, skipping and counting what is not one", () => {
    const events = new AndFramer().push(Uint8Array.from([0x41, 0x16, ...ACK, ...textFrame("ST"), 0x16, 0x16, 0x01, 0x30, 0x30, 0x15]));
    expect(events).toEqual([
      { type: "discarded", bytes: 2, reason: expect.any(String) },
      { type: "frame", frame: { kind: "ack", address: "00" } },
      { type: "frame", frame: { kind: "text", address: "00", text: "ST" } },
      { type: "frame", frame: { kind: "nak", address: "00" } },
    ]);
  });
});
