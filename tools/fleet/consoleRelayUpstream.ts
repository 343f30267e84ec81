/**
 * The broker side of one console relay, as tools/console/relay.ts's `relay()` sees it: a Duplex
 * whose writes are the browser's bytes and whose reads are the broker's. Before anything reaches
 * the broker, the browser's bytes are cut into whole packets (consoleRelayFramer.ts), parsed by
 * mqtt-packet (the parser mqtt.js itself uses), checked by the person's ConsolePolicy, and written
 * again from the parsed packet: the broker receives exactly what was checked, never bytes a
 * second parser might read differently. The first refusal ends the connection; what the broker
 * sends passes unchanged (it only sends what the checked subscriptions asked for).
 */
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import mqttPacket, { type Packet } from "mqtt-packet";
import { MqttFramer } from "./consoleRelayFramer.ts";
import type { ConsolePolicy } from "./consoleRelayPolicy.ts";

export interface ConsoleUpstreamOptions {
  socket: Socket;
  policy: ConsolePolicy;
  maxPacketBytes: number;
  /** Once, with why: the caller closes the browser's WebSocket with it; the broker's side is already ended. */
  onRefused: (reason: string) => void;
}

export class ConsoleUpstream extends Duplex {
  readonly #socket: Socket;
  readonly #policy: ConsolePolicy;
  readonly #framer: MqttFramer;
  readonly #onRefused: (reason: string) => void;
  /** MQTT 5 once the CONNECT said so: mqtt-packet reads properties by the version it last parsed. */
  readonly #parser = mqttPacket.parser({ protocolVersion: 5 });
  #parsed: Packet[] = [];
  #parseError: string | undefined;

  constructor(options: ConsoleUpstreamOptions) {
    super({ allowHalfOpen: false });
    this.#socket = options.socket;
    this.#policy = options.policy;
    this.#framer = new MqttFramer(options.maxPacketBytes);
    this.#onRefused = options.onRefused;
    this.#parser.on("packet", (packet: Packet) => this.#parsed.push(packet));
    this.#parser.on("error", (error: unknown) => (this.#parseError = error instanceof Error ? error.message : String(error)));
    this.#socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) this.#socket.pause();
    });
    this.#socket.on("end", () => this.push(null));
    this.#socket.on("close", () => this.destroy());
    this.#socket.on("error", (error) => this.destroy(error));
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const framed = this.#framer.push(chunk);
    if (!framed.ok) return this.#refuse(framed.error, done);
    const out: Buffer[] = [];
    for (const bytes of framed.packets) {
      const packet = this.#parse(bytes);
      if (typeof packet === "string") return this.#refuse(packet, done);
      const verdict = this.#policy.check(packet);
      if (!verdict.ok) return this.#refuse(verdict.reason, done);
      const written = writtenAgain(verdict.packet);
      if (written === undefined) return this.#refuse(`a ${packet.cmd} that cannot be written again`, done);
      out.push(written);
    }
    if (out.length === 0 || this.#socket.write(Buffer.concat(out))) return done();
    this.#socket.once("drain", () => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#socket.destroy();
    done(error);
  }

  /** One whole packet's bytes parsed, or why they are not a packet. */
  #parse(bytes: Buffer): Packet | string {
    this.#parsed = [];
    this.#parseError = undefined;
    this.#parser.parse(bytes);
    const [packet] = this.#parsed;
    if (this.#parseError !== undefined) return `a malformed packet: ${this.#parseError}`;
    return packet && this.#parsed.length === 1 ? packet : "a malformed packet";
  }

  #refuse(reason: string, done: (error?: Error | null) => void): void {
    this.#onRefused(reason);
    this.destroy();
    done();
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
