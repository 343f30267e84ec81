/**
 * Rollouts in their own SQLite file in the service's data directory (`rollouts.db`, beside
 * fleet.db), with node:sqlite.
 *
 * Unlike the fleet's state, nothing else holds this: the boxes' retained reports say where each
 * box is, but not which were to be sent next or why a rollout halted. So WAL with
 * synchronous=FULL: a committed write survives a power cut as well as a `kill -9` (SQLite docs,
 * PRAGMA synchronous). A rollout writes a few rows per box, so the fsyncs cost nothing that matters.
 */
import { DatabaseSync } from "node:sqlite";
import type { RolloutBox, RolloutRecord } from "./model.ts";
import type { RolloutStore } from "./store.ts";

const SCHEMA = `
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = FULL;
  CREATE TABLE IF NOT EXISTS rollout (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS rollout_box (
    rollout_id TEXT NOT NULL REFERENCES rollout (id),
    device_id TEXT NOT NULL,
    batch INTEGER NOT NULL,
    box TEXT NOT NULL,
    PRIMARY KEY (rollout_id, device_id)
  );
`;

export function openSqliteRolloutStore(path: string): RolloutStore {
  return new SqliteRolloutStore(new DatabaseSync(path));
}

class SqliteRolloutStore implements RolloutStore {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(SCHEMA);
  }

  async create(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void> {
    this.#inTransaction(() => {
      this.#db.prepare("INSERT INTO rollout (id, created_at, record) VALUES (?, ?, ?)").run(rollout.id, rollout.createdAt, JSON.stringify(rollout));
      this.#putBoxes(rollout.id, boxes);
    });
  }

  async update(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void> {
    this.#inTransaction(() => {
      const changed = this.#db.prepare("UPDATE rollout SET record = ? WHERE id = ?").run(JSON.stringify(rollout), rollout.id).changes;
      if (Number(changed) !== 1) throw new Error(`no rollout ${rollout.id}`);
      this.#putBoxes(rollout.id, boxes);
    });
  }

  async list(): Promise<RolloutRecord[]> {
    return this.#db
      .prepare("SELECT record FROM rollout ORDER BY created_at DESC, id DESC")
      .all()
      .map((row) => JSON.parse(String(row.record)) as RolloutRecord);
  }

  async get(id: string): Promise<{ rollout: RolloutRecord; boxes: RolloutBox[] } | undefined> {
    const row = this.#db.prepare("SELECT record FROM rollout WHERE id = ?").get(id);
    if (!row) return undefined;
    const boxes = this.#db
      .prepare("SELECT box FROM rollout_box WHERE rollout_id = ? ORDER BY batch, device_id")
      .all(id)
      .map((box) => JSON.parse(String(box.box)) as RolloutBox);
    return { rollout: JSON.parse(String(row.record)) as RolloutRecord, boxes };
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #putBoxes(id: string, boxes: readonly RolloutBox[]): void {
    const put = this.#db.prepare(
      "INSERT INTO rollout_box (rollout_id, device_id, batch, box) VALUES (?, ?, ?, ?) ON CONFLICT (rollout_id, device_id) DO UPDATE SET batch = excluded.batch, box = excluded.box",
    );
    for (const box of boxes) put.run(id, box.deviceId, box.batch, JSON.stringify(box));
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
