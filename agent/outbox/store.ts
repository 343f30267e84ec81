/**
 * Where outbox entries live: SQLite on the data disk (node:sqlite, no native dependency), or
 * memory when the disk fails. The same small interface for both, so the outbox can fall back
 * without its callers noticing.
 *
 * Durability: WAL journal with synchronous=FULL — every committed entry is in the WAL and fsynced
 * before add() returns, so neither a crash (kill -9) nor a power cut loses it; an entry whose
 * commit had not returned was never accepted. The reading's `seq` is allocated in the same
 * transaction as its insert, so numbering has no gaps, whatever happens. Deletes of acknowledged
 * entries are batched (one transaction per event-loop turn, outbox.ts): a crash can undo the
 * last batch, which only sends those entries again.
 */
import { DatabaseSync } from "node:sqlite";
import type { Priority } from "./priority.ts";

export interface OutboxEntry {
  id: number;
  topic: string;
  payload: string;
  priority: Priority;
  createdAt: number;
  bytes: number;
}

export interface NewEntry {
  topic: string;
  priority: Priority;
  createdAt: number;
  /**
   * The payload, or for readings a function of the next sequence number. Only entries that
   * carry a seq consume one, so reading numbers have no gaps.
   */
  payload: string | ((seq: number) => string);
}

export interface StoreStats {
  count: number;
  bytes: number;
  oldestCreatedAt: number | undefined;
}

export interface OutboxStore {
  add(entry: NewEntry): OutboxEntry;
  remove(id: number): void;
  /** Removes several acknowledged entries at once (one transaction, one fsync, on disk). */
  removeMany(ids: readonly number[]): void;
  /** Entries with id > after (and < before, when given), oldest first. */
  after(after: number, limit: number, before?: number): OutboxEntry[];
  /** Drops up to `count` entries of the lowest priorities present (oldest first); returns them. */
  evict(count: number): OutboxEntry[];
  /** Drops entries created before `time`; returns how many per priority. */
  expire(time: number): OutboxEntry[];
  stats(): StoreStats;
  maxId(): number;
  lastSeq(): number;
  close(): void;
}

type Row = { id: number; topic: string; payload: string; priority: number; created_at: number; bytes: number };

const toEntry = (row: Row): OutboxEntry => ({
  id: row.id,
  topic: row.topic,
  payload: row.payload,
  priority: row.priority as Priority,
  createdAt: row.created_at,
  bytes: row.bytes,
});

