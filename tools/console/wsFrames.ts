/**
 * WebSocket frames (RFC 6455 §5), as much as a byte-stream bridge needs: a decoder that takes
 * bytes in any chunking and yields whole frames with their payload unmasked, and an encoder for
 * the server's (unmasked) frames, and the handshake's accept key. Pure; no I/O.
 */
import { createHash } from "node:crypto";

/** RFC 6455 §1.3: the server proves it read the handshake by hashing the key with this GUID. */
export function acceptKey(clientKey: string): string {
  return createHash("sha1").update(`${clientKey}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface WsFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export class WsFrameDecoder {
  readonly #maxPayload: number;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
  }

  /** Whole frames completed by `chunk`; throws on a frame over the size limit or unmasked. */
  push(chunk: Buffer): WsFrame[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: WsFrame[] = [];
    for (;;) {
      const frame = this.#next();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  #next(): WsFrame | undefined {
    const bytes = this.#buffer;
    if (bytes.length < 2) return undefined;
    const [first = 0, second = 0] = bytes;
    let length = second & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (bytes.length < 4) return undefined;
      length = bytes.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return undefined;
      const big = bytes.readBigUInt64BE(2);
      if (big > BigInt(this.#maxPayload)) throw new Error(`frame of ${big} bytes is over the ${this.#maxPayload}-byte limit`);
      length = Number(big);
      offset = 10;
    }
    if (length > this.#maxPayload) throw new Error(`frame of ${length} bytes is over the ${this.#maxPayload}-byte limit`);
    // §5.1: a client must mask every frame it sends.
    if (!(second & 0x80)) throw new Error("unmasked frame from a client");
    if (bytes.length < offset + 4 + length) return undefined;
    const mask = bytes.subarray(offset, offset + 4);
    const payload = Buffer.from(bytes.subarray(offset + 4, offset + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    this.#buffer = bytes.subarray(offset + 4 + length);
    return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload };
  }
}

/** A single unmasked frame (the server side of the connection). */
export function encodeFrame(opcode: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 0x10000
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigEndian64(length)]);
  return Buffer.concat([header, payload]);
}

function bigEndian64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}
