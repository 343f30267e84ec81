/**
 * Nonin serial Data Format #8 (Nonin 3150 / WristOx2 specification): one 4-byte record a second,
 * `STATUS HR-LSB SPO2 STATUS2`. STATUS has bit 7 set and carries the pulse rate's bits 8–7 in
 * bits 1–0; the other three bytes have bit 7 clear, which is how a record's start is found.
 * There is no checksum in this format.
 */
import { observationsOf } from "../core/observations.ts";
import { fixedFrameDecoder, onlyFirstByteHasBit7 } from "../serial/fixedFrames.ts";
import type { Decoder, DeviceReading, ReadingFlag } from "../core/types.ts";
import { NO_PULSE_RATE, NO_SPO2 } from "./packet.ts";

const RECORD_LENGTH = 4;
export const STATUS8 = { ALWAYS: 0x80, SNSD: 0x40, OOT: 0x20, LPRF: 0x10, MPRF: 0x08, ARTF: 0x04 } as const;
export const STATUS8_2 = { SENSOR_FAULT: 0x08, SPOT_CHECK: 0x04, CRITICAL_BATTERY: 0x02, LOW_BATTERY: 0x01 } as const;

export function format8Decoder(): Decoder {
  return fixedFrameDecoder({
    length: RECORD_LENGTH,
    startsHere: (at) => onlyFirstByteHasBit7(at, RECORD_LENGTH),
    reading: readingFromRecord,
    mismatch: "no record start (status bit 7)",
  });
}

export function readingFromRecord(record: Uint8Array): DeviceReading {
  const [status = 0, hrLow = 0, spo2Byte = 0, status2 = 0] = record;
  const pulseRate = ((status & 0x03) << 7) | (hrLow & 0x7f);
  const spo2 = spo2Byte & 0x7f;
  const observations = observationsOf([
    ["spo2", spo2 === NO_SPO2 ? undefined : spo2],
    ["pulse_rate", pulseRate === NO_PULSE_RATE ? undefined : pulseRate],
  ]);
  const flags: ReadingFlag[] = [];
  if (status & STATUS8.SNSD) flags.push("sensor-disconnected");
  if (status & STATUS8.OOT) flags.push("out-of-track");
  if (status & STATUS8.LPRF) flags.push("low-perfusion");
  if (status & STATUS8.MPRF) flags.push("marginal-perfusion");
  if (status & STATUS8.ARTF) flags.push("artifact");
  if (status2 & STATUS8_2.SENSOR_FAULT) flags.push("sensor-fault");
  if (status2 & (STATUS8_2.LOW_BATTERY | STATUS8_2.CRITICAL_BATTERY)) flags.push("low-battery");
  // Spot-check mode: the device reports a settled measurement rather than a running one.
  return { kind: status2 & STATUS8_2.SPOT_CHECK ? "spot" : "continuous", observations, flags };
}
