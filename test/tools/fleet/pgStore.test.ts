/**
 * The PostgreSQL store against a real PostgreSQL (test/helpers/postgres.ts): the contract every
 * store passes, and what only a shared database adds (two instances opening it at once, a schema
 * newer than the service).
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { openPgStore } from "../../../tools/fleet/pgStore.ts";
import { storeOnNewDatabase, usePostgres } from "../../helpers/postgresFixture.ts";
import { box, fleetStoreContract } from "./storeContract.ts";

const postgres = usePostgres();

fleetStoreContract("PgFleetStore", storeOnNewDatabase(postgres, (url) => openPgStore({ url })));

describe("PgFleetStore on a shared database", () => {
  it("lets two instances that start together make the schema once, and both use it", async () => {
    const url = await postgres.server.createDatabase();
    const [a, b] = await Promise.all([openPgStore({ url }), openPgStore({ url })]);
    try {
      await a.append([{ deviceId: "x", at: "2026-12-01T00:00:00.000Z", kind: "online", detail: {}, once: "online:b:1" }]);
      await b.append([{ deviceId: "x", at: "2026-12-01T00:00:00.010Z", kind: "online", detail: {}, once: "online:b:1" }]);
      expect(await b.history("x", 0)).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("takes the same boxes' rows and transitions from two instances at once without a deadlock", async () => {
    const url = await postgres.server.createDatabase();
    const [a, b] = await Promise.all([openPgStore({ url }), openPgStore({ url })]);
    try {
      const ids = Array.from({ length: 200 }, (_, i) => `box-${String(i).padStart(3, "0")}`);
      const at = "2026-12-01T00:00:00.000Z";
      for (let round = 0; round < 10; round++) {
        // Each instance's batch in its own order: the same boxes, as both see every status.
        const batches = [ids, [...ids].reverse()].map((order) => ({
          states: order.map((deviceId) => box(deviceId, { lastSeenAt: `2026-12-01T00:00:0${round}.000Z` })),
          entries: order.map((deviceId) => ({ deviceId, at, kind: "online" as const, detail: {}, once: `online:boot:${round}` })),
        }));
        const [first, second] = batches;
        if (!first || !second) throw new Error("two batches");
        await Promise.all([a.upsert(first.states), b.upsert(second.states), a.append(first.entries), b.append(second.entries)]);
      }
      expect(await a.states()).toHaveLength(200);
      expect(await b.history("box-007", 0)).toHaveLength(10);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses a database whose schema is newer than the service knows", async () => {
    const url = await postgres.server.createDatabase();
    await (await openPgStore({ url })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("UPDATE fleet_schema SET version = 99");
    await client.end();
    await expect(openPgStore({ url })).rejects.toThrow(/schema version 99, newer/);
  });
});
