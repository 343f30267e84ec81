/**
 * The monitor's side of the line as decoder events: each measurement text becomes a spot reading
 * (and a message for the controller, which may be waiting for it), ACK/NAK become messages.
 * A measurement read again (RB after the monitor already sent it) is the same measurement and is
 * not published twice: only a text different from the last one makes a reading.
 */
import type { Decoder, DecoderEvent } from "../core/types.ts";
import { AndFramer, type AndFrame } from "./frames.ts";
import { parseMeasurement, readingFromMeasurement, type BpMeasurement } from "./measurement.ts";

export type AndMessage = { kind: "ack" | "nak" } | { kind: "measurement"; measurement: BpMeasurement };

export function isAndMessage(message: unknown): message is AndMessage {
  return typeof message === "object" && message !== null && "kind" in message;
}

export function andDecoder(): Decoder {
  const framer = new AndFramer();
  let lastText: string | undefined;
  const eventsOf = (frame: AndFrame): DecoderEvent[] => {
    if (frame.kind !== "text") return [{ type: "message", message: { kind: frame.kind } satisfies AndMessage }];
    const parsed = parseMeasurement(frame.text);
    if (!parsed.ok) return [{ type: "discarded", bytes: frame.text.length + 9, reason: parsed.reason }];
    const message: DecoderEvent = { type: "message", message: { kind: "measurement", measurement: parsed.measurement } satisfies AndMessage };
    if (frame.text === lastText) return [message];
    lastText = frame.text;
    return [{ type: "reading", reading: readingFromMeasurement(parsed.measurement) }, message];
  };
  return {
    push: (chunk) => framer.push(chunk).flatMap((event) => (event.type === "frame" ? eventsOf(event.frame) : [event])),
  };
}
