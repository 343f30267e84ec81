/**
 * The broker side of one console relay, as tools/console/relay.ts's `relay()` sees it: a Duplex
 * whose writes are the browser's bytes and whose reads are the broker's. What the browser writes
 * goes through the person's ConsoleGate (parsed, checked against the roster, written again); the
 * first refusal ends the connection. What the broker sends passes unchanged: it only sends what
 * the checked subscriptions asked for.
 */
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { ConsoleGate } from "./consoleRelayGate.ts";

export interface ConsoleUpstreamOptions {
  socket: Socket;
  gate: ConsoleGate;
  /** Once, with why: the caller closes the browser's WebSocket with it; the broker's side is ended here. */
  onRefused: (reason: string) => void;
}

export class ConsoleUpstream extends Duplex {
  readonly #socket: Socket;
  readonly #gate: ConsoleGate;
  readonly #onRefused: (reason: string) => void;
  #refused = false;

  constructor(options: ConsoleUpstreamOptions) {
    super({ allowHalfOpen: false });
    this.#socket = options.socket;
    this.#gate = options.gate;
    this.#onRefused = options.onRefused;
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
    const gated = this.#gate.push(chunk);
    if (!gated.ok) {
      if (!this.#refused) this.#onRefused(gated.reason);
      this.#refused = true;
      done();
      // Ended after this write returns, not inside it: a write that fails would make relay() stop
      // reading the browser, whose answer to the close frame would then wait for ws's timeout.
      process.nextTick(() => this.destroy());
      return;
    }
    if (gated.bytes.length === 0 || this.#socket.write(gated.bytes)) return done();
    this.#socket.once("drain", () => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#socket.destroy();
    done(error);
  }
}
