/**
 * The fleet's store in PostgreSQL (Debian's, 15 on Debian 12), for a hospital that runs two
 * instances of the service on one database (docs/fleet.md, "Storage"). The same tables and bounds
 * as the SQLite store: each box's state as one JSON document, its history as rows, 30 days and
 * 2,000 entries per box (fleet.ts prunes). JSON, not JSONB: nothing queries inside the
 * documents, and JSON gives them back as written, key order included (fleet.ts compares a
 * state with its next by its text, so a reordered one would look changed).
 *
 * - The schema is made, or brought up to date, at open, under an advisory lock: two instances
 *   starting together do not both create it. `fleet_schema` says which version a database holds.
 * - Each batch is one statement in one transaction (arrays unnested), whatever its size.
 * - A pool of at most `maxConnections` (4: the Fleet writes one batch at a time; the rest answer
 *   history requests), opened, timed and given its password as tools/pg/pool.ts says.
 */
import type pg from "pg";
import type { Logger } from "../../lib/log.ts";
import { inTransaction, migrate, openPgPool } from "../pg/pool.ts";
import type { BoxHistoryEntry } from "./model.ts";
import { entryOf, type FleetStore, type HistoryRecord, type PruneLimits } from "./store.ts";
import type { BoxState } from "./types/boxState.ts";

export interface PgStoreOptions {
  /** `postgres://USER@HOST[:PORT]/DATABASE`, or `postgres://USER@/DATABASE?host=/run/postgresql` for a socket. */
  url: string;
  log?: Logger;
  maxConnections?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** Advisory lock keys (any 64-bit numbers, the same in every instance): one for the schema, one for pruning. */
const SCHEMA_LOCK = 0x7468_6561_0001;
const PRUNE_LOCK = 0x7468_6561_0002;

/** Each version's statements, applied in order to a database below it. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE box_state (
     device_id TEXT PRIMARY KEY,
     state JSON NOT NULL
   );
   CREATE TABLE box_history (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     device_id TEXT NOT NULL,
     at_ms BIGINT NOT NULL,
     entry JSON NOT NULL,
     once_key TEXT
   );
   CREATE INDEX box_history_by_box ON box_history (device_id, at_ms, id);
   CREATE INDEX box_history_by_time ON box_history (at_ms);
   CREATE UNIQUE INDEX box_history_once ON box_history (device_id, once_key) WHERE once_key IS NOT NULL;`,
];

export async function openPgStore(options: PgStoreOptions): Promise<FleetStore> {
  const log = options.log?.child({ ns: "fleet:pg" });
  const opened = openPgPool({ ...options, log });
  try {
    await migrate(opened.pool, { name: "fleet", versionTable: "fleet_schema", lock: SCHEMA_LOCK, migrations: MIGRATIONS }, log);
  } catch (error) {
    await opened.abandon();
    throw error;
  }
  return new PgFleetStore(opened.pool);
}

/** Stable (Array.prototype.sort is): the order within one box stays. */
function byDevice(a: { deviceId: string }, b: { deviceId: string }): number {
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}

class PgFleetStore implements FleetStore {
  readonly #pool: pg.Pool;
  #closed: Promise<void> | undefined;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async upsert(states: readonly BoxState[]): Promise<void> {
    // One row per box: the last of a batch wins, as it would row by row. In device id order: two
    // instances write the same boxes' rows, and locks taken in one order cannot deadlock.
    const latest = new Map([...states].sort(byDevice).map((state) => [state.deviceId, state]));
    if (latest.size === 0) return;
    await this.#pool.query(
      `INSERT INTO box_state (device_id, state) SELECT * FROM unnest($1::text[], $2::json[])
       ON CONFLICT (device_id) DO UPDATE SET state = excluded.state`,
      [[...latest.keys()], [...latest.values()].map((state) => JSON.stringify(state))],
    );
  }

  async states(): Promise<BoxState[]> {
    const { rows } = await this.#pool.query<{ state: BoxState }>("SELECT state FROM box_state");
    return rows.map((row) => row.state);
  }

  async append(entries: readonly HistoryRecord[]): Promise<void> {
    if (entries.length === 0) return;
    // In the batch's order within each box, so that entries at equal times come back as appended;
    // boxes in device id order, as for upsert (both instances append the same transitions).
    const ordered = [...entries].sort(byDevice);
    await this.#pool.query(
      `INSERT INTO box_history (device_id, at_ms, entry, once_key)
       SELECT device_id, at_ms, entry, once_key FROM unnest($1::text[], $2::bigint[], $3::json[], $4::text[])
         WITH ORDINALITY AS batch (device_id, at_ms, entry, once_key, n)
       ORDER BY n
       ON CONFLICT DO NOTHING`,
      [ordered.map((entry) => entry.deviceId), ordered.map((entry) => Date.parse(entry.at)), ordered.map((entry) => JSON.stringify(entryOf(entry))), ordered.map((entry) => entry.once ?? null)],
    );
  }

  async history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]> {
    const { rows } = await this.#pool.query<{ entry: BoxHistoryEntry }>("SELECT entry FROM box_history WHERE device_id = $1 AND at_ms >= $2 ORDER BY at_ms, id", [deviceId, sinceMs]);
    return rows.map((row) => row.entry);
  }

  /** One instance prunes at a time; another finding the lock taken skips its turn (the next hour's will do). */
  async prune({ beforeMs, maxPerBox }: PruneLimits): Promise<number> {
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS locked", [PRUNE_LOCK]);
      if (rows[0]?.locked !== true) return 0;
      const old = await client.query("DELETE FROM box_history WHERE at_ms < $1", [beforeMs]);
      const over = await client.query(
        `DELETE FROM box_history WHERE id IN (
           SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY at_ms DESC, id DESC) AS newer FROM box_history) ranked
           WHERE newer > $1)`,
        [Math.max(0, maxPerBox)],
      );
      return (old.rowCount ?? 0) + (over.rowCount ?? 0);
    });
  }

  close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }
}
