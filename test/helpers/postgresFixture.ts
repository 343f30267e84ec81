/**
 * The usual set-up of a test file on a real PostgreSQL (postgres.ts), as brokerFixture.ts is for
 * mosquitto: one server for the file, started before its tests and stopped after them, and a
 * store contract's open and reopen on it.
 */
import { afterAll, beforeAll } from "vitest";
import { Postgres } from "./postgres.ts";

export interface PostgresFixture {
  readonly server: Postgres;
}

export function usePostgres(): PostgresFixture {
  let server: Postgres | undefined;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error("PostgreSQL not started yet (use it inside a test)");
      return server;
    },
  };
}

/**
 * What a store contract (storeContract.ts) asks to open its store: each open on a new, empty
 * database, so that tests do not see each other's rows; reopen on the last one, as after a restart.
 */
export function storeOnNewDatabase<S>(postgres: PostgresFixture, open: (url: string) => Promise<S>): { open(): Promise<S>; reopen(): Promise<S> } {
  let current = "";
  return {
    open: async () => {
      current = await postgres.server.createDatabase();
      return open(current);
    },
    reopen: () => open(current),
  };
}
