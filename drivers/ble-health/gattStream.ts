/**
 * How a Bluetooth LE device's GATT traffic travels between the agent's BlueZ link and this
 * driver: ATT hands over whole values per characteristic, not a byte stream, so the link wraps
 * each event in a small frame and the driver unwraps it. Keeping the driver on bytes lets it
 * stay pure (no D-Bus here) and lets it pass the same contract as every serial driver.
 *
 * Frame: 0xB1, kind, characteristic UUID16 (LE), length (uint16 LE), value, XOR of all
 * preceding frame bytes. The start byte and check byte let the reader resynchronise on bytes
 * that are not frames (never seen from the link, but the decoder is held to the same garbage
 * contract as the others).
 */

export const FRAME_START = 0xb1;
/** ATT's longest attribute value (Core Specification v5.4, Vol 3, Part F, 3.2.9: 512 octets). */
export const MAX_VALUE_LENGTH = 512;
const HEADER_LENGTH = 6;

export const FRAME_KIND = {
  /** A value from the device: a notification, an indication or the answer to a read. */
  VALUE: 0x01,
  /** A value the driver asks the link to write to the device (RACP, Current Time). */
  WRITE: 0x02,
  /** The link dropped values of a characteristic that flooded it: how many, and their bytes (uint32 LE each). */
  DROPPED: 0x03,
  /**
   * The link is subscribed and ready: the box's clock (ms since the epoch, float64 LE), then the
   * UUID16s of the characteristics the device has (uint16 LE each).
   */
  READY: 0x04,
} as const;
export type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];

export interface GattFrame {
  kind: FrameKind;
  characteristic: number;
  value: Uint8Array;
}

const KINDS = new Set<number>(Object.values(FRAME_KIND));

export function encodeFrame(frame: GattFrame): Uint8Array {
  const { value } = frame;
  if (value.length > MAX_VALUE_LENGTH) throw new RangeError(`a GATT value has at most ${MAX_VALUE_LENGTH} octets, not ${value.length}`);
  const bytes = new Uint8Array(HEADER_LENGTH + value.length + 1);
  bytes.set([FRAME_START, frame.kind, frame.characteristic & 0xff, (frame.characteristic >> 8) & 0xff, value.length & 0xff, value.length >> 8]);
  bytes.set(value, HEADER_LENGTH);
  bytes[bytes.length - 1] = xor(bytes.subarray(0, bytes.length - 1));
  return bytes;
}

export function readyFrame(boxTimeMs: number, characteristics: readonly number[]): GattFrame {
  const value = new Uint8Array(8 + 2 * characteristics.length);
  const view = new DataView(value.buffer);
  view.setFloat64(0, boxTimeMs, true);
  characteristics.forEach((uuid, i) => view.setUint16(8 + 2 * i, uuid, true));
  return { kind: FRAME_KIND.READY, characteristic: 0, value };
}

export function parseReady(value: Uint8Array): { boxTimeMs: number; characteristics: number[] } | undefined {
  if (value.length < 8 || value.length % 2 !== 0) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const characteristics: number[] = [];
  for (let at = 8; at < value.length; at += 2) characteristics.push(view.getUint16(at, true));
  return { boxTimeMs: view.getFloat64(0, true), characteristics };
}

export function droppedFrame(characteristic: number, values: number, bytes: number): GattFrame {
  const value = new Uint8Array(8);
  const view = new DataView(value.buffer);
  view.setUint32(0, Math.min(values, 0xffffffff), true);
  view.setUint32(4, Math.min(bytes, 0xffffffff), true);
  return { kind: FRAME_KIND.DROPPED, characteristic, value };
}

export type FrameEvent = { type: "frame"; frame: GattFrame } | { type: "discarded"; bytes: number; reason: string };

/** Unwraps frames from chunks split anywhere; holds at most one frame's worth of bytes. */
export class GattFrameReader {
  #pending = new Uint8Array(0);

  push(chunk: Uint8Array): FrameEvent[] {
    const joined = new Uint8Array(this.#pending.length + chunk.length);
    joined.set(this.#pending);
    joined.set(chunk, this.#pending.length);
    const events: FrameEvent[] = [];
    let at = 0;
    let skipped = 0;
    const skip = (count: number) => {
      skipped += count;
      at += count;
    };
    while (at < joined.length) {
      if (joined[at] !== FRAME_START) {
        skip(1);
        continue;
      }
      if (joined.length - at < HEADER_LENGTH) break;
      const kind = joined[at + 1] ?? 0;
      const length = (joined[at + 4] ?? 0) | ((joined[at + 5] ?? 0) << 8);
      if (!KINDS.has(kind) || length > MAX_VALUE_LENGTH) {
        skip(1);
        continue;
      }
      const end = at + HEADER_LENGTH + length + 1;
      if (end > joined.length) break;
      if (xor(joined.subarray(at, end - 1)) !== joined[end - 1]) {
        skip(1);
        continue;
      }
      if (skipped > 0) events.push({ type: "discarded", bytes: skipped, reason: "bytes outside a GATT frame" });
      skipped = 0;
      const characteristic = (joined[at + 2] ?? 0) | ((joined[at + 3] ?? 0) << 8);
      events.push({ type: "frame", frame: { kind: kind as FrameKind, characteristic, value: joined.slice(at + HEADER_LENGTH, end - 1) } });
      at = end;
    }
    if (skipped > 0) events.push({ type: "discarded", bytes: skipped, reason: "bytes outside a GATT frame" });
    this.#pending = joined.slice(at);
    return events;
  }
}

function xor(bytes: Uint8Array): number {
  let check = 0;
  for (const byte of bytes) check ^= byte;
  return check;
}
