/**
 * MLLP, the Minimal Lower Layer Protocol (HL7 v2 implementation guide, appendix C): each message
 * is wrapped as `0B <message> 1C 0D`. Bytes outside a frame are counted and skipped; a frame
 * larger than `maxBytes` is dropped, so a broken sender cannot grow memory.
 */
import { DiscardCounter } from "../serial/byteBuffer.ts";

export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

export type MllpEvent = { type: "message"; bytes: Uint8Array } | { type: "discarded"; bytes: number; reason: string };

export function wrapMllp(message: Uint8Array): Uint8Array {
  return Uint8Array.from([START_BLOCK, ...message, END_BLOCK, CARRIAGE_RETURN]);
}

export class MllpFramer {
  readonly #maxBytes: number;
  readonly #discards = new DiscardCounter();
  #inFrame = false;
  #frame: number[] = [];
  #sawEndBlock = false;

  constructor(maxBytes = 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Uint8Array): MllpEvent[] {
    const events: MllpEvent[] = [];
    for (const byte of chunk) this.#byte(byte, events);
    this.#flush(events);
    return events;
  }

  #byte(byte: number, events: MllpEvent[]): void {
    if (!this.#inFrame) {
      if (byte === START_BLOCK) this.#open();
      else this.#discards.add(1, "bytes outside an MLLP frame");
      return;
    }
    if (this.#sawEndBlock) {
      this.#sawEndBlock = false;
      if (byte === CARRIAGE_RETURN) {
        this.#flush(events);
        events.push({ type: "message", bytes: Uint8Array.from(this.#frame) });
        this.#inFrame = false;
        this.#frame = [];
        return;
      }
      this.#frame.push(END_BLOCK); // a lone 1C inside the message is data
    }
    if (byte === END_BLOCK) this.#sawEndBlock = true;
    else if (byte === START_BLOCK) {
      // A new frame starts before the old one ended: the old one is lost.
      this.#discards.add(this.#frame.length + 1, "unterminated MLLP frame");
      this.#open();
    } else if (this.#frame.length >= this.#maxBytes) {
      this.#discards.add(this.#frame.length + 2, "MLLP frame too large");
      this.#inFrame = false;
      this.#frame = [];
    } else this.#frame.push(byte);
  }

  #open(): void {
    this.#inFrame = true;
    this.#frame = [];
    this.#sawEndBlock = false;
  }

  #flush(events: MllpEvent[]): void {
    const discarded = this.#discards.flush();
    if (discarded) events.push(discarded);
  }
}
