/**
 * A Bluetooth LE device through BlueZ over D-Bus (node-ble; no raw HCI), with the events of a
 * serial line: it finds the device (by address, or by the service it advertises, discovering if
 * BlueZ does not know it yet), pairs where configured, connects, reads the Device Information
 * strings, subscribes to the driver's characteristics and relays every value as a GATT frame
 * (drivers/ble-health/gattStream.ts). When the device goes away it reconnects with backoff.
 *
 * A device that floods notifications is bounded here, before decoding: a token bucket lets a
 * glucose meter's stored records through in one burst and then no more than a steady rate; the
 * values dropped are counted (a DROPPED frame, shown as badFrames) and nothing queues up.
 */
import { EventEmitter } from "node:events";
import type { MessageBus } from "dbus-next";
import { createBluetooth, type Device, type GattCharacteristic } from "node-ble";
import { droppedFrame, encodeFrame, FRAME_KIND, GattFrameReader, readyFrame, type GattFrame } from "../../drivers/ble-health/gattStream.ts";
import type { BleTransport } from "../../drivers/core/types.ts";
import type { ByteLink, LinkEvents } from "../../drivers/serial/link.ts";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { ReconnectBackoff } from "../../lib/backoff.ts";
import { ValueBudget } from "./valueBudget.ts";
import { listDevices, openSystemBus, pickDevice, preferPlainSystemBusSocket, serviceUuid, uuid16Of } from "./bluez.ts";

export interface BleTarget {
  address?: string | undefined;
  service?: string | undefined;
  pair: boolean;
  adapter?: string | undefined;
}

export interface BleLinkOptions {
  target: BleTarget;
  transport: BleTransport;
  log: Logger;
  /** How long one attempt (discover, pair, connect, resolve services, subscribe) may take. */
  attemptTimeoutMs?: number;
  /** How often BlueZ's device list is looked at while discovering. */
  discoveryPollMs?: number;
  /** Values let through at once (a meter's memory of stored records) and per second after that. */
  burstValues?: number;
  valuesPerSecond?: number;
}

const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;
/** A glucose meter keeps up to ~500–1000 records; one full RACP transfer passes the bucket whole. */
const DEFAULT_BURST_VALUES = 1000;
/** Well above any standard device (a continuous oximeter notifies ~1–3 times a second). */
const DEFAULT_VALUES_PER_SECOND = 20;

/** One connection: everything to undo when it ends. */
interface Connection {
  bus: MessageBus;
  destroy: () => void;
  device: Device | undefined;
  characteristics: Map<number, GattCharacteristic>;
  address: string | undefined;
}

export class BleLink extends EventEmitter<LinkEvents> implements ByteLink {
  readonly #options: BleLinkOptions;
  readonly #log: Logger;
  readonly #backoff = new ReconnectBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 30_000 });
  readonly #outgoing = new GattFrameReader();
  #connection: Connection | undefined;
  #up = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #attempt = 0;
  // Flood bound, and what was dropped since it was last reported.
  readonly #budget: ValueBudget;
  #dropped = new Map<number, { values: number; bytes: number }>();
  #dropReport: NodeJS.Timeout | undefined;

  constructor(options: BleLinkOptions) {
    super();
    this.#options = options;
    this.#log = options.log;
    this.#budget = new ValueBudget({ burst: options.burstValues ?? DEFAULT_BURST_VALUES, perSecond: options.valuesPerSecond ?? DEFAULT_VALUES_PER_SECOND, now: Date.now() });
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#dropReport);
    await this.#close();
  }

