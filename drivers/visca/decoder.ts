/**
 * VISCA replies as `message` events for the controller: from a serial byte stream, or from UDP
 * datagrams (one per push) behind the VISCA-over-IP header.
 */
import type { Decoder, DecoderEvent } from "../core/types.ts";
import { parseReply } from "./codec.ts";
import { IP_PAYLOAD, unwrapIp, ViscaFramer } from "./framer.ts";

export function viscaDecoder(transport: "serial" | "ip"): Decoder {
  const framer = new ViscaFramer();
  const packets = (chunk: Uint8Array): DecoderEvent[] =>
    framer.push(chunk).map((event) => (event.type === "packet" ? { type: "message", message: parseReply(event.bytes) } : event));
  if (transport === "serial") return { push: packets };
  return {
    push(datagram) {
      const unwrapped = unwrapIp(datagram);
      if (!unwrapped.ok) return [{ type: "discarded", bytes: datagram.length, reason: unwrapped.reason }];
      // Control replies (sequence reset) carry no camera message.
      if (unwrapped.payloadType !== IP_PAYLOAD.REPLY) return [];
      return packets(unwrapped.payload);
    },
  };
}
