/**
 * Contec CMS50D+/E/F with firmware before 4.6: 19200 8O1, a continuous stream of 5-byte live
 * packets (60 a second) in which only the first byte has bit 7 set (reverse-engineered protocol,
 * as documented by the open CMS50Dplus downloader):
 *   byte 1: sync | beep 0x40 | SpO2 dropping 0x20 | finger out 0x10 | signal strength 0x0F
 *   byte 2: pleth                   byte 3: pulse-rate bit 7 as 0x40 | searching 0x20 | probe error 0x10 | bar graph
 *   byte 4: pulse rate bits 6–0     byte 5: SpO2
 */
import { observationsOf } from "../core/observations.ts";
import { fixedFrameDecoder, onlyFirstByteHasBit7 } from "../serial/fixedFrames.ts";
import type { Decoder, DeviceReading, ReadingFlag } from "../core/types.ts";

const PACKET_LENGTH = 5;
export const BYTE1 = { SYNC: 0x80, BEEP: 0x40, SPO2_DROPPING: 0x20, FINGER_OUT: 0x10 } as const;
export const BYTE3 = { PULSE_BIT7: 0x40, SEARCHING: 0x20, PROBE_ERROR: 0x10 } as const;
/** The device sends these while it has no value. */
const NO_SPO2 = 127;
const NO_PULSE_RATE = 255;

export function legacyDecoder(): Decoder {
  return fixedFrameDecoder({
    length: PACKET_LENGTH,
    startsHere: (at) => onlyFirstByteHasBit7(at, PACKET_LENGTH),
    reading: readingFromLegacyPacket,
    mismatch: "no packet start (bit 7 only on byte 1)",
  });
}

export function readingFromLegacyPacket(packet: Uint8Array): DeviceReading {
  const [b1 = 0, , b3 = 0, b4 = 0, b5 = 0] = packet;
  const flags: ReadingFlag[] = [];
  if (b1 & BYTE1.FINGER_OUT) flags.push("sensor-off");
  if (b3 & BYTE3.SEARCHING) flags.push("searching");
  if (b3 & BYTE3.PROBE_ERROR) flags.push("sensor-fault");
  if (b1 & BYTE1.FINGER_OUT) return { kind: "continuous", observations: [], flags };
  const spo2 = b5 & 0x7f;
  const pulseRate = ((b3 & BYTE3.PULSE_BIT7) << 1) | (b4 & 0x7f);
  const observations = observationsOf([
    ["spo2", spo2 === NO_SPO2 || spo2 === 0 ? undefined : spo2],
    ["pulse_rate", pulseRate === NO_PULSE_RATE || pulseRate === 0 ? undefined : pulseRate],
  ]);
  return { kind: "continuous", observations, flags };
}
