/**
 * Runs every configured peripheral and passes on what they report: each reading (rate-limited
 * for continuous devices, stamped with a unique id and the box's sequence number) into the
 * outbox, and each peripheral's retained state, whose counters are refreshed every STATE_REFRESH_MS.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { driverById } from "../../drivers/index.ts";
import type { DeviceReading } from "../../drivers/core/types.ts";
import type { PeripheralConfig } from "../../config/schema.ts";
import type { AgentContext } from "../core/context.ts";
import { messageOf, TheaError } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { PeripheralState } from "../core/api.ts";
import type { BrokerConnection } from "../mqtt/connection.ts";
import type { DeviceTopics } from "../core/topics.ts";
import { PERIPHERAL_MEMORY_FILE, PeripheralMemoryStore } from "./memoryStore.ts";
import { Peripheral } from "./peripheral.ts";
import { readingPayload } from "./readingPayload.ts";
import type { EventLog } from "../outbox/events.ts";
import type { Outbox } from "../outbox/outbox.ts";
import { PRIORITY } from "../outbox/priority.ts";
import { ReadingThrottle } from "./throttle.ts";

/** A continuous peripheral's throttle and the timer that publishes its held-back reading. */
interface HeldBack {
  throttle: ReadingThrottle;
  timer: NodeJS.Timeout | undefined;
}

const STATE_REFRESH_MS = 30_000;

export interface PeripheralManagerOptions {
  ctx: AgentContext;
  broker: BrokerConnection;
  topics: DeviceTopics;
  outbox: Outbox;
  events: EventLog;
  /** Each change of a peripheral's state or of the list (the summary follows them at once). */
  onChange?: () => void;
}

export class PeripheralManager {
  readonly #options: PeripheralManagerOptions;
  readonly #log: Logger;
  readonly #peripherals: Peripheral[] = [];
  readonly #heldBack = new Map<Peripheral, HeldBack>();
  readonly #onConnected = () => this.#publishAllStates();
  #refreshTimer: NodeJS.Timeout | undefined;
  /** Drivers' memories across restarts (a glucose meter's last published record). */
  readonly #memories: PeripheralMemoryStore;

  constructor(options: PeripheralManagerOptions) {
    this.#options = options;
    this.#log = options.ctx.log.child({ ns: "devices" });
    this.#memories = new PeripheralMemoryStore({ file: path.join(options.ctx.config.dataDir, PERIPHERAL_MEMORY_FILE), log: this.#log });
  }

