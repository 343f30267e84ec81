/**
 * What Nonin Data Formats #2 and #7 share (Nonin OEM III / xPod / WristOx2 3150 serial
 * specifications): 75 five-byte frames a second, each with a STATUS byte, the pleth and one DATA
 * byte, and CHK = sum of the first four bytes mod 256. Twenty-five frames make a packet (3 a
 * second); STATUS bit 0 marks a packet's first frame, and DATA carries one value per frame
 * position. The formats differ only in where those bytes sit in a frame (format2.ts, format7.ts).
 */
import { observationsOf } from "../core/observations.ts";
import { ByteBuffer, DiscardCounter } from "../serial/byteBuffer.ts";
import type { Decoder, DecoderEvent, DeviceReading, ReadingFlag } from "../core/types.ts";

export const FRAME_LENGTH = 5;
export const FRAMES_PER_PACKET = 25;

/** STATUS bits (bit 7 is always set). Yellow and red together mean green (good) perfusion. */
export const STATUS = { ALWAYS: 0x80, SNSD: 0x40, ARTF: 0x20, OOT: 0x10, SNSA: 0x08, YPRF: 0x04, RPRF: 0x02, SYNC: 0x01 } as const;
/** Frame positions (0-based) of the DATA values a packet carries. */
export const POSITION = { HR_MSB: 0, HR_LSB: 1, SPO2: 2, FIRMWARE: 3, STAT2: 7 } as const;
/** STAT2 bit 0: low battery. */
const STAT2_LOW_BATTERY = 0x01;
/** The device sends these when it has no value. */
export const NO_PULSE_RATE = 511;
export const NO_SPO2 = 127;

export interface PacketFrame {
  status: number;
  pleth: number;
  data: number;
}

/** Where a format puts a frame's bytes. */
export interface FrameLayout {
  /** The frame at the next FRAME_LENGTH bytes (`at(i)`, all present), or undefined if there is none. */
  read(at: (offset: number) => number): PacketFrame | undefined;
  /** Why bytes that are no frame were skipped. */
  mismatch: string;
}

export function frameChecksum(bytes: ArrayLike<number>): number {
  return ((bytes[0] ?? 0) + (bytes[1] ?? 0) + (bytes[2] ?? 0) + (bytes[3] ?? 0)) & 0xff;
}

export class NoninPacketDecoder implements Decoder {
  readonly #layout: FrameLayout;
  readonly #buffer = new ByteBuffer();
  readonly #discards = new DiscardCounter();
  #packet: PacketFrame[] = [];

  constructor(layout: FrameLayout) {
    this.#layout = layout;
  }

  push(chunk: Uint8Array): DecoderEvent[] {
    this.#buffer.append(chunk);
    const events: DecoderEvent[] = [];
    while (this.#buffer.length >= FRAME_LENGTH) {
      const frame = this.#layout.read((offset) => this.#buffer.at(offset) ?? 0);
      if (!frame) {
        // Not a frame here: resynchronise one byte further on.
        this.#buffer.skip(1);
        this.#discards.add(1, this.#layout.mismatch);
        continue;
      }
      this.#buffer.skip(FRAME_LENGTH);
      this.#addFrame(frame, events);
    }
    const discarded = this.#discards.flush();
    if (discarded) events.push(discarded);
    return events;
  }

  #addFrame(frame: PacketFrame, events: DecoderEvent[]): void {
    if (frame.status & STATUS.SYNC) {
      if (this.#packet.length > 0) this.#discards.add(this.#packet.length * FRAME_LENGTH, "incomplete packet");
      this.#packet = [frame];
    } else if (this.#packet.length === 0) {
      this.#discards.add(FRAME_LENGTH, "frame before packet sync");
      return;
    } else {
      this.#packet.push(frame);
    }
    if (this.#packet.length === FRAMES_PER_PACKET) {
      const discarded = this.#discards.flush();
      if (discarded) events.push(discarded);
      events.push({ type: "reading", reading: readingFromPacket(this.#packet) });
      this.#packet = [];
    }
  }
}

export function readingFromPacket(frames: readonly PacketFrame[]): DeviceReading {
  const data = (position: number) => frames[position]?.data ?? 0;
  const pulseRate = ((data(POSITION.HR_MSB) & 0x03) << 7) | (data(POSITION.HR_LSB) & 0x7f);
  const spo2 = data(POSITION.SPO2) & 0x7f;
  const observations = observationsOf([
    ["spo2", spo2 === NO_SPO2 ? undefined : spo2],
    ["pulse_rate", pulseRate === NO_PULSE_RATE ? undefined : pulseRate],
  ]);

  const flags = new Set<ReadingFlag>();
  for (const { status } of frames) {
    if (status & STATUS.SNSD) flags.add("sensor-disconnected");
    if (status & STATUS.ARTF) flags.add("artifact");
    if (status & STATUS.OOT) flags.add("out-of-track");
    if (status & STATUS.SNSA) flags.add("sensor-alarm");
    const perfusion = status & (STATUS.YPRF | STATUS.RPRF);
    if (perfusion === STATUS.RPRF) flags.add("low-perfusion");
    if (perfusion === STATUS.YPRF) flags.add("marginal-perfusion");
  }
  if (data(POSITION.STAT2) & STAT2_LOW_BATTERY) flags.add("low-battery");
  return { kind: "continuous", observations, flags: [...flags] };
}
