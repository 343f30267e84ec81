import { describe, expect, it } from "vitest";
import { acceptKey, encodeFrame, OPCODE, WsFrameDecoder } from "../../../tools/console/wsFrames.ts";

/** A frame as a browser sends it: masked (RFC 6455 §5.3). */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length])
      : length < 0x10000
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 127]), Buffer.from([0, 0, 0, 0, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff])]);
  return Buffer.concat([header, mask, masked]);
}

describe("WebSocket frames", () => {
  it("answers the handshake with the accept key of RFC 6455's own example", () => {
    expect(acceptKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("decodes masked frames of every length form, split at every offset", () => {
    const payloads = [Buffer.from("MQTT"), Buffer.alloc(300, 7), Buffer.alloc(70_000, 9)];
    const stream = Buffer.concat(payloads.map((payload) => clientFrame(OPCODE.binary, payload)));
    for (const at of [1, 2, 5, 9, 300, 310, stream.length - 1]) {
      const decoder = new WsFrameDecoder(1 << 20);
      const frames = [...decoder.push(stream.subarray(0, at)), ...decoder.push(stream.subarray(at))];
      expect(frames.map((frame) => frame.payload)).toEqual(payloads);
      expect(frames.every((frame) => frame.fin && frame.opcode === OPCODE.binary)).toBe(true);
    }
  });

  it("keeps control frames and fragments as they come", () => {
    const decoder = new WsFrameDecoder(1024);
    const frames = decoder.push(
      Buffer.concat([clientFrame(OPCODE.binary, Buffer.from("ab"), false), clientFrame(OPCODE.ping, Buffer.from("hi")), clientFrame(OPCODE.continuation, Buffer.from("c"))]),
    );
    expect(frames.map((frame) => [frame.opcode, frame.fin, frame.payload.toString()])).toEqual([
      [OPCODE.binary, false, "ab"],
      [OPCODE.ping, true, "hi"],
      [OPCODE.continuation, true, "c"],
    ]);
  });

  it("refuses a frame over the size limit before buffering it, and unmasked client frames", () => {
    expect(() => new WsFrameDecoder(100).push(Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/over the 100-byte limit/);
    expect(() => new WsFrameDecoder(100).push(Buffer.from([0x82, 0x02, 0x61, 0x62]))).toThrow(/unmasked/);
  });

  it("encodes the server's frames unmasked, with the right length form", () => {
    expect(encodeFrame(OPCODE.binary, Buffer.from("hi"))).toEqual(Buffer.from([0x82, 2, 0x68, 0x69]));
    expect(encodeFrame(OPCODE.binary, Buffer.alloc(300)).subarray(0, 4)).toEqual(Buffer.from([0x82, 126, 1, 44]));
    expect(encodeFrame(OPCODE.binary, Buffer.alloc(70_000)).subarray(0, 10)).toEqual(Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]));
    expect(encodeFrame(OPCODE.close)).toEqual(Buffer.from([0x88, 0]));
  });
});
