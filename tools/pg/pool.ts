/**
 * What every PostgreSQL store of the fleet service shares (tools/fleet/pgStore.ts for the boxes,
 * tools/fleet/rollout/pgStore.ts for rollouts): one way to open a pool from a `--store` URL, the
 * password found as libpq finds it (password.ts), a schema brought up to date under an advisory
 * lock, and a transaction that gives back its connection whatever happens. Its own folder, below
 * both stores: the rollouts' folder may not import the fleet's (the fleet's imports it).
 *
 * - A pool of at most `maxConnections`; a request waits at most `connectTimeoutMs` for a
 *   connection, and a statement runs at most `statementTimeoutMs`, so a database that hangs fails
 *   requests with an answer instead of piling them up.
 * - The password is never in the URL (serve.ts refuses one that has it): it is asked for only
 *   when the server wants one (peer authentication on a local socket needs none).
 */
import { Socket } from "node:net";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { findPassword } from "./password.ts";

export interface PgPoolOptions {
  /** `postgres://USER@HOST[:PORT]/DATABASE`, or `postgres://USER@/DATABASE?host=/run/postgresql` for a socket. */
  url: string;
  log?: Logger | undefined;
  maxConnections?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** How long the client waits for any answer, whatever the server does (a connection that went silent); none by default. */
  queryTimeoutMs?: number;
  /** What the server shows in pg_stat_activity. */
  applicationName?: string;
}

export interface PgPool {
  readonly pool: pg.Pool;
  close(): Promise<void>;
  /** After a failure at open: ends the pool and every connection, also those pg left half-open. */
  abandon(): Promise<void>;
}

export function openPgPool(options: PgPoolOptions): PgPool {
  // pg leaves a connection open when it fails while authenticating (no password to give): the
  // server would hold it for its authentication_timeout (60 s) and a service that could not
  // start would not end. The sockets are made here so that such a failure can close them.
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
    ...(options.queryTimeoutMs !== undefined && { query_timeout: options.queryTimeoutMs }),
    idleTimeoutMillis: 60_000,
    application_name: options.applicationName ?? "thea-fleet",
    // pg calls it with the connection's parameters when the server asks for a password.
    password: (parameters?: unknown) => findPassword(passwordFor(parameters)),
    stream: socket,
  });
  // An idle connection the server ends (a restart) must not end the service: the next query reconnects.
  pool.on("error", (error) => options.log?.warn({ err: messageOf(error) }, "PostgreSQL connection lost"));
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= pool.end();
    return closed;
  };
  return {
    pool,
    close,
    abandon: () => {
      for (const open of sockets) open.destroy();
      return close();
    },
  };
}

function passwordFor(parameters: unknown): { host: string; port: number; database: string; user: string } {
  const field = (name: string): string => {
    const value = typeof parameters === "object" && parameters !== null ? (parameters as Record<string, unknown>)[name] : undefined;
    return typeof value === "string" || typeof value === "number" ? String(value) : "";
  };
  return { host: field("host"), port: Number(field("port")) || 5432, database: field("database"), user: field("user") };
}

export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
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

export interface Schema {
  /** What the log and errors call it ("fleet", "rollouts"). */
  name: string;
  /** The table holding the version a database is at. */
  versionTable: string;
  /** Advisory lock key (any 64-bit number, the same in every instance): two instances starting together do not both create it. */
  lock: number;
  /** Each version's statements, applied in order to a database below it. */
  migrations: readonly string[];
}

/** Makes the schema, or brings it up to date; refuses a database newer than `schema` knows. */
export async function migrate(pool: pg.Pool, schema: Schema, log: Logger | undefined): Promise<void> {
  const { name, versionTable, migrations } = schema;
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [schema.lock]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${versionTable} (version INTEGER NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${versionTable}`);
    const from = rows[0]?.version ?? 0;
    if (from > migrations.length) throw new Error(`the ${name} database is at schema version ${from}, newer than this service knows (${migrations.length})`);
    for (const statements of migrations.slice(from)) await client.query(statements);
    if (rows.length === 0) await client.query(`INSERT INTO ${versionTable} (version) VALUES ($1)`, [migrations.length]);
    else await client.query(`UPDATE ${versionTable} SET version = $1`, [migrations.length]);
    if (from < migrations.length) log?.info({ from, to: migrations.length }, `${name} database schema brought up to date`);
  });
}
