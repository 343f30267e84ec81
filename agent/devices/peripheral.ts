/**
 * One configured peripheral: its link, a driver instance for each connection, and the state an
 * operator sees. Each chunk of bytes takes the way of a reading (readingPath.ts) to the outbox;
 * everything written to the device goes through the driver instance's DeviceIo. Emits state
 * changes and the driver's memory.
 */
import { EventEmitter } from "node:events";
import { SerialPort } from "serialport";
import type { PeripheralConfig } from "../../config/schema.ts";
import { parseEndpoint, TcpLink } from "../../drivers/net/tcpLink.ts";
import { UdpLink } from "../../drivers/net/udpLink.ts";
import { SerialLink, type ByteLink, type LinkState, type OpenPort } from "../../drivers/serial/link.ts";
import { DeviceCommandError, type Driver, type DriverMemory, type DriverInstance } from "../../drivers/core/types.ts";
import type { PeripheralState } from "../core/api.ts";
import type { Logger } from "../../lib/log.ts";
import { DeferredLink } from "./deferredLink.ts";
import { findUsbPort, usbAmbiguity, usbMatches } from "./discovery.ts";
import { ReadingPath, type ReadingOutbox } from "./readingPath.ts";

interface PeripheralEvents {
  /** Any news: connection, error, path. */
  state: [PeripheralState];
  /** Only when the line came up or went away. */
  connection: [PeripheralState];
  /** The driver's memory changed (its JSON, Driver.memoryJson), after the readings it describes. */
  memory: [unknown];
}

export interface PeripheralOptions {
  config: PeripheralConfig;
  driver: Driver;
  open?: OpenPort;
  /** For a Bluetooth LE link, which logs what it cannot show in the state (a failed write). */
  log?: Logger;
  /** The driver's memory as kept before (across a restart, memoryStore.ts); a fresh one otherwise. */
  memory?: DriverMemory;
  /** Where the peripheral's readings go (the Outbox), and on which topic they are published. */
  outbox: ReadingOutbox;
  readingTopic: string;
}

export class Peripheral extends EventEmitter<PeripheralEvents> {
  readonly config: PeripheralConfig;
  readonly driver: Driver;
  readonly #link: ByteLink;
  /** What the driver keeps across this peripheral's connections (a glucose meter's last record). */
  readonly #memory: DriverMemory;
  /** The memory's JSON as last told (`memory` event): only a change is written. */
  #memoryJson: string | undefined;
  #protocol: DriverInstance | undefined;
  readonly #state: PeripheralState;
  readonly #readings: ReadingPath;
  /** Watches a continuous device's line for silence while it is up (see silentAfterSec). */
  #silenceCheck: NodeJS.Timeout | undefined;
  #lastBytesAt = 0;
  /** The line is up but the device has said nothing for silentAfterSec: reported disconnected. */
  #silent = false;

