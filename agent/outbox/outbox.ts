/**
 * The durable outbox: every reading, event and health report is stored here before it is
 * published and removed only when the broker has acknowledged it. Bounded by count, bytes and
 * age; when full it drops by priority (health telemetry first, clinical readings last) and counts
 * every drop. If the disk fails (full, read-only, I/O error) it carries on in memory and says so
 * loudly in health instead of crashing.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import { messageOf } from "../core/errors.ts";
import type { Service } from "../core/service.ts";
import type { Logger } from "../../lib/log.ts";
import { PRIORITY, type Priority } from "./priority.ts";
import { MemoryStore, SqliteStore, type NewEntry, type OutboxEntry, type OutboxStore } from "./store.ts";

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

/** The outbox's SQLite database, in the data directory. */
export const OUTBOX_FILE = "outbox.db";

const PRIORITY_NAMES = Object.fromEntries(Object.entries(PRIORITY).map(([name, value]) => [value, name])) as Record<Priority, keyof typeof PRIORITY>;

export class Outbox extends EventEmitter<OutboxEvents> implements Service {
  readonly #dir: string;
  readonly #settings: OutboxSettings;
  readonly #log: Logger;
  readonly #dropped: DropCounts = { telemetry: 0, event: 0, clinical: 0 };
  #store: OutboxStore = new MemoryStore(0, Date.now() * 1000);
  #degradedReason: string | null = null;
  readonly #acknowledged = new Set<number>();
  #flushTimer: NodeJS.Immediate | undefined;

  constructor(options: { dataDir: string; settings: OutboxSettings; log: Logger }) {
    super();
    this.#dir = options.dataDir;
    this.#settings = options.settings;
    this.#log = options.log.child({ ns: "outbox" });
  }

  /** Opens the database (or carries on in memory, degraded, when it cannot). */
  start(): void {
    try {
      this.#store = new SqliteStore(path.join(this.#dir, OUTBOX_FILE));
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

  /**
   * The broker has the entry: it goes, with the others acknowledged in the same turn of the event
   * loop, in one transaction. A delete per PUBACK meant an fsync per message, which capped replay
   * near 2,000 messages/s; a delete lost to a power cut only means a duplicate, which receivers
   * drop by id.
   */
  acknowledge(id: number): void {
    this.#acknowledged.add(id);
    this.#flushTimer ??= setImmediate(() => this.#removeAcknowledged());
    this.emit("acknowledged", id);
  }

  after(after: number, limit: number, before?: number): OutboxEntry[] {
    if (this.#acknowledged.size === 0) return this.#store.after(after, limit, before);
    // Acknowledged entries still awaiting their delete are not pending any more.
    return this.#store.after(after, limit + this.#acknowledged.size, before).filter((entry) => !this.#acknowledged.has(entry.id)).slice(0, limit);
  }

  maxId(): number {
    return this.#store.maxId();
  }

  stats(now = Date.now()): OutboxStats {
    this.#removeAcknowledged();
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

  stop(): void {
    this.#removeAcknowledged();
    this.#store.close();
  }

  #removeAcknowledged(): void {
    clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#acknowledged.size === 0) return;
    const ids = [...this.#acknowledged];
    this.#acknowledged.clear();
    try {
      this.#store.removeMany(ids);
    } catch (error) {
      this.#degradeToMemory(`cannot update the outbox: ${messageOf(error)}`);
      this.#store.removeMany(ids);
    }
  }

  #enforceBounds(now: number): void {
    // Bounds count what is really pending.
    this.#removeAcknowledged();
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
