/**
 * VISCA packets from bytes: a packet runs from a byte with bit 7 set to the next FF, 3 to 16
 * bytes long (manual: "a packet is 3 to 16 bytes"); anything else is counted and skipped.
 * Over IP, every UDP datagram carries an 8-byte header before the packet (VISCA over IP:
 * payload type, payload length, sequence number, all big-endian).
 */
import { DiscardCounter } from "../serial/byteBuffer.ts";
import { TERMINATOR } from "./codec.ts";

const MAX_PACKET = 16;

export type PacketEvent = { type: "packet"; bytes: number[] } | { type: "discarded"; bytes: number; reason: string };

export class ViscaFramer {
  readonly #discards = new DiscardCounter();
  #packet: number[] = [];

  push(chunk: Uint8Array): PacketEvent[] {
    const events: PacketEvent[] = [];
    for (const byte of chunk) {
      if (this.#packet.length === 0 && (byte & 0x80) === 0) {
        this.#discards.add(1, "no VISCA packet start");
        continue;
      }
      this.#packet.push(byte);
      if (byte === TERMINATOR && this.#packet.length >= 3) {
        const discarded = this.#discards.flush();
        if (discarded) events.push(discarded);
        events.push({ type: "packet", bytes: this.#packet });
        this.#packet = [];
      } else if (byte === TERMINATOR || this.#packet.length > MAX_PACKET) {
        this.#discards.add(this.#packet.length, "VISCA packet of a wrong length");
        this.#packet = [];
      }
    }
    const discarded = this.#discards.flush();
    if (discarded) events.push(discarded);
    return events;
  }
}

/** VISCA over IP payload types. */
export const IP_PAYLOAD = { COMMAND: 0x0100, INQUIRY: 0x0110, REPLY: 0x0111, CONTROL: 0x0200, CONTROL_REPLY: 0x0201 } as const;
export const IP_HEADER_LENGTH = 8;

export function wrapIp(payloadType: number, sequence: number, payload: Uint8Array): Uint8Array {
  const datagram = new Uint8Array(IP_HEADER_LENGTH + payload.length);
  const view = new DataView(datagram.buffer);
  view.setUint16(0, payloadType);
  view.setUint16(2, payload.length);
  view.setUint32(4, sequence >>> 0);
  datagram.set(payload, IP_HEADER_LENGTH);
  return datagram;
}

export type IpDatagram = { ok: true; payloadType: number; sequence: number; payload: Uint8Array } | { ok: false; reason: string };

export function unwrapIp(datagram: Uint8Array): IpDatagram {
  if (datagram.length < IP_HEADER_LENGTH) return { ok: false, reason: "datagram shorter than the VISCA-over-IP header" };
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const length = view.getUint16(2);
  if (length !== datagram.length - IP_HEADER_LENGTH || length > MAX_PACKET) return { ok: false, reason: "VISCA-over-IP length does not match" };
  return { ok: true, payloadType: view.getUint16(0), sequence: view.getUint32(4), payload: datagram.subarray(IP_HEADER_LENGTH) };
}
