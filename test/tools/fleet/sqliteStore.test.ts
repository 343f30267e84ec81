import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
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
