/**
 * Rollouts in PostgreSQL, in the database the fleet's own store uses (`--store postgres://…`),
 * opened, given its password and its schema as that store is (tools/pg/pool.ts), in tables of
 * its own with their own version (`rollout_schema`). As in the SQLite store, a rollout is one
 * JSON document and each box one row; JSON, not JSONB, so they come back as written.
 *
 * What two instances on one database add (shared.ts uses it):
 * - `rollout_ask`: the changes (create, pause, resume, abort) an instance that does not drive asks
 *   of the one that does, and their answers. At most MAX_WAITING unanswered at once; answered ones
 *   are removed after a day.
 * - The driver's lock: a session-level advisory lock (PostgreSQL 15 docs, §9.27.10) held on a
 *   connection of its own. It is the server that lets it go when that connection ends, a `kill -9`
 *   of the holder included, so the other instance can take it without trusting a clock.
 */
import type pg from "pg";
import { messageOf } from "../../../lib/messageOf.ts";
import { inTransaction, migrate, openPgPool, type PgPoolOptions } from "../../pg/pool.ts";
import type { RolloutBox, RolloutRecord } from "./model.ts";
import type { DriverLock, RolloutAnswer, RolloutAsk, SharedRolloutStore } from "./store.ts";

/** Advisory lock keys, beside the fleet store's (0x7468_6561_0001 and _0002). */
const SCHEMA_LOCK = 0x7468_6561_0003;
const DRIVER_LOCK = 0x7468_6561_0004;
/** Asks waiting at once: a technician asks a few; more is a script gone wrong, or a flood. */
export const MAX_WAITING = 64;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE rollout (
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     record JSON NOT NULL
   );
   CREATE TABLE rollout_box (
     rollout_id TEXT NOT NULL REFERENCES rollout (id),
     device_id TEXT NOT NULL,
     batch INTEGER NOT NULL,
     box JSON NOT NULL,
     PRIMARY KEY (rollout_id, device_id)
   );
   CREATE TABLE rollout_ask (
     number BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     asked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     ask JSON NOT NULL,
     taken_at TIMESTAMPTZ,
     answer JSON
   );`,
];

export type PgRolloutStoreOptions = Pick<PgPoolOptions, "url" | "log" | "statementTimeoutMs" | "connectTimeoutMs">;

export async function openPgRolloutStore(options: PgRolloutStoreOptions): Promise<SharedRolloutStore> {
  const log = options.log?.child({ ns: "fleet:rollout:pg" });
  // Two connections: the engine writes one step at a time, and the API reads beside it.
  const opened = openPgPool({ ...options, log, maxConnections: 2, applicationName: "thea-fleet-rollouts" });
  try {
    await migrate(opened.pool, { name: "rollouts", versionTable: "rollout_schema", lock: SCHEMA_LOCK, migrations: MIGRATIONS }, log);
  } catch (error) {
    await opened.abandon();
    throw error;
  }
  return new PgRolloutStore(opened.pool, () => new PgDriverLock({ ...options, log }), opened.close);
}

class PgRolloutStore implements SharedRolloutStore {
  readonly #pool: pg.Pool;
  readonly #lock: () => DriverLock;
  readonly #close: () => Promise<void>;

  constructor(pool: pg.Pool, lock: () => DriverLock, close: () => Promise<void>) {
    this.#pool = pool;
    this.#lock = lock;
    this.#close = close;
  }

  async create(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      await client.query("INSERT INTO rollout (id, created_at, record) VALUES ($1, $2, $3)", [rollout.id, rollout.createdAt, JSON.stringify(rollout)]);
      await putBoxes(client, rollout.id, boxes);
    });
  }

  async update(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      const changed = await client.query("UPDATE rollout SET record = $1 WHERE id = $2", [JSON.stringify(rollout), rollout.id]);
      if (changed.rowCount !== 1) throw new Error(`no rollout ${rollout.id}`);
      await putBoxes(client, rollout.id, boxes);
    });
  }

  async list(): Promise<RolloutRecord[]> {
    const { rows } = await this.#pool.query<{ record: RolloutRecord }>("SELECT record FROM rollout ORDER BY created_at DESC, id DESC");
    return rows.map((row) => row.record);
  }

  async get(id: string): Promise<{ rollout: RolloutRecord; boxes: RolloutBox[] } | undefined> {
    // One statement: a rollout and its boxes as of one moment, while the driver writes.
    const { rows } = await this.#pool.query<{ record: RolloutRecord; boxes: RolloutBox[] | null }>(
      `SELECT record, (SELECT json_agg(box ORDER BY batch, device_id) FROM rollout_box WHERE rollout_id = rollout.id) AS boxes
       FROM rollout WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    return row && { rollout: row.record, boxes: row.boxes ?? [] };
  }

  async ask(ask: RolloutAsk): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ number: string }>(
      `INSERT INTO rollout_ask (ask) SELECT $1::json WHERE (SELECT count(*) FROM rollout_ask WHERE answer IS NULL) < $2 RETURNING number`,
      [JSON.stringify(ask), MAX_WAITING],
    );
    const number = rows[0]?.number;
    return number === undefined ? undefined : Number(number);
  }

  async take(): Promise<Array<{ number: number; ask: RolloutAsk }>> {
    await this.#pool.query("DELETE FROM rollout_ask WHERE answer IS NOT NULL AND asked_at < now() - interval '1 day'");
    // One statement: an ask withdrawn meanwhile (withdraw's UPDATE) is not taken, and one taken is not withdrawn.
    const { rows } = await this.#pool.query<{ number: string; ask: RolloutAsk }>(
      "UPDATE rollout_ask SET taken_at = now() WHERE taken_at IS NULL AND answer IS NULL RETURNING number, ask",
    );
    return rows.map((row) => ({ number: Number(row.number), ask: row.ask })).sort((a, b) => a.number - b.number);
  }

  async answer(number: number, answer: RolloutAnswer): Promise<void> {
    await this.#pool.query("UPDATE rollout_ask SET answer = $1 WHERE number = $2", [JSON.stringify(answer), number]);
  }

  async answerOf(number: number): Promise<RolloutAnswer | undefined> {
    const { rows } = await this.#pool.query<{ answer: RolloutAnswer | null }>("SELECT answer FROM rollout_ask WHERE number = $1", [number]);
    return rows[0]?.answer ?? undefined;
  }

  async withdraw(number: number, answer: RolloutAnswer): Promise<boolean> {
    const changed = await this.#pool.query("UPDATE rollout_ask SET answer = $1 WHERE number = $2 AND taken_at IS NULL AND answer IS NULL", [JSON.stringify(answer), number]);
    return changed.rowCount === 1;
  }

  driverLock(): DriverLock {
    return this.#lock();
  }

  close(): Promise<void> {
    return this.#close();
  }
}

