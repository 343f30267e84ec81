/**
 * Runs every configured peripheral, each with its readings' way into the outbox (readingPath.ts),
 * and publishes each peripheral's retained state, whose counters are refreshed every STATE_REFRESH_MS.
 */
import path from "node:path";
import { driverById } from "../../drivers/index.ts";
import type { PeripheralConfig } from "../../config/schema.ts";
import type { AgentContext } from "../core/context.ts";
import { messageOf, TheaError } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { PeripheralState } from "../core/api.ts";
import type { BrokerConnection } from "../mqtt/connection.ts";
import { publishJson } from "../mqtt/publish.ts";
import type { DeviceTopics } from "../core/topics.ts";
import { PERIPHERAL_MEMORY_FILE, PeripheralMemoryStore } from "./memoryStore.ts";
import { Peripheral } from "./peripheral.ts";
import type { EventLog } from "../outbox/events.ts";
import type { Outbox } from "../outbox/outbox.ts";

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
    const { outbox, topics } = this.#options;
    const memory = this.#memories.memoryFor(config, driver);
    const peripheral = new Peripheral({ config, driver, log: this.#log, memory, outbox, readingTopic: topics.peripheralReading(config.id) });
    // Emitted after the readings it describes, which the reading path put in the outbox synchronously.
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

  /** A peripheral stopping keeps its held-back flags: their reading is stored now, not dropped. */
  #releaseHeldBack(peripheral: Peripheral): void {
    peripheral.releaseHeldBack();
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

  #publishAllStates(): void {
    for (const peripheral of this.#peripherals) void this.#publishState(peripheral.state);
  }

  async #publishState(state: PeripheralState): Promise<void> {
    const { broker, topics } = this.#options;
    await publishJson(broker, topics.peripheralState(state.peripheral), state, { qos: 1, retain: true });
  }
}
