/**
 * A decoder for protocols of fixed-length frames found by their own shape (a sync bit, fixed
 * bytes): try the frame at the current byte; if it is not one, skip a byte and count it.
 */
import type { Decoder, DecoderEvent, DeviceReading } from "../core/types.ts";
import { ByteBuffer, DiscardCounter } from "./byteBuffer.ts";

export interface FixedFrameProtocol {
  length: number;
  /** Whether a frame starts at offset 0; `at(i)` is the byte i ahead (all `length` are there). */
  startsHere(at: (offset: number) => number): boolean;
  reading(frame: Uint8Array): DeviceReading;
  /** Why skipped bytes were skipped, for the discarded events. */
  mismatch: string;
}

export function fixedFrameDecoder(protocol: FixedFrameProtocol): Decoder {
  const buffer = new ByteBuffer();
  const discards = new DiscardCounter();
  const at = (offset: number) => buffer.at(offset) ?? 0;
  return {
    push(chunk) {
      buffer.append(chunk);
      const events: DecoderEvent[] = [];
      while (buffer.length >= protocol.length) {
        if (!protocol.startsHere(at)) {
          buffer.skip(1);
          discards.add(1, protocol.mismatch);
          continue;
        }
        const discarded = discards.flush();
        if (discarded) events.push(discarded);
        events.push({ type: "reading", reading: protocol.reading(buffer.take(protocol.length)) });
      }
      const discarded = discards.flush();
      if (discarded) events.push(discarded);
      return events;
    },
  };
}

/** True when bytes 1..length-1 all have bit 7 clear: the usual "only the first byte syncs" rule. */
export function onlyFirstByteHasBit7(at: (offset: number) => number, length: number): boolean {
  if ((at(0) & 0x80) === 0) return false;
  for (let i = 1; i < length; i++) if ((at(i) & 0x80) !== 0) return false;
  return true;
}
