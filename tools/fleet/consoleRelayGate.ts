/**
 * The browser-to-broker direction of one console relay, pure: bytes in, the bytes to send the
 * broker (or why the connection must end) out. The bytes are cut into whole packets
 * (consoleRelayFramer.ts), parsed by mqtt-packet (the parser mqtt.js itself uses), checked by the
 * person's ConsolePolicy, and written again from the parsed packet: the broker receives exactly
 * what was checked, never bytes a second parser might read differently. After one refusal the
 * gate lets nothing more through.
 */
import mqttPacket, { type Packet } from "mqtt-packet";
import { MqttFramer } from "./consoleRelayFramer.ts";
import type { ConsolePolicy } from "./consoleRelayPolicy.ts";

export type Gated = { ok: true; bytes: Buffer } | { ok: false; reason: string };

export class ConsoleGate {
  readonly #policy: ConsolePolicy;
  readonly #framer: MqttFramer;
  /** MQTT 5 from the start: mqtt-packet reads properties by the version it was told or last parsed. */
  readonly #parser = mqttPacket.parser({ protocolVersion: 5 });
  #parsed: Packet[] = [];
  #parseErrors: string[] = [];
  #refused: string | undefined;

  constructor(options: { policy: ConsolePolicy; maxPacketBytes: number }) {
    this.#policy = options.policy;
    this.#framer = new MqttFramer(options.maxPacketBytes);
    this.#parser.on("packet", (packet: Packet) => this.#parsed.push(packet));
    this.#parser.on("error", (error: unknown) => this.#parseErrors.push(error instanceof Error ? error.message : String(error)));
  }

  push(chunk: Buffer): Gated {
    if (this.#refused !== undefined) return { ok: false, reason: this.#refused };
    const framed = this.#framer.push(chunk);
    if (!framed.ok) return this.#refuse(framed.error);
    const out: Buffer[] = [];
    for (const bytes of framed.packets) {
      const packet = this.#parse(bytes);
      if (typeof packet === "string") return this.#refuse(packet);
      const verdict = this.#policy.check(packet);
      if (!verdict.ok) return this.#refuse(verdict.reason);
      const written = writtenAgain(verdict.packet);
      if (written === undefined) return this.#refuse(`a ${packet.cmd} that cannot be written again`);
      out.push(written);
    }
    return { ok: true, bytes: Buffer.concat(out) };
  }

  /** One whole packet's bytes parsed, or why they are not one packet. */
  #parse(bytes: Buffer): Packet | string {
    this.#parsed = [];
    this.#parseErrors = [];
    this.#parser.parse(bytes);
    const [packet] = this.#parsed;
    const [error] = this.#parseErrors;
    if (error !== undefined) return `a malformed packet: ${error.slice(0, 80)}`;
    return packet && this.#parsed.length === 1 ? packet : "a malformed packet";
  }

  #refuse(reason: string): Gated {
    this.#refused = reason;
    return { ok: false, reason };
  }
}

/** The packet's bytes as mqtt-packet writes them; undefined for one it will not write (a value out of range). */
function writtenAgain(packet: Packet): Buffer | undefined {
  try {
    return mqttPacket.generate(packet, { protocolVersion: 5 });
  } catch (error) {
    if (error instanceof Error) return undefined;
    throw error;
  }
}
