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
 *   history requests); a request waits at most `connectTimeoutMs` for a connection, and a
 *   statement runs at most `statementTimeoutMs`, so a database that hangs fails requests with an
 *   answer instead of piling them up.
 * - The password is never in the URL (serve.ts refuses one that has it): it is looked for as
 *   libpq does, in PGPASSWORD or the password file PGPASSFILE names (pgPassword.ts), and only
 *   when the server asks for one (peer authentication on a local socket needs none).
 */
import { Socket } from "node:net";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { findPassword } from "./pgPassword.ts";
import type { BoxHistoryEntry, BoxState } from "./model.ts";
import { entryOf, type FleetStore, type HistoryRecord, type PruneLimits } from "./store.ts";

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
  // pg leaves a connection open when it fails while authenticating (no password to give): the
  // server would hold it for its authentication_timeout (60 s) and a service that could not
  // start would not end. The sockets are made here so that such a failure at open can close them.
  const sockets = new Set<Socket>();
  const socket = (): Socket => {
    const made = new Socket();
    sockets.add(made);
    made.once("close", () => sockets.delete(made));
    return made;
  };
  const pool = new pg.Pool({
    // Parsed here rather than passed as connectionString: pg would let the URL's empty password
    // override the function below.
    ...parseIntoClientConfig(options.url),
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    idleTimeoutMillis: 60_000,
    application_name: "thea-fleet",
    // pg calls it with the connection's parameters when the server asks for a password.
    password: (parameters?: unknown) => findPassword(passwordFor(parameters)),
    stream: socket,
  });
  // An idle connection the server ends (a restart) must not end the service: the next query reconnects.
  pool.on("error", (error) => log?.warn({ err: messageOf(error) }, "PostgreSQL connection lost"));
  try {
    await migrate(pool, log);
  } catch (error) {
    for (const open of sockets) open.destroy();
    await pool.end();
    throw error;
  }
  return new PgFleetStore(pool);
}

function passwordFor(parameters: unknown): { host: string; port: number; database: string; user: string } {
  const field = (name: string): string => {
    const value = typeof parameters === "object" && parameters !== null ? (parameters as Record<string, unknown>)[name] : undefined;
    return typeof value === "string" || typeof value === "number" ? String(value) : "";
  };
  return { host: field("host"), port: Number(field("port")) || 5432, database: field("database"), user: field("user") };
}

async function migrate(pool: pg.Pool, log: Logger | undefined): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS fleet_schema (version INTEGER NOT NULL)");
    const { rows } = await client.query<{ version: number }>("SELECT version FROM fleet_schema");
    const from = rows[0]?.version ?? 0;
    if (from > MIGRATIONS.length) throw new Error(`the fleet database is at schema version ${from}, newer than this service knows (${MIGRATIONS.length})`);
    for (const statements of MIGRATIONS.slice(from)) await client.query(statements);
    if (rows.length === 0) await client.query("INSERT INTO fleet_schema (version) VALUES ($1)", [MIGRATIONS.length]);
    else await client.query("UPDATE fleet_schema SET version = $1", [MIGRATIONS.length]);
    if (from < MIGRATIONS.length) log?.info({ from, to: MIGRATIONS.length }, "fleet database schema brought up to date");
  });
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    // The connection may be the thing that failed: a ROLLBACK that fails too must not hide why.
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
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
