/**
 * Text lines from a byte stream, for the devices that print ASCII records (Masimo, Nellcor,
 * A&D). A line ends at LF (a CR before it is dropped). Bytes beyond `maxLength` without a newline
 * are discarded and counted, so a device babbling binary cannot grow memory; a line holding
 * anything but printable ASCII is discarded too.
 */
import type { Decoder, DecoderEvent, DeviceReading } from "../core/types.ts";
import { DiscardCounter } from "./byteBuffer.ts";

export type LineEvent = { type: "line"; text: string; bytes: number } | { type: "discarded"; bytes: number; reason: string };

const LF = 0x0a;
const CR = 0x0d;

export class LineFramer {
  readonly #maxLength: number;
  readonly #discards = new DiscardCounter();
  #pending: number[] = [];
  #overlong = false;

  constructor(maxLength = 512) {
    this.#maxLength = maxLength;
  }

  push(chunk: Uint8Array): LineEvent[] {
    const events: LineEvent[] = [];
    for (const byte of chunk) {
      if (byte === LF) this.#endLine(events);
      else if (this.#pending.length < this.#maxLength) this.#pending.push(byte);
      else {
        this.#overlong = true;
        this.#discards.add(1, "line too long");
      }
    }
    this.#flush(events);
    return events;
  }

  #endLine(events: LineEvent[]): void {
    const bytes = this.#pending;
    this.#pending = [];
    if (this.#overlong || bytes.some((byte, i) => (byte < 0x20 || byte > 0x7e) && !(byte === CR && i === bytes.length - 1))) {
      this.#discards.add(bytes.length + 1, this.#overlong ? "line too long" : "not printable ASCII");
      this.#overlong = false;
      return;
    }
    this.#flush(events);
    const text = String.fromCharCode(...(bytes[bytes.length - 1] === CR ? bytes.slice(0, -1) : bytes));
    events.push({ type: "line", text, bytes: bytes.length + 1 });
  }

  #flush(events: LineEvent[]): void {
    const discarded = this.#discards.flush();
    if (discarded) events.push(discarded);
  }
}

/** What one line means: a reading, expected non-data (headers, blank lines), or junk. */
export type LineOutcome = { type: "reading"; reading: DeviceReading } | { type: "skip" } | { type: "invalid"; reason: string };

/** A Decoder for a line protocol, from a pure function that parses one line. */
export function lineDecoder(parseLine: (text: string) => LineOutcome, maxLength?: number): Decoder {
  const framer = new LineFramer(maxLength);
  return {
    push(chunk) {
      return framer.push(chunk).flatMap((event): DecoderEvent[] => {
        if (event.type === "discarded") return [event];
        const outcome = parseLine(event.text);
        if (outcome.type === "reading") return [outcome];
        if (outcome.type === "invalid") return [{ type: "discarded", bytes: event.bytes, reason: outcome.reason }];
        return [];
      });
    },
  };
}
