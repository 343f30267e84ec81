/**
 * A&D TM-2655-class link frames, both directions. Every frame opens with `SYN SYN SOH` and a
 * two-character address ("00" for a monitor on its own), then either one control byte (ACK 06 /
 * NAK 15) or a text `STX … ETX` followed by BCC, the XOR of every byte from SOH through ETX.
 * Host commands are texts of two letters (ST start, SP stop, RB read in RB format).
 * Pure: bytes in, frames and counted discards out.
 */
import { ByteBuffer, DiscardCounter } from "../serial/byteBuffer.ts";

export const SYN = 0x16;
export const SOH = 0x01;
export const STX = 0x02;
export const ETX = 0x03;
export const ACK = 0x06;
export const NAK = 0x15;
/** Separates the fields of a measurement text (record separator). */
export const RS = 0x1e;

/** Longest text a monitor sends; anything longer is line noise that happened to start a frame. */
const MAX_TEXT = 256;
const HEADER = 5; // SYN SYN SOH A A

export type AndFrame =
  | { kind: "ack" | "nak"; address: string }
  | { kind: "text"; address: string; text: string };

export type FrameEvent = { type: "frame"; frame: AndFrame } | { type: "discarded"; bytes: number; reason: string };

export function bcc(bytes: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum ^= bytes[i] ?? 0;
  return sum;
}

/** A text frame as the wire carries it (a command from the host, a measurement from the monitor). */
export function encodeText(text: string, address = "00"): Uint8Array {
  const body = [SOH, ...ascii(address), STX, ...ascii(text), ETX];
  return Uint8Array.from([SYN, SYN, ...body, bcc(body)]);
}

export function encodeControl(kind: "ack" | "nak", address = "00"): Uint8Array {
  return Uint8Array.from([SYN, SYN, SOH, ...ascii(address), kind === "ack" ? ACK : NAK]);
}

function ascii(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0) & 0xff);
}

const printable = (byte: number | undefined) => byte !== undefined && byte >= 0x20 && byte <= 0x7e;

export class AndFramer {
  readonly #buffer = new ByteBuffer();
  readonly #discards = new DiscardCounter();

  push(chunk: Uint8Array): FrameEvent[] {
    this.#buffer.append(chunk);
    const events: FrameEvent[] = [];
    for (;;) {
      const found = this.#frameHere();
      if (found === "wait") break;
      if (found === "no") {
        this.#buffer.skip(1);
        this.#discards.add(1, "no A&D frame (SYN SYN SOH, address, ACK/NAK or STX…ETX with BCC)");
        continue;
      }
      const discarded = this.#discards.flush();
      if (discarded) events.push(discarded);
      this.#buffer.skip(found.length);
      events.push({ type: "frame", frame: found.frame });
    }
    const discarded = this.#discards.flush();
    if (discarded) events.push(discarded);
    return events;
  }

  /** The frame starting at the next byte, "wait" for more bytes, or "no" frame here. */
  #frameHere(): { frame: AndFrame; length: number } | "wait" | "no" {
    const at = (offset: number) => this.#buffer.at(offset);
    const expect = [SYN, SYN, SOH];
    for (let i = 0; i < expect.length; i++) {
      if (at(i) === undefined) return "wait";
      if (at(i) !== expect[i]) return "no";
    }
    for (const i of [3, 4]) {
      if (at(i) === undefined) return "wait";
      if (!printable(at(i))) return "no";
    }
    const address = String.fromCharCode(at(3) ?? 0, at(4) ?? 0);
    const control = at(HEADER);
    if (control === undefined) return "wait";
    if (control === ACK || control === NAK) return { frame: { kind: control === ACK ? "ack" : "nak", address }, length: HEADER + 1 };
    if (control !== STX) return "no";
    const chars: number[] = [];
    for (let i = HEADER + 1; ; i++) {
      const byte = at(i);
      if (byte === undefined) return chars.length > MAX_TEXT ? "no" : "wait";
      if (byte === ETX) break;
      // Texts are printable ASCII and record separators; anything else means this was no frame.
      if ((!printable(byte) && byte !== RS) || chars.length >= MAX_TEXT) return "no";
      chars.push(byte);
    }
    const etxAt = HEADER + 1 + chars.length;
    const check = at(etxAt + 1);
    if (check === undefined) return "wait";
    const body = [SOH, at(3) ?? 0, at(4) ?? 0, STX, ...chars, ETX];
    if (bcc(body) !== check) return "no";
    return { frame: { kind: "text", address, text: String.fromCharCode(...chars) }, length: etxAt + 2 };
  }
}