export class SqliteStore implements OutboxStore {
  readonly #db: DatabaseSync;
  readonly #statements;
  /**
   * Count and bytes are kept as running totals (one full scan at open): the bounds are checked on
   * every enqueue, and counting a backlog of a million entries each time would stall the agent.
   */
  #totals: { count: number; bytes: number };

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        priority INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        bytes INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS outbox_by_priority ON outbox (priority, id);
      CREATE INDEX IF NOT EXISTS outbox_by_time ON outbox (created_at);
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO counters (name, value) VALUES ('seq', 0);
    `);
    const db = this.#db;
    this.#statements = {
      nextSeq: db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value"),
      lastSeq: db.prepare("SELECT value FROM counters WHERE name = 'seq'"),
      insert: db.prepare("INSERT INTO outbox (topic, payload, priority, created_at, bytes) VALUES (?, ?, ?, ?, ?) RETURNING id"),
      remove: db.prepare("DELETE FROM outbox WHERE id = ? RETURNING bytes"),
      after: db.prepare("SELECT * FROM outbox WHERE id > ? AND id < ? ORDER BY id LIMIT ?"),
      evictable: db.prepare("SELECT * FROM outbox ORDER BY priority, id LIMIT ?"),
      // By created_at, so the index answers it (ORDER BY id would walk the whole table).
      expired: db.prepare("SELECT * FROM outbox WHERE created_at < ? ORDER BY created_at"),
      removeBefore: db.prepare("DELETE FROM outbox WHERE created_at < ?"),
      totals: db.prepare("SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes FROM outbox"),
      oldest: db.prepare("SELECT MIN(created_at) AS oldest FROM outbox"),
      maxId: db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM outbox"),
    };
    this.#totals = this.#statements.totals.get() as { count: number; bytes: number };
  }

  add(entry: NewEntry): OutboxEntry {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const payload =
        typeof entry.payload === "string" ? entry.payload : entry.payload((this.#statements.nextSeq.get() as { value: number }).value);
      const bytes = Buffer.byteLength(payload) + entry.topic.length;
      const { id } = this.#statements.insert.get(entry.topic, payload, entry.priority, entry.createdAt, bytes) as { id: number };
      this.#db.exec("COMMIT");
      this.#totals.count += 1;
      this.#totals.bytes += bytes;
      return { id, topic: entry.topic, payload, priority: entry.priority, createdAt: entry.createdAt, bytes };
    } catch (error) {
      // A failed COMMIT (disk full) has already rolled back; a second ROLLBACK would throw and
      // hide the real cause.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  remove(id: number): void {
    const removed = this.#statements.remove.get(id) as { bytes: number } | undefined;
    if (!removed) return;
    this.#totals.count -= 1;
    this.#totals.bytes -= removed.bytes;
  }

  removeMany(ids: readonly number[]): void {
    this.#db.exec("BEGIN IMMEDIATE");
    const before = { ...this.#totals };
    try {
      for (const id of ids) this.remove(id);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#totals = before;
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  after(after: number, limit: number, before = Number.MAX_SAFE_INTEGER): OutboxEntry[] {
    return (this.#statements.after.all(after, before, limit) as Row[]).map(toEntry);
  }

  evict(count: number): OutboxEntry[] {
    const victims = (this.#statements.evictable.all(count) as Row[]).map(toEntry);
    for (const victim of victims) this.remove(victim.id);
    return victims;
  }

  expire(time: number): OutboxEntry[] {
    const victims = (this.#statements.expired.all(time) as Row[]).map(toEntry);
    if (victims.length === 0) return victims;
    this.#statements.removeBefore.run(time);
    this.#totals.count -= victims.length;
    this.#totals.bytes -= victims.reduce((sum, victim) => sum + victim.bytes, 0);
    return victims;
  }

  stats(): StoreStats {
    const { oldest } = this.#statements.oldest.get() as { oldest: number | null };
    return { ...this.#totals, oldestCreatedAt: oldest ?? undefined };
  }

  maxId(): number {
    return (this.#statements.maxId.get() as { id: number }).id;
  }

  lastSeq(): number {
    return (this.#statements.lastSeq.get() as { value: number }).value;
  }

  close(): void {
    this.#db.close();
  }
}

/** The fallback when the disk fails: same behaviour, lost on restart (health says so loudly). */
export class MemoryStore implements OutboxStore {
  readonly #entries = new Map<number, OutboxEntry>();
  #nextId: number;
  #seq: number;

  constructor(startId = 0, startSeq = 0) {
    this.#nextId = startId + 1;
    this.#seq = startSeq;
  }

  /** Takes over an entry from another store with its id, so the sender's bookkeeping still fits it. */
  restore(entry: OutboxEntry): void {
    this.#entries.set(entry.id, entry);
    this.#nextId = Math.max(this.#nextId, entry.id + 1);
  }

  add(entry: NewEntry): OutboxEntry {
    const payload = typeof entry.payload === "string" ? entry.payload : entry.payload(++this.#seq);
    const stored: OutboxEntry = { id: this.#nextId++, topic: entry.topic, payload, priority: entry.priority, createdAt: entry.createdAt, bytes: Buffer.byteLength(payload) + entry.topic.length };
    this.#entries.set(stored.id, stored);
    return stored;
  }

  remove(id: number): void {
    this.#entries.delete(id);
  }

  removeMany(ids: readonly number[]): void {
    for (const id of ids) this.#entries.delete(id);
  }

  after(after: number, limit: number, before = Number.MAX_SAFE_INTEGER): OutboxEntry[] {
    // Map iteration follows insertion, which is id order.
    return [...this.#entries.values()].filter((entry) => entry.id > after && entry.id < before).slice(0, limit);
  }

  evict(count: number): OutboxEntry[] {
    const victims = [...this.#entries.values()].sort((a, b) => a.priority - b.priority || a.id - b.id).slice(0, count);
    for (const victim of victims) this.#entries.delete(victim.id);
    return victims;
  }

  expire(time: number): OutboxEntry[] {
    const victims = [...this.#entries.values()].filter((entry) => entry.createdAt < time);
    for (const victim of victims) this.#entries.delete(victim.id);
    return victims;
  }

  stats(): StoreStats {
    let bytes = 0;
    let oldest: number | undefined;
    for (const entry of this.#entries.values()) {
      bytes += entry.bytes;
      oldest = oldest === undefined ? entry.createdAt : Math.min(oldest, entry.createdAt);
    }
    return { count: this.#entries.size, bytes, oldestCreatedAt: oldest };
  }

  maxId(): number {
    return this.#nextId - 1;
  }

  lastSeq(): number {
    return this.#seq;
  }

  close(): void {
    this.#entries.clear();
  }
}
