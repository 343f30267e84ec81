/**
 * The durable outbox: every reading, event and health report is stored here before it is
 * published and removed only when the broker has acknowledged it. Bounded by count, bytes and
 * age; when full it drops by priority (health telemetry first, clinical readings last) and counts
 * every drop. If the disk fails (full, read-only, I/O error) it carries on in memory and says so
 * loudly in health instead of crashing.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import { messageOf } from "../errors.ts";
import type { Logger } from "../log.ts";
import { MemoryStore, PRIORITY, SqliteStore, type NewEntry, type OutboxEntry, type OutboxStore, type Priority } from "./store.ts";

export interface OutboxSettings {
  maxMessages: number;
  maxBytes: number;
  maxAgeSec: number;
}

export type DropCounts = Record<keyof typeof PRIORITY, number>;

export interface OutboxStats {
  depth: number;
  bytes: number;
  oldestPendingAgeSec: number | null;
  /** True when the disk failed and entries live in memory only. */
  degraded: boolean;
  degradedReason: string | null;
  dropped: DropCounts;
}

interface OutboxEvents {
  added: [OutboxEntry];
  /** The broker has the entry; it is gone from the outbox. */
  acknowledged: [number];
  dropped: [Partial<DropCounts>, string];
  degraded: [string];
}

const PRIORITY_NAMES = Object.fromEntries(Object.entries(PRIORITY).map(([name, value]) => [value, name])) as Record<Priority, keyof typeof PRIORITY>;

export class Outbox extends EventEmitter<OutboxEvents> {
  readonly #dir: string;
  readonly #settings: OutboxSettings;
  readonly #log: Logger;
  readonly #dropped: DropCounts = { telemetry: 0, event: 0, clinical: 0 };
  #store: OutboxStore = new MemoryStore(0, Date.now() * 1000);
  #degradedReason: string | null = null;

  constructor(options: { dataDir: string; settings: OutboxSettings; log: Logger }) {
    super();
    this.#dir = options.dataDir;
    this.#settings = options.settings;
    this.#log = options.log.child({ ns: "outbox" });
  }

  open(): void {
    try {
      this.#store = new SqliteStore(path.join(this.#dir, "outbox.db"));
      this.#degradedReason = null;
    } catch (error) {
      // Numbering continues from the clock (still increasing across restarts while it is sane).
      this.#degrade(`cannot open the outbox database: ${messageOf(error)}`, new MemoryStore(0, Date.now() * 1000));
    }
  }

  /** Stores an entry (its payload built with the next sequence number); never throws. */
  enqueue(entry: NewEntry): OutboxEntry {
    let stored: OutboxEntry;
    try {
      stored = this.#store.add(entry);
    } catch (error) {
      this.#degradeToMemory(`cannot write the outbox: ${messageOf(error)}`);
      stored = this.#store.add(entry);
    }
    this.#enforceBounds(entry.createdAt);
    this.emit("added", stored);
    return stored;
  }

  acknowledge(id: number): void {
    try {
      this.#store.remove(id);
    } catch (error) {
      this.#degradeToMemory(`cannot update the outbox: ${messageOf(error)}`);
      this.#store.remove(id);
    }
    this.emit("acknowledged", id);
  }

  after(after: number, limit: number, before?: number): OutboxEntry[] {
    return this.#store.after(after, limit, before);
  }

  maxId(): number {
    return this.#store.maxId();
  }

  stats(now = Date.now()): OutboxStats {
    const stats = this.#store.stats();
    return {
      depth: stats.count,
      bytes: stats.bytes,
      oldestPendingAgeSec: stats.oldestCreatedAt === undefined ? null : Math.round((now - stats.oldestCreatedAt) / 1000),
      degraded: this.#degradedReason !== null,
      degradedReason: this.#degradedReason,
      dropped: { ...this.#dropped },
    };
  }

  close(): void {
    this.#store.close();
  }

  #enforceBounds(now: number): void {
    const { maxMessages, maxBytes, maxAgeSec } = this.#settings;
    this.#count(this.#store.expire(now - maxAgeSec * 1000), "too old");
    let stats = this.#store.stats();
    while (stats.count > maxMessages || stats.bytes > maxBytes) {
      const excess = Math.max(1, stats.count - maxMessages, Math.ceil(((stats.bytes - maxBytes) / Math.max(1, stats.bytes)) * stats.count));
      this.#count(this.#store.evict(excess), "outbox full");
      stats = this.#store.stats();
    }
  }

  #count(dropped: OutboxEntry[], why: string): void {
    if (dropped.length === 0) return;
    const byPriority: Partial<DropCounts> = {};
    for (const entry of dropped) {
      const name = PRIORITY_NAMES[entry.priority];
      this.#dropped[name] += 1;
      byPriority[name] = (byPriority[name] ?? 0) + 1;
    }
    this.#log.warn({ dropped: byPriority, why }, "outbox dropped entries");
    this.emit("dropped", byPriority, why);
  }

  #degradeToMemory(reason: string): void {
    const old = this.#store;
    const memory = new MemoryStore(safe(() => old.maxId(), 0), safe(() => old.lastSeq(), Date.now() * 1000));
    // Whatever the failing disk can still give back moves to memory, so nothing pending is lost.
    for (const entry of safe(() => old.after(0, Number.MAX_SAFE_INTEGER), [])) memory.restore(entry);
    safe(() => old.close(), undefined);
    this.#degrade(reason, memory);
  }

  #degrade(reason: string, store: OutboxStore): void {
    this.#store = store;
    this.#degradedReason = reason;
    this.#log.error({ reason }, "OUTBOX DEGRADED: readings are kept in memory only until the disk works again");
    this.emit("degraded", reason);
  }
}

function safe<T>(work: () => T, fallback: T): T {
  try {
    return work();
  } catch {
    return fallback; // the disk is already known to be failing; the caller has logged why
  }
}