  constructor(options: PeripheralOptions) {
    super();
    this.config = options.config;
    this.driver = options.driver;
    this.#state = {
      peripheral: options.config.id,
      driver: options.driver.id,
      connected: false,
      path: options.config.port ?? options.config.ble?.address ?? null,
      lastError: null,
      readings: 0,
      demoReadings: 0,
      unmappedObservations: 0,
      badFrames: 0,
      discardedBytes: 0,
      lastReadingAt: null,
      since: new Date().toISOString(),
    };
    this.#readings = new ReadingPath({
      peripheral: options.config.id,
      driver: options.driver.id,
      topic: options.readingTopic,
      publishRateHz: options.config.publishRateHz,
      outbox: options.outbox,
      counters: this.#state,
    });
    this.#link = this.#createLink(options);
    this.#memory = options.memory ?? options.driver.memory();
    this.#memoryJson = JSON.stringify(options.driver.memoryJson(this.#memory));
  }

  get state(): PeripheralState {
    return { ...this.#state };
  }

  start(): void {
    this.#link.on("data", (chunk) => this.#onData(chunk));
    this.#link.on("state", (state) => this.#onLinkState(state));
    this.#link.start();
  }

  /** Runs a device command (ptz.move, …); fails with device-unavailable while disconnected. */
  execute(command: string, params: unknown): Promise<unknown> {
    if (!this.#protocol || !this.#state.connected) {
      return Promise.reject(new DeviceCommandError("device-unavailable", `${this.config.id} is not connected`));
    }
    return this.#protocol.execute(command, params);
  }

  /** Looks for the device again now (peripherals.rescan); true when it was waiting to retry. */
  rescan(): boolean {
    return this.#link.retryNow();
  }

  /** Stores a held-back reading with flags now (before stopping), so they are not lost. */
  releaseHeldBack(): void {
    this.#readings.release();
  }

  async stop(): Promise<void> {
    clearInterval(this.#silenceCheck);
    this.#protocol?.disconnected();
    this.#link.removeAllListeners();
    await this.#link.stop();
  }

  #onData(chunk: Buffer): void {
    const receivedAt = new Date();
    this.#lastBytesAt = receivedAt.getTime();
    if (this.#silent) this.#setSilent(false);
    if (this.#protocol) this.#readings.receive(chunk, this.#protocol, receivedAt);
    this.#memoryChanged();
  }

  /** After the chunk's readings went out (into the outbox, synchronously): a cursor never runs ahead of them. */
  #memoryChanged(): void {
    const memory = this.driver.memoryJson(this.#memory);
    if (memory === undefined) return;
    const json = JSON.stringify(memory);
    if (json === this.#memoryJson) return;
    this.#memoryJson = json;
    this.emit("memory", memory);
  }

  #onLinkState(link: LinkState): void {
    this.#silent = false;
    this.#watchForSilence(link.connected);
    const changed = link.connected !== this.#state.connected;
    const previousError = this.#state.lastError;
    if (link.connected) {
      // Fresh protocol state: bytes from before the reconnect cannot complete a frame.
      this.#protocol?.disconnected();
      this.#protocol = this.driver.instantiate(this.config.options, { send: (bytes) => this.#link.write(bytes) }, this.#memory);
      this.#state.path = link.path;
      this.#state.lastError = null;
      this.#protocol.connected();
    } else {
      this.#protocol?.disconnected();
      this.#protocol = undefined;
      this.#state.lastError = link.error ?? null;
    }
    this.#state.connected = link.connected;
    if (changed) this.#state.since = new Date().toISOString();
    // Retries repeat the same error every few seconds; only news is published.
    if (changed || this.#state.lastError !== previousError) this.emit("state", this.state);
    if (changed) this.emit("connection", this.state);
  }

  /**
   * A device switched off while its USB adapter stays plugged in (or an RS-232 device with its own
   * power) closes nothing: the line stays up and simply goes quiet. A continuous device always
   * talks, so silence that long means it is gone, and its first bytes mean it is back.
   */
  #watchForSilence(lineUp: boolean): void {
    clearInterval(this.#silenceCheck);
    this.#silenceCheck = undefined;
    const limitMs = this.config.silentAfterSec * 1000;
    if (!lineUp || limitMs === 0 || this.driver.kind !== "continuous") return;
    this.#lastBytesAt = Date.now();
    this.#silenceCheck = setInterval(() => {
      if (!this.#silent && Date.now() - this.#lastBytesAt >= limitMs) this.#setSilent(true);
    }, Math.min(1000, limitMs));
  }

  #setSilent(silent: boolean): void {
    this.#silent = silent;
    this.#state.connected = !silent;
    this.#state.lastError = silent ? `no data from the device for ${this.config.silentAfterSec} s (switched off?)` : null;
    this.#state.since = new Date().toISOString();
    this.emit("state", this.state);
    this.emit("connection", this.state);
  }

  #createLink(options: PeripheralOptions): ByteLink {
    const { tcp, udp, ble } = options.config;
    const transport = options.driver.transport;
    if (ble && transport?.kind === "ble" && options.log) {
      const log = options.log.child({ ns: "devices:ble", peripheral: options.config.id });
      return new DeferredLink(async () => new (await import("./bleLink.ts")).BleLink({ target: ble, transport, log }));
    }
    const camera = parseEndpoint(udp ?? "");
    if (camera) return new UdpLink("connect", camera);
    const endpoint = parseEndpoint(tcp?.listen ?? tcp?.connect ?? "");
    if (endpoint) return new TcpLink(tcp?.listen ? "listen" : "connect", endpoint);
    return new SerialLink({
      resolvePath: () => this.#resolvePath(),
      settings: options.driver.serialSettings(options.config.options),
      ...(options.open && { open: options.open }),
    });
  }

  async #resolvePath(): Promise<string | undefined> {
    const { port, usb } = this.config;
    if (port !== undefined) return port;
    if (usb === undefined) return undefined;
    const ports = await SerialPort.list();
    const matches = usbMatches(usb, this.driver.usb);
    const path = findUsbPort(ports, matches);
    // Several adapters with the same generic chip: say so, rather than "not present".
    const ambiguity = path === undefined ? usbAmbiguity(ports, matches) : undefined;
    if (ambiguity) throw new Error(ambiguity);
    return path;
  }
}
