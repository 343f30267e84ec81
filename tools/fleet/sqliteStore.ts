/**
 * The fleet's store in one SQLite file (node:sqlite, no native dependency).
 *
 * WAL with synchronous=NORMAL: the file is never corrupted, but a power cut may undo the last
 * batches committed before it (SQLite docs, PRAGMA synchronous: NORMAL in WAL mode is consistent,
 * not durable).
 * Nothing here is the only copy: the boxes' retained `status` and `summary` rebuild the current
 * state at the next start, so the fsync per batch that FULL costs buys nothing. Writes come in
 * batches (fleet.ts coalesces them), one transaction each. The methods answer promises, as the
 * FleetStore interface asks, but do their work at once (node:sqlite is synchronous).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { BoxHistoryEntry } from "./model.ts";
import { entryOf, type FleetStore, type HistoryRecord, type PruneLimits } from "./store.ts";
import type { BoxState } from "./types/boxState.ts";

const SCHEMA = `
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = NORMAL;
  CREATE TABLE IF NOT EXISTS box_state (
    device_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS box_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    entry TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS box_history_by_box ON box_history (device_id, at_ms, id);
  CREATE INDEX IF NOT EXISTS box_history_by_time ON box_history (at_ms);
`;

/**
 * Added after the first increment (a file made by it lacks the column): what an entry records,
 * so that a transition appended twice is kept once (store.ts, HistoryRecord).
 */
const ONCE_KEY = "ALTER TABLE box_history ADD COLUMN once_key TEXT";
const ONCE_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS box_history_once ON box_history (device_id, once_key) WHERE once_key IS NOT NULL";

export function openSqliteStore(path: string): FleetStore {
  return new SqliteFleetStore(new DatabaseSync(path));
}

class SqliteFleetStore implements FleetStore {
  readonly #db: DatabaseSync;
  readonly #statements: Record<"upsert" | "states" | "append" | "history" | "pruneOld" | "pruneOverCap", StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(SCHEMA);
    const columns = db.prepare("PRAGMA table_info(box_history)").all().map((row) => String(row.name));
    if (!columns.includes("once_key")) db.exec(ONCE_KEY);
    db.exec(ONCE_INDEX);
    this.#statements = {
      upsert: db.prepare("INSERT INTO box_state (device_id, state) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET state = excluded.state"),
      states: db.prepare("SELECT state FROM box_state"),
      append: db.prepare("INSERT INTO box_history (device_id, at_ms, entry, once_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
      history: db.prepare("SELECT entry FROM box_history WHERE device_id = ? AND at_ms >= ? ORDER BY at_ms, id"),
      pruneOld: db.prepare("DELETE FROM box_history WHERE at_ms < ?"),
      // Window functions need SQLite ≥ 3.25; node:sqlite bundles a far newer one.
      pruneOverCap: db.prepare(`DELETE FROM box_history WHERE id IN (
        SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY at_ms DESC, id DESC) AS newer FROM box_history)
        WHERE newer > ?)`),
    };
  }

  async upsert(states: readonly BoxState[]): Promise<void> {
    this.#inTransaction(() => {
      for (const state of states) this.#statements.upsert.run(state.deviceId, JSON.stringify(state));
    });
  }

  async states(): Promise<BoxState[]> {
    return this.#statements.states.all().map((row) => JSON.parse(String(row.state)) as BoxState);
  }

  async append(entries: readonly HistoryRecord[]): Promise<void> {
    this.#inTransaction(() => {
      for (const entry of entries) this.#statements.append.run(entry.deviceId, Date.parse(entry.at), JSON.stringify(entryOf(entry)), entry.once ?? null);
    });
  }

  async history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]> {
    return this.#statements.history.all(deviceId, sinceMs).map((row) => JSON.parse(String(row.entry)) as BoxHistoryEntry);
  }

  async prune({ beforeMs, maxPerBox }: PruneLimits): Promise<number> {
    let removed = 0;
    this.#inTransaction(() => {
      removed += Number(this.#statements.pruneOld.run(beforeMs).changes);
      removed += Number(this.#statements.pruneOverCap.run(Math.max(0, maxPerBox)).changes);
    });
    return removed;
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #inTransaction(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      // A failed COMMIT (disk full) has already rolled back; a second ROLLBACK would hide why.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