  retryNow(): boolean {
    if (this.#stopped || this.#timer === undefined) return false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#connect();
    return true;
  }

  /** Takes the driver's WRITE frames and writes each to its characteristic, if the driver may. */
  write(bytes: Uint8Array): boolean {
    const connection = this.#connection;
    if (!connection || !this.#up) return false;
    for (const event of this.#outgoing.push(bytes)) {
      if (event.type !== "frame" || event.frame.kind !== FRAME_KIND.WRITE) {
        this.#log.warn({ event: event.type }, "the driver sent something other than a write frame; ignored");
        continue;
      }
      const { characteristic, value } = event.frame;
      const target = connection.characteristics.get(characteristic);
      if (!this.#options.transport.write.includes(characteristic) || !target) {
        this.#log.warn({ characteristic: hex(characteristic) }, "write to a characteristic the driver may not write, or the device lacks; not sent");
        continue;
      }
      target.writeValueWithResponse(Buffer.from(value)).then(
        () => this.#log.debug({ characteristic: hex(characteristic), bytes: value.length }, "written"),
        (error: unknown) => this.#log.warn({ characteristic: hex(characteristic), error: messageOf(error) }, "write to the device failed"),
      );
    }
    return true;
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const attempt = ++this.#attempt;
    let failure: Error | undefined;
    preferPlainSystemBusSocket();
    const { bluetooth, destroy } = createBluetooth();
    const connection: Connection = {
      bus: openSystemBus((error) => (failure ??= error)),
      destroy,
      device: undefined,
      characteristics: new Map(),
      address: undefined,
    };
    // node-ble keeps its bus to itself; an 'error' from it (no system bus) must not go unhandled.
    const nodeBleBus: unknown = Reflect.get(bluetooth, "dbus");
    if (nodeBleBus instanceof EventEmitter) nodeBleBus.on("error", (error: unknown) => (failure ??= error instanceof Error ? error : new Error(String(error))));
    this.#connection = connection;
    const timeoutMs = this.#options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#open(connection, bluetooth, () => failure),
        new Promise<never>((_resolve, reject) => {
          deadline = setTimeout(() => reject(new Error(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      // Already ended elsewhere (stopped, or the device's disconnect was handled and retried).
      if (attempt !== this.#attempt || this.#stopped || connection !== this.#connection) return;
      await this.#close();
      this.#retry(messageOf(failure ?? error));
    } finally {
      clearTimeout(deadline);
    }
  }

  async #open(connection: Connection, bluetooth: ReturnType<typeof createBluetooth>["bluetooth"], failure: () => Error | undefined): Promise<void> {
    const { target, transport } = this.#options;
    const adapterName = target.adapter ?? (await bluetooth.adapters())[0];
    if (adapterName === undefined) throw new Error("no Bluetooth adapter");
    const adapter = await bluetooth.getAdapter(adapterName);
    if (!(await adapter.isPowered())) throw new Error(`Bluetooth adapter ${adapterName} is powered off`);
    const wanted = { adapter: `/org/bluez/${adapterName}`, address: target.address, service: target.service === undefined ? undefined : serviceUuid(target.service) };
    let found = pickDevice(await listDevices(connection.bus), wanted);
    if (!found) {
      // Not known to BlueZ yet: discover until it shows up (the attempt's deadline bounds this).
      const discovering = await adapter.isDiscovering();
      if (!discovering) await adapter.startDiscovery();
      try {
        while (!found) {
          const error = failure();
          if (error) throw error;
          await new Promise((resolve) => setTimeout(resolve, this.#options.discoveryPollMs ?? 500));
          if (this.#stopped || connection !== this.#connection) throw new Error("attempt abandoned");
          found = pickDevice(await listDevices(connection.bus), wanted);
        }
      } finally {
        // BlueZ connects more reliably with discovery off; leave someone else's discovery alone.
        if (!discovering) await adapter.stopDiscovery().catch((error: unknown) => this.#log.debug({ error: messageOf(error) }, "stopping discovery failed"));
      }
    }
    connection.address = found.address;
    const device = await adapter.getDevice(found.address);
    connection.device = device;
    if (target.pair && !(await device.isPaired())) {
      this.#log.info({ address: found.address }, "pairing with the device");
      await device.pair();
    }
    device.on("disconnect", () => void this.#lost(connection, "the device disconnected"));
    await device.connect();
    const gatt = await device.gatt();
    for (const serviceUuidText of await gatt.services()) {
      const service = await gatt.getPrimaryService(serviceUuidText);
      for (const characteristicUuid of await service.characteristics()) {
        const uuid16 = uuid16Of(characteristicUuid);
        if (uuid16 !== undefined) connection.characteristics.set(uuid16, await service.getCharacteristic(characteristicUuid));
      }
    }
    // An attempt past its deadline goes on in the background: it must not come up after all.
    if (this.#stopped || connection !== this.#connection) throw new Error("attempt abandoned");
    // Up: the peripheral starts a fresh decoder now, so every frame from here on reaches it.
    this.#up = true;
    this.#backoff.connected(Date.now());
    this.emit("state", { connected: true, path: found.address });
    for (const uuid16 of transport.read) {
      const characteristic = connection.characteristics.get(uuid16);
      if (!characteristic) continue;
      const value = await characteristic.readValue();
      this.#relay({ kind: FRAME_KIND.VALUE, characteristic: uuid16, value });
    }
    const subscribed: number[] = [];
    for (const uuid16 of transport.subscribe) {
      const characteristic = connection.characteristics.get(uuid16);
      if (!characteristic) continue;
      characteristic.on("valuechanged", (value: Buffer) => this.#onValue(connection, uuid16, value));
      await characteristic.startNotifications();
      subscribed.push(uuid16);
    }
    this.#log.info({ address: found.address, subscribed: subscribed.map(hex) }, "Bluetooth LE device connected");
    this.#relay(readyFrame(Date.now(), [...connection.characteristics.keys()]));
  }

  #onValue(connection: Connection, uuid16: number, value: Buffer): void {
    if (connection !== this.#connection || !this.#up) return;
    if (!this.#budget.take(Date.now())) {
      const dropped = this.#dropped.get(uuid16) ?? { values: 0, bytes: 0 };
      dropped.values += 1;
      dropped.bytes += value.length;
      this.#dropped.set(uuid16, dropped);
      this.#dropReport ??= setTimeout(() => this.#reportDropped(), 1000);
      return;
    }
    this.#relay({ kind: FRAME_KIND.VALUE, characteristic: uuid16, value: value.subarray(0, 512) });
  }

  #reportDropped(): void {
    this.#dropReport = undefined;
    for (const [uuid16, { values, bytes }] of this.#dropped) {
      this.#log.warn({ characteristic: hex(uuid16), values }, "the device floods notifications; values dropped");
      this.#relay(droppedFrame(uuid16, values, bytes));
    }
    this.#dropped.clear();
  }

  #relay(frame: GattFrame): void {
    if (this.#up) this.emit("data", Buffer.from(encodeFrame(frame)));
  }

  async #lost(connection: Connection, reason: string): Promise<void> {
    if (connection !== this.#connection || this.#stopped) return;
    this.#log.info({ address: connection.address, reason }, "Bluetooth LE device lost");
    await this.#close();
    this.#retry(reason);
  }

  #retry(reason: string): void {
    if (this.#stopped) return;
    const retryInMs = this.#backoff.nextDelayMs(Date.now());
    this.emit("state", { connected: false, error: reason, retryInMs });
    this.#timer = setTimeout(() => void this.#connect(), retryInMs);
  }

  /** Ends the connection: notifications off, device disconnected, both buses closed. */
  async #close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#up = false;
    if (!connection) return;
    for (const characteristic of connection.characteristics.values()) characteristic.removeAllListeners("valuechanged");
    const device = connection.device;
    if (device) {
      device.removeAllListeners("disconnect");
      // Bounded: a BlueZ that no longer answers must not hold up a reconnect or a shutdown.
      await Promise.race([device.disconnect().catch((error: unknown) => this.#log.debug({ error: messageOf(error) }, "disconnect failed (already gone?)")), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
    connection.bus.disconnect();
    connection.destroy();
  }
}

const hex = (uuid16: number) => `0x${uuid16.toString(16).padStart(4, "0")}`;
