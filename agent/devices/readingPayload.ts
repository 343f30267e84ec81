/** The one published shape of a reading (docs/mqtt-api.md), from what a decoder reported. */
import type { DeviceReading } from "../../drivers/core/types.ts";
import type { ReadingPayload } from "../core/api.ts";

export interface ReadingStamp {
  id: string;
  seq: number;
  peripheral: string;
  driver: string;
  receivedAt: Date;
}

export function readingPayload(reading: DeviceReading, stamp: ReadingStamp): ReadingPayload {
  const receivedAt = stamp.receivedAt.toISOString();
  return {
    id: stamp.id,
    seq: stamp.seq,
    peripheral: stamp.peripheral,
    driver: stamp.driver,
    time: reading.deviceTime ?? receivedAt,
    receivedAt,
    kind: reading.kind,
    observations: reading.observations,
    flags: reading.flags,
    ...(reading.deviceClockOffsetMs !== undefined && { deviceClockOffsetMs: reading.deviceClockOffsetMs }),
  };
}
