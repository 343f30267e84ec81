import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../../tools/fleet/sqliteStore.ts";
import { fleetStoreContract } from "./storeContract.ts";

let dirs: string[] = [];
let current = "";
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

fleetStoreContract("SqliteFleetStore", {
  open: () => {
    const dir = mkdtempSync(path.join(tmpdir(), "thea-fleet-store-"));
    dirs.push(dir);
    current = path.join(dir, "fleet.sqlite");
    return openSqliteStore(current);
  },
  reopen: () => openSqliteStore(current),
});

describe("SqliteFleetStore on a file of the first increment (no once_key column)", () => {
  it("adds the column at open, keeps what the file held, and keeps a transition once", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "thea-fleet-store-"));
    dirs.push(dir);
    const file = path.join(dir, "fleet.db");
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE box_state (device_id TEXT PRIMARY KEY, state TEXT NOT NULL);
      CREATE TABLE box_history (id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, at_ms INTEGER NOT NULL, entry TEXT NOT NULL);`);
    const kept = { deviceId: "a", at: "2026-12-01T00:00:00.000Z", kind: "event" as const, detail: { id: "e0" } };
    old.prepare("INSERT INTO box_history (device_id, at_ms, entry) VALUES (?, ?, ?)").run("a", Date.parse(kept.at), JSON.stringify(kept));
    old.close();
    const store = openSqliteStore(file);
    const transition = { deviceId: "a", at: "2026-12-01T00:01:00.000Z", kind: "online" as const, detail: {} };
    await store.append([{ ...transition, once: "online:b:1" }]);
    await store.append([{ ...transition, once: "online:b:1" }]);
    expect(await store.history("a", 0)).toEqual([kept, transition]);
    await store.close();
  });
});
