import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { openSqliteRolloutStore } from "../../../../tools/fleet/rollout/sqliteStore.ts";
import { rolloutStoreContract } from "./storeContract.ts";

let dirs: string[] = [];
let current = "";
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

rolloutStoreContract("SqliteRolloutStore", {
  open: () => {
    const dir = mkdtempSync(path.join(tmpdir(), "thea-rollout-store-"));
    dirs.push(dir);
    current = path.join(dir, "rollouts.db");
    return openSqliteRolloutStore(current);
  },
  reopen: () => openSqliteRolloutStore(current),
});
