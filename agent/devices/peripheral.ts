/**
 * One configured peripheral: its serial link, a decoder for the bytes, and the counters and state
 * an operator sees. Emits decoded readings (with their receive time) and state changes.
 */
import { EventEmitter } from "node:events";
import { SerialPort } from "serialport";
import type { PeripheralConfig } from "../../config/schema.ts";
import { parseEndpoint, TcpLink } from "../../drivers/net/tcpLink.ts";
import { UdpLink } from "../../drivers/net/udpLink.ts";
import { SerialLink, type ByteLink, type LinkState, type OpenPort } from "../../drivers/serial/link.ts";
import { DEVICE_NUMERIC } from "../../drivers/core/observations.ts";
import { DeviceCommandError, type DeviceReading, type Driver, type DriverMemory, type DriverInstance } from "../../drivers/core/types.ts";
import type { PeripheralState } from "../core/api.ts";
import type { Logger } from "../../lib/log.ts";
import { BleLink } from "./bleLink.ts";
import { findUsbPort, usbAmbiguity, usbMatches } from "./discovery.ts";

interface PeripheralEvents {
  reading: [DeviceReading, Date];
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
  #state: PeripheralState;
  #keepAlive: NodeJS.Timeout | undefined;
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

  async stop(): Promise<void> {
    clearInterval(this.#keepAlive);
    clearInterval(this.#silenceCheck);
    this.#protocol?.disconnected();
    this.#link.removeAllListeners();
    await this.#link.stop();
  }

  #onData(chunk: Buffer): void {
    const receivedAt = new Date();
    this.#lastBytesAt = receivedAt.getTime();
    if (this.#silent) this.#setSilent(false);
    for (const event of this.#protocol?.push(chunk) ?? []) {
      if (event.type === "message") continue; // consumed by the driver's controller
      if (event.type === "reply") {
        this.#link.write(event.bytes);
        continue;
      }
      if (event.type === "discarded") {
        this.#state.badFrames += 1;
        this.#state.discardedBytes += event.bytes;
        continue;
      }
      if (event.reading.flags.includes("demo-data")) {
        // A monitor in demo mode produces invented values: count them, never publish them.
        this.#state.demoReadings += 1;
        continue;
      }
      this.#state.readings += 1;
      // Published all the same, but an operator should see that the table lacks something.
      this.#state.unmappedObservations += event.reading.observations.filter((observation) => observation.type === DEVICE_NUMERIC).length;
      this.#state.lastReadingAt = receivedAt.toISOString();
      this.emit("reading", event.reading, receivedAt);
    }
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
      this.#startHandshake();
    } else {
      clearInterval(this.#keepAlive);
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

  /** Command protocols: ask the device to talk, and keep reminding it if it needs that. */
  #startHandshake(): void {
    clearInterval(this.#keepAlive);
    const handshake = this.driver.handshake(this.config.options);
    if (!handshake) return;
    this.#link.write(handshake.onOpen);
    const { keepAlive } = handshake;
    if (keepAlive) this.#keepAlive = setInterval(() => this.#link.write(keepAlive.bytes), keepAlive.intervalMs);
  }

  #createLink(options: PeripheralOptions): ByteLink {
    const { tcp, udp, ble } = options.config;
    const transport = options.driver.transport;
    if (ble && transport?.kind === "ble" && options.log) {
      return new BleLink({ target: ble, transport, log: options.log.child({ ns: "devices:ble", peripheral: options.config.id }) });
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
