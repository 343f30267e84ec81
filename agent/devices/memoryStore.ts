/**
 * What drivers keep per peripheral across connections (a glucose meter's last published record,
 * drivers/core/types.ts `createMemory`), on disk so that it also outlives the agent's process: after an
 * update, a reboot or a crash the meter is asked only for records newer than the last one
 * published, instead of all of them again (each would be published a second time, new ids and
 * all, and show up twice in the patient's record).
 *
 * An entry belongs to a peripheral id, its driver and the device's configured address: a
 * peripheral reconfigured to another meter (or another driver) starts afresh instead of taking
 * over a cursor that numbers someone else's records.
 * Written after the readings the memory describes are in the outbox (Peripheral emits
 * `memory` after the chunk's readings), never before: a crash cannot make the box skip a record.
 * A crash between the outbox and this file publishes the records since the last write again on
 * the next start: the lesser evil, and rare (the write follows within one fsync).
 * Bounds: at most MAX_ENTRIES peripherals (the least recently saved go first), MAX_ENTRY_BYTES of
 * JSON per memory, a file of at most MAX_FILE_BYTES. A missing, unreadable or invalid file, or
 * entry, is a warning, and the peripherals start with a fresh memory, as before this store.
 */
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import type { PeripheralConfig } from "../../config/schema.ts";
import type { Driver, DriverMemory } from "../../drivers/core/types.ts";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { writeFileAtomic } from "../../lib/atomicFile.ts";

export const PERIPHERAL_MEMORY_FILE = "peripheralMemory.json";
/** Far more peripherals than a box drives (a handful): room for some removed and added again. */
const MAX_ENTRIES = 64;
const MAX_ENTRY_BYTES = 4096;
const MAX_FILE_BYTES = MAX_ENTRIES * (MAX_ENTRY_BYTES + 512);

const entrySchema = z.object({
  peripheral: z.string(),
  driver: z.string(),
  /** The configured Bluetooth address or port; null when the device is found otherwise. */
  address: z.string().nullable(),
  savedAt: z.string(),
  memory: z.unknown(),
});
const fileSchema = z.object({ version: z.literal(1), entries: z.array(entrySchema).max(MAX_ENTRIES) });
type Entry = z.infer<typeof entrySchema>;

export interface PeripheralMemoryStoreOptions {
  file: string;
  log: Logger;
  now?: () => Date;
}

export class PeripheralMemoryStore {
  readonly #options: PeripheralMemoryStoreOptions;
  /** By key; insertion order is the order of the last saves. */
  readonly #entries = new Map<string, Entry>();
  #writing: Promise<void> | undefined;
  #again = false;

  constructor(options: PeripheralMemoryStoreOptions) {
    this.#options = options;
  }

  /** Reads the file once, at start, before any peripheral runs. */
  load(): void {
    const { file, log } = this.#options;
    try {
      if (statSync(file).size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
      const parsed = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
      for (const entry of parsed.entries) this.#entries.set(keyOf(entry), entry);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") log.warn({ file, err: messageOf(error) }, "peripheral memory not loaded: devices start as if never read");
    }
  }

  /** The peripheral's memory as saved, or a fresh one (a warning when the saved one is not valid). */
  memoryFor(config: PeripheralConfig, driver: Driver): DriverMemory {
    const entry = this.#entries.get(keyOf(identity(config, driver)));
    if (entry === undefined) return driver.memory();
    const restored = driver.restoreMemory(entry.memory);
    if (restored !== undefined) return restored;
    this.#options.log.warn({ peripheral: config.id, driver: driver.id }, "saved peripheral memory not valid: the device starts as if never read");
    return driver.memory();
  }

  /** Keeps the peripheral's memory (JSON from Driver.memoryJson) and writes the file. */
  save(config: PeripheralConfig, driver: Driver, memory: unknown): void {
    const entry: Entry = { ...identity(config, driver), savedAt: (this.#options.now?.() ?? new Date()).toISOString(), memory };
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) {
      this.#options.log.warn({ peripheral: config.id, driver: driver.id, maxBytes: MAX_ENTRY_BYTES }, "peripheral memory too large to keep across restarts");
      return;
    }
    const key = keyOf(entry);
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(oldest);
    }
    this.#write();
  }

  /** Resolves when what was saved so far is on disk (the agent's stop waits for it). */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /**
   * One write at a time, and one more after it for every save in between: a pull of hundreds of
   * records is not hundreds of fsyncs, and the last save is always the one that stays.
   */
  #write(): void {
    if (this.#writing) {
      this.#again = true;
      return;
    }
    const contents = JSON.stringify({ version: 1, entries: [...this.#entries.values()] } satisfies z.infer<typeof fileSchema>);
    this.#writing = writeFileAtomic(this.#options.file, contents)
      .catch((error: unknown) => this.#options.log.warn({ file: this.#options.file, err: messageOf(error) }, "peripheral memory not written"))
      .finally(() => {
        this.#writing = undefined;
        if (this.#again) {
          this.#again = false;
          this.#write();
        }
      });
  }
}

function identity(config: PeripheralConfig, driver: Driver): Pick<Entry, "peripheral" | "driver" | "address"> {
  // Bluetooth addresses are shown upper case by BlueZ but may be configured either way.
  const address = config.ble?.address?.toUpperCase() ?? config.port ?? null;
  return { peripheral: config.id, driver: driver.id, address };
}

const keyOf = (entry: Pick<Entry, "peripheral" | "driver" | "address">) => JSON.stringify([entry.peripheral, entry.driver, entry.address]);
