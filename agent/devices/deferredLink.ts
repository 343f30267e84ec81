/**
 * A link whose code is imported when it first starts. A BLE peripheral's link brings node-ble,
 * dbus-next and their XML parsers (~80 modules, +6 MB of heap and +12 MB of the node binary's
 * pages on their own), which a box without a BLE device configured never needs (docs/media.md,
 * "At rest"). Events of the real link are passed on; until it is there, nothing is connected.
 */
import { EventEmitter } from "node:events";
import type { ByteLink, LinkEvents } from "../../drivers/serial/link.ts";
import { messageOf } from "../core/errors.ts";

export class DeferredLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly #load: () => Promise<ByteLink>;
  #loading: Promise<ByteLink | undefined> | undefined;
  #link: ByteLink | undefined;
  #stopped = true;

  constructor(load: () => Promise<ByteLink>) {
    super();
    this.#load = load;
  }

  start(): void {
    this.#stopped = false;
    if (this.#link) return this.#link.start();
    this.#loading ??= this.#load().then(
      (link) => {
        link.on("data", (chunk) => this.emit("data", chunk));
        link.on("state", (state) => this.emit("state", state));
        this.#link = link;
        if (!this.#stopped) link.start();
        return link;
      },
      (error: unknown) => {
        // A broken install, not a device that is away: said in the link's state; retryNow tries again.
        this.#loading = undefined;
        this.emit("state", { connected: false, error: `the link's code did not load: ${messageOf(error)}`, retryInMs: undefined });
        return undefined;
      },
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await (this.#link ?? (await this.#loading))?.stop();
  }

  write(bytes: Uint8Array): boolean {
    return this.#link?.write(bytes) ?? false;
  }

  retryNow(): boolean {
    if (this.#link) return this.#link.retryNow();
    if (this.#stopped || this.#loading) return false;
    this.start();
    return true;
  }
}
