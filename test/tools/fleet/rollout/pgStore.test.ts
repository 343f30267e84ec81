/**
 * The PostgreSQL rollout store against a real PostgreSQL (test/helpers/postgres.ts): the contract
 * every rollout store passes, and what two instances on one database add: changes asked of the
 * driver taken once or withdrawn, never both, and one driver lock that goes with its holder's
 * connection.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { MAX_WAITING, openPgRolloutStore } from "../../../../tools/fleet/rollout/pgStore.ts";
import type { RolloutAsk } from "../../../../tools/fleet/rollout/store.ts";
import { storeOnNewDatabase, usePostgres } from "../../../helpers/postgresFixture.ts";
import { rolloutBox, rolloutRecord, rolloutStoreContract } from "./storeContract.ts";

const postgres = usePostgres();

rolloutStoreContract("PgRolloutStore", storeOnNewDatabase(postgres, (url) => openPgRolloutStore({ url })));

const pause: RolloutAsk = { kind: "control", id: "r1", action: "pause", by: "technician.an" };

describe("PgRolloutStore shared by two instances", () => {
  it("makes its schema once when two start together, beside the fleet's tables", async () => {
    const url = await postgres.server.createDatabase();
    const [a, b] = await Promise.all([openPgRolloutStore({ url }), openPgRolloutStore({ url })]);
    try {
      await a.create(rolloutRecord("r1"), [rolloutBox("bx-1", 0)]);
      expect((await b.get("r1"))?.boxes).toEqual([rolloutBox("bx-1", 0)]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("gives an ask to one taker once, with its answer back to the asker; a withdrawn one to none", async () => {
    const url = await postgres.server.createDatabase();
    const [asker, driver] = await Promise.all([openPgRolloutStore({ url }), openPgRolloutStore({ url })]);
    try {
      const first = await asker.ask(pause);
      const withdrawn = await asker.ask({ ...pause, action: "abort" });
      if (first === undefined || withdrawn === undefined) throw new Error("asks refused");
      expect(await asker.withdraw(withdrawn, { status: 503, error: "no driver" })).toBe(true);
      expect(await driver.take()).toEqual([{ number: first, ask: pause }]);
      expect(await driver.take()).toEqual([]);
      // Taken: the asker can no longer withdraw it; the driver's answer is the one it gets.
      expect(await asker.withdraw(first, { status: 503, error: "no driver" })).toBe(false);
      await driver.answer(first, { status: 409, error: "rollout r1 is completed" });
      expect(await asker.answerOf(first)).toEqual({ status: 409, error: "rollout r1 is completed" });
      expect(await asker.answerOf(withdrawn)).toEqual({ status: 503, error: "no driver" });
    } finally {
      await Promise.all([asker.close(), driver.close()]);
    }
  });

  it(`refuses asks past ${MAX_WAITING} waiting`, async () => {
    const store = await openPgRolloutStore({ url: await postgres.server.createDatabase() });
    try {
      for (let i = 0; i < MAX_WAITING; i++) expect(await store.ask(pause)).toBeTypeOf("number");
      expect(await store.ask(pause)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("lets one instance hold the driver lock, and the other take it once the holder's connection is gone", async () => {
    const url = await postgres.server.createDatabase();
    const [a, b] = await Promise.all([openPgRolloutStore({ url }), openPgRolloutStore({ url })]);
    const [lockA, lockB] = [a.driverLock(), b.driverLock()];
    try {
      expect(await lockA.tryTake()).toBe(true);
      expect(await lockB.tryTake()).toBe(false);
      expect(await lockA.check()).toBe(true);
      // As a kill -9 of the holder: the server ends its connection, and the lock goes with it.
      const admin = new pg.Client({ connectionString: postgres.server.url("postgres") });
      await admin.connect();
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'thea-fleet-rollout-driver' AND pid <> pg_backend_pid()");
      await admin.end();
      expect(await lockB.tryTake()).toBe(true);
      expect(await lockA.check()).toBe(false);
      expect(await lockA.tryTake()).toBe(false);
    } finally {
      await Promise.all([lockA.release(), lockB.release()]);
      await Promise.all([a.close(), b.close()]);
    }
  });
});
