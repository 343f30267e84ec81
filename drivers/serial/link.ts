/**
 * A serial line that stays open: it opens the port, hands bytes on, and when the cable is pulled
 * or the device powers off it reopens with backoff until the device is back, reporting each
 * change. The port itself comes from an injectable `open` function, so tests and simulators can
 * put something else behind it.
 */
import { EventEmitter } from "node:events";
// serialport's own stream class: the `SerialPort` it exports fixes the binding, and ours notices hang-ups.
import { SerialPortStream } from "@serialport/stream";
import { backoffDelayMs, type BackoffOptions } from "../../lib/backoff.ts";
import { messageOf } from "../../lib/messageOf.ts";
import type { SerialSettings } from "../core/types.ts";
import { serialBinding } from "./hangUp.ts";

/** The little a link needs from an open port. */
export interface PortLike {
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the port closes; `error` is set when it was not our doing. */
  onClose(listener: (error?: Error) => void): void;
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
}

export type OpenPort = (path: string, settings: SerialSettings) => Promise<PortLike>;

export type LinkState =
  | { connected: true; path: string }
  | { connected: false; error: string | undefined; retryInMs: number | undefined };

export interface LinkEvents {
  data: [Buffer];
  state: [LinkState];
}

/** What the agent needs from any transport to a device: serial line or TCP connection. */
export interface ByteLink extends EventEmitter<LinkEvents> {
  start(): void;
  stop(): Promise<void>;
  /** Sends bytes to the device; false when there is no connection. */
  write(bytes: Uint8Array): boolean;
  /** Tries to reconnect at once instead of waiting out the backoff; false when no retry was pending. */
  retryNow(): boolean;
}

/**
 * How a link to a device (serial line, TCP connection) waits to reconnect: doubling from 500 ms to
 * 10 s, without jitter (a device on a cable has no fleet to spread, and the `retryInMs` a link
 * reports is then the wait it keeps). The count starts over once the link is up.
 */
export const LINK_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 10_000, jitter: "none" };

export interface SerialLinkOptions {
  /** Where the device is now; undefined while it is absent (re-asked before every attempt). */
  resolvePath: () => Promise<string | undefined>;
  settings: SerialSettings;
  open?: OpenPort;
  /** LINK_BACKOFF's first window, unless given. */
  initialRetryMs?: number;
  /** LINK_BACKOFF's cap, unless given. */
  maxRetryMs?: number;
}

export class SerialLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly #options: SerialLinkOptions;
  #port: PortLike | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = true;

  constructor(options: SerialLinkOptions) {
    super();
    this.#options = options;
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const port = this.#port;
    this.#port = undefined;
    await port?.close();
  }

  /** Sends bytes to the device; false when the port is not open. */
  write(bytes: Uint8Array): boolean {
    if (!this.#port) return false;
    this.#port.write(bytes);
    return true;
  }

  retryNow(): boolean {
    if (this.#stopped || this.#timer === undefined) return false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#attempt = 0;
    void this.#connect();
    return true;
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    let path: string | undefined;
    try {
      path = await this.#options.resolvePath();
      if (path === undefined) throw new Error("device not present");
      const port = await (this.#options.open ?? openSerialPort)(path, this.#options.settings);
      if (this.#stopped) {
        await port.close();
        return;
      }
      this.#port = port;
      this.#attempt = 0;
      port.onData((chunk) => this.emit("data", chunk));
      port.onClose((error) => this.#lost(error?.message ?? "port closed"));
      this.emit("state", { connected: true, path });
    } catch (error) {
      this.#retry(messageOf(error));
    }
  }

  #lost(reason: string): void {
    this.#port = undefined;
    if (!this.#stopped) this.#retry(reason);
  }

  #retry(reason: string): void {
    const { initialRetryMs = LINK_BACKOFF.initialDelayMs, maxRetryMs = LINK_BACKOFF.maxDelayMs } = this.#options;
    const retryInMs = backoffDelayMs(this.#attempt, { ...LINK_BACKOFF, initialDelayMs: initialRetryMs, maxDelayMs: maxRetryMs });
    this.#attempt += 1;
    this.emit("state", { connected: false, error: reason, retryInMs });
    this.#timer = setTimeout(() => void this.#connect(), retryInMs);
  }
}

/** The real thing: a serialport port in raw mode with the driver's line settings (and hang-ups noticed, see hangUp.ts). */
export const openSerialPort: OpenPort = (path, settings) =>
  new Promise((resolve, reject) => {
    const port = new SerialPortStream({ binding: serialBinding, path, ...settings, autoOpen: false });
    port.open((error) => {
      if (error) {
        reject(error);
        return;
      }
      // serialport emits 'error' for write/read faults; the close that follows is what we act on.
      port.on("error", () => undefined);
      resolve({
        onData: (listener) => port.on("data", listener),
        onClose: (listener) => port.once("close", (err: (Error & { disconnected?: boolean }) | null) => listener(err ?? undefined)),
        write: (bytes) => port.write(Buffer.from(bytes)),
        close: () =>
          new Promise((done) => {
            if (!port.isOpen) done();
            else port.close(() => done());
          }),
      });
    });
  });
