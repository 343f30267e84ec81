/**
 * The fleet's history is read from the store (PostgreSQL, for two instances): when the store
 * cannot be read, the API says so with a 500 and a JSON error, and the service keeps answering
 * what it holds in memory.
 */
import { describe, expect, it } from "vitest";
import type { BoxHistoryEntry } from "../../../tools/fleet/model.ts";
import { FleetServer } from "../../../tools/fleet/server.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";

const { cleanup } = useCleanups();

class StoreDownView extends FakeFleetView {
  override async history(): Promise<BoxHistoryEntry[]> {
    throw new Error("connect ECONNREFUSED /run/postgresql/.s.PGSQL.5432");
  }
}

describe("FleetServer with a store that cannot be read", () => {
  it("answers a box's history with 500 and an error in words, and still answers the list", async () => {
    const server = await FleetServer.start({ view: new StoreDownView([boxRow("box-a")]), port: 0 });
    cleanup(() => server.stop());
    const history = await fetch(new URL("api/boxes/box-a/history", server.url));
    expect(history.status).toBe(500);
    expect(await history.json()).toEqual({ error: "the fleet's store could not be read; try again" });
    const list = await fetch(new URL("api/boxes", server.url));
    expect(list.status).toBe(200);
    expect(((await list.json()) as { rows: unknown[] }).rows).toHaveLength(1);
  });
});
