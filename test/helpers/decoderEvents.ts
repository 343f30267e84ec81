/** What driver tests read out of a decoder's events. */
import type { DecoderEvent, DeviceReading } from "../../drivers/core/types.ts";

export const readings = (events: DecoderEvent[]): DeviceReading[] => events.flatMap((event) => (event.type === "reading" ? [event.reading] : []));

/** Bytes the decoder reported skipping. */
export const discarded = (events: DecoderEvent[]): number => events.reduce((sum, event) => sum + (event.type === "discarded" ? event.bytes : 0), 0);
