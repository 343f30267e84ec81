/**
 * Cuts the bytes a browser sends over the console's WebSocket into whole MQTT packets, before any
 * parser sees them. MQTT over WebSocket may split or join packets across messages (MQTT 5.0 §6.0),
 * so bytes are held until a packet is whole; what is held is bounded by the largest packet the
 * relay lets through, known from the fixed header before the body arrives. Pure; no I/O.
 */

export type Framed = { ok: true; packets: Buffer[] } | { ok: false; error: string };

/** The Remaining Length is 1 to 4 bytes of 7 bits each (MQTT 5.0 §1.5.5, §2.1.4). */
const MAX_LENGTH_BYTES = 4;

export class MqttFramer {
  readonly #maxPacketBytes: number;
  #held: Buffer = Buffer.alloc(0);
  #failed = false;

  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /** The packets `chunk` completes; an error (and nothing more, ever) for a packet over the bound or a malformed length. */
  push(chunk: Buffer): Framed {
    if (this.#failed) return { ok: false, error: "the connection already failed" };
    this.#held = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    const packets: Buffer[] = [];
    for (;;) {
      const size = packetSize(this.#held);
      if (size === "partial") break;
      if (typeof size === "string" || size > this.#maxPacketBytes) {
        this.#failed = true;
        this.#held = Buffer.alloc(0);
        return { ok: false, error: typeof size === "string" ? size : `a packet of ${size} bytes (at most ${this.#maxPacketBytes})` };
      }
      if (this.#held.length < size) break;
      packets.push(this.#held.subarray(0, size));
      this.#held = this.#held.subarray(size);
    }
    return { ok: true, packets };
  }
}

/** A whole packet's size from its fixed header, "partial" when the header is not all there yet. */
function packetSize(bytes: Buffer): number | "partial" | string {
  let length = 0;
  for (let index = 0; index < MAX_LENGTH_BYTES; index++) {
    const byte = bytes[index + 1];
    if (byte === undefined) return "partial";
    length += (byte & 0x7f) * 128 ** index;
    if ((byte & 0x80) === 0) return 1 + index + 1 + length;
  }
  return "a malformed remaining length (more than 4 bytes)";
}