async function putBoxes(client: pg.PoolClient, id: string, boxes: readonly RolloutBox[]): Promise<void> {
  if (boxes.length === 0) return;
  await client.query(
    `INSERT INTO rollout_box (rollout_id, device_id, batch, box) SELECT $1, * FROM unnest($2::text[], $3::int[], $4::json[])
     ON CONFLICT (rollout_id, device_id) DO UPDATE SET batch = excluded.batch, box = excluded.box`,
    [id, boxes.map((box) => box.deviceId), boxes.map((box) => box.batch), boxes.map((box) => JSON.stringify(box))],
  );
}

/** The driver's lock on a pool of one connection, kept out of the pool while the lock is held. */
class PgDriverLock implements DriverLock {
  readonly #options: PgRolloutStoreOptions;
  #opened: ReturnType<typeof openPgPool> | undefined;
  #held: pg.PoolClient | undefined;
  #lost = false;

  constructor(options: PgRolloutStoreOptions) {
    this.#options = options;
  }

  async tryTake(): Promise<boolean> {
    if (this.#held) return this.check();
    // A check that gets no answer within 10 s counts as the lock lost: the network may have gone silent.
    this.#opened ??= openPgPool({ ...this.#options, maxConnections: 1, queryTimeoutMs: 10_000, applicationName: "thea-fleet-rollout-driver" });
    const client = await this.#opened.pool.connect();
    try {
      // A holder whose machine vanished sends no FIN: without keepalives the server would keep its
      // session, and the lock, for the kernel's 2 hours. With these it ends it after about 25 s
      // (PostgreSQL 15 docs, §20.3.1; ignored on a Unix socket, where the kernel knows at once).
      await client.query("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3");
      const { rows } = await client.query<{ taken: boolean }>("SELECT pg_try_advisory_lock($1) AS taken", [DRIVER_LOCK]);
      if (rows[0]?.taken !== true) {
        client.release();
        return false;
      }
    } catch (error) {
      client.release(error instanceof Error ? error : new Error(messageOf(error)));
      throw error;
    }
    this.#lost = false;
    // The connection ending (the server restarted, the network went) takes the lock with it.
    client.on("error", () => {
      this.#lost = true;
    });
    this.#held = client;
    return true;
  }

  async check(): Promise<boolean> {
    const client = this.#held;
    if (!client) return false;
    if (!this.#lost) {
      try {
        await client.query("SELECT 1");
        return true;
      } catch {
        this.#lost = true;
      }
    }
    this.#held = undefined;
    client.release(new Error("the driver's lock connection was lost"));
    return false;
  }

  async release(): Promise<void> {
    const client = this.#held;
    this.#held = undefined;
    if (client) {
      // Ending the connection lets the lock go with it, whether or not an unlock would have got through.
      client.release(new Error("released"));
    }
    await this.#opened?.close();
    this.#opened = undefined;
  }
}