  start(): void {
    this.#memories.load();
    for (const config of this.#options.ctx.config.peripherals) this.#add(config);
    this.#options.broker.on("connected", this.#onConnected);
    this.#refreshTimer = setInterval(() => this.#publishAllStates(), STATE_REFRESH_MS);
  }

  /**
   * Takes a new peripheral list without a restart: removed and changed peripherals are stopped
   * (a removed one's retained state is cleared), new and changed ones started; untouched ones
   * keep their connection.
   */
  async reconfigure(peripherals: readonly PeripheralConfig[]): Promise<void> {
    const wanted = new Map(peripherals.map((config) => [config.id, config]));
    const going = this.#peripherals.filter((peripheral) => JSON.stringify(wanted.get(peripheral.config.id)) !== JSON.stringify(peripheral.config));
    for (const peripheral of going) {
      this.#peripherals.splice(this.#peripherals.indexOf(peripheral), 1);
      this.#releaseHeldBack(peripheral);
    }
    await Promise.all(going.map((peripheral) => peripheral.stop()));
    for (const peripheral of going) {
      if (!wanted.has(peripheral.config.id)) await this.#options.broker.publish(this.#options.topics.peripheralState(peripheral.config.id), "", { qos: 1, retain: true });
    }
    const running = new Set(this.#peripherals.map((peripheral) => peripheral.config.id));
    for (const config of peripherals) {
      if (running.has(config.id)) continue;
      const added = this.#add(config);
      if (added) void this.#publishState(added.state);
    }
    this.#options.onChange?.();
  }

  #add(config: PeripheralConfig): Peripheral | undefined {
    const driver = driverById(config.driver);
    if (!driver) return undefined; // the schema only admits registered drivers
    const peripheral = new Peripheral({ config, driver, log: this.#log, memory: this.#memories.memoryFor(config, driver) });
    const held: HeldBack = { throttle: new ReadingThrottle(config.publishRateHz), timer: undefined };
    this.#heldBack.set(peripheral, held);
    peripheral.on("reading", (reading, receivedAt) => {
      const due = held.throttle.offer(reading, receivedAt.getTime(), receivedAt);
      if (due) this.#storeReading(peripheral, due, receivedAt);
      else this.#publishWhenDue(peripheral, held);
    });
    // Emitted after the readings it describes, which #storeReading put in the outbox synchronously.
    peripheral.on("memory", (memory) => this.#memories.save(config, driver, memory));
    peripheral.on("connection", (state) => {
      const details = { peripheral: state.peripheral, driver: state.driver, path: state.path, error: state.lastError };
      this.#options.events.record(state.connected ? "peripheral.connected" : "peripheral.disconnected", details);
    });
    peripheral.on("state", (state) => {
      this.#log.info({ peripheral: state.peripheral, connected: state.connected, path: state.path, error: state.lastError }, "peripheral state");
      void this.#publishState(state);
      this.#options.onChange?.();
    });
    this.#peripherals.push(peripheral);
    peripheral.start();
    return peripheral;
  }

  /** A held-back reading with held flags goes out an interval later even if its device falls silent. */
  #publishWhenDue(peripheral: Peripheral, held: HeldBack): void {
    const dueAt = held.throttle.pendingDueAt();
    if (held.timer !== undefined || dueAt === undefined) return;
    held.timer = setTimeout(() => {
      held.timer = undefined;
      const due = held.throttle.takeDue(Date.now());
      if (due) this.#storeReading(peripheral, due.reading, due.receivedAt);
      else this.#publishWhenDue(peripheral, held);
    }, Math.max(0, dueAt - Date.now()));
  }

  /** A peripheral stopping keeps its held-back flags: their reading is stored now, not dropped. */
  #releaseHeldBack(peripheral: Peripheral): void {
    const held = this.#heldBack.get(peripheral);
    if (held === undefined) return;
    this.#heldBack.delete(peripheral);
    clearTimeout(held.timer);
    const due = held.throttle.takeDue(Date.now(), true);
    if (due) this.#storeReading(peripheral, due.reading, due.receivedAt);
  }

  async stop(): Promise<void> {
    clearInterval(this.#refreshTimer);
    this.#options.broker.off("connected", this.#onConnected);
    for (const peripheral of this.#peripherals) this.#releaseHeldBack(peripheral);
    await Promise.all(this.#peripherals.map((peripheral) => peripheral.stop()));
    await this.#memories.settled();
  }

  /** Peripherals whose driver takes `command`. */
  peripheralsFor(command: string): string[] {
    return this.#peripherals.filter((p) => p.driver.commands.some((spec) => spec.name === command)).map((p) => p.config.id);
  }

  /** Runs a device command on a peripheral (parameters already validated). */
  execute(peripheralId: string, command: string, params: unknown): Promise<unknown> {
    const peripheral = this.#peripherals.find((p) => p.config.id === peripheralId);
    if (!peripheral) return Promise.reject(new TheaError("unknown-peripheral", `no peripheral "${peripheralId}"`));
    return peripheral.execute(command, params);
  }

  /** Every disconnected peripheral looks for its device now instead of after its backoff. */
  rescan(): string[] {
    return this.#peripherals.filter((peripheral) => peripheral.rescan()).map((peripheral) => peripheral.config.id);
  }

  list(): PeripheralState[] {
    return this.#peripherals.map((peripheral) => peripheral.state);
  }

  /** Into the outbox, which numbers it, keeps it through outages and publishes it. */
  #storeReading(peripheral: Peripheral, reading: DeviceReading, receivedAt: Date): void {
    this.#options.outbox.enqueue({
      topic: this.#options.topics.peripheralReading(peripheral.config.id),
      priority: PRIORITY.clinical,
      createdAt: receivedAt.getTime(),
      payload: (seq) =>
        JSON.stringify(readingPayload(reading, { id: randomUUID(), seq, peripheral: peripheral.config.id, driver: peripheral.driver.id, receivedAt })),
    });
  }

  #publishAllStates(): void {
    for (const peripheral of this.#peripherals) void this.#publishState(peripheral.state);
  }

  async #publishState(state: PeripheralState): Promise<void> {
    const { broker, topics } = this.#options;
    await broker.publish(topics.peripheralState(state.peripheral), JSON.stringify(state), { qos: 1, retain: true });
  }
}
