/**
 * Contec CMS50D+/E/F with firmware 4.6 and later: 115200 8N1, silent until the host sends the
 * "start live data" command; then 9-byte live frames (reverse-engineered, as documented by open
 * CMS50D+ v4.6 readers):
 *   01 STATUS B2 PLETH PLETH2 PR SPO2 FF FF
 * STATUS has bits 7–5 set, bit 0 finger out, bit 1 searching; B2 has bit 7 set (0x40 marks a
 * beat). Values are in the low 7 bits of their bytes, so this stream cannot carry a pulse rate
 * above 127 /min; SpO2 0 or 127 and pulse rate 0 are placeholders, not values.
 */
import { observationsOf } from "../core/observations.ts";
import { fixedFrameDecoder } from "../serial/fixedFrames.ts";
import type { Decoder, DeviceReading, ReadingFlag } from "../core/types.ts";

const FRAME_LENGTH = 9;
const FRAME_TYPE_LIVE = 0x01;
export const STATUS46 = { FIXED: 0xe0, FINGER_OUT: 0x01, SEARCHING: 0x02 } as const;

/** Command frame `7D 81 xx 80 80 80 80 80 80`: xx = A1 starts (and, resent, keeps) live data. */
export function command(code: number): Uint8Array {
  return Uint8Array.from([0x7d, 0x81, code, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]);
}
export const START_LIVE_DATA = 0xa1;

export function live46Decoder(): Decoder {
  return fixedFrameDecoder({
    length: FRAME_LENGTH,
    startsHere: (at) =>
      at(0) === FRAME_TYPE_LIVE && (at(1) & STATUS46.FIXED) === STATUS46.FIXED && (at(2) & 0x80) !== 0 && at(7) === 0xff && at(8) === 0xff,
    reading: readingFromLiveFrame,
    mismatch: "no live frame (01 E? 8? … FF FF)",
  });
}

export function readingFromLiveFrame(frame: Uint8Array): DeviceReading {
  const status = frame[1] ?? 0;
  const flags: ReadingFlag[] = [];
  if (status & STATUS46.FINGER_OUT) flags.push("sensor-off");
  if (status & STATUS46.SEARCHING) flags.push("searching");
  // While the finger is out or the device searches, PR and SpO2 hold placeholders, not values.
  if (flags.length > 0) return { kind: "continuous", observations: [], flags };
  const pulseRate = (frame[5] ?? 0) & 0x7f;
  const spo2 = (frame[6] ?? 0) & 0x7f;
  const observations = observationsOf([
    ["spo2", spo2 === 0 || spo2 === 127 ? undefined : spo2],
    ["pulse_rate", pulseRate === 0 ? undefined : pulseRate],
  ]);
  return { kind: "continuous", observations, flags };
}
