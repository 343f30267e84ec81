/**
 * Staged rollouts as one part of `thea fleet serve` (serve.ts starts it after the broker link and
 * before the web server, and stops it in the reverse order): the store in the data directory,
 * the engine taking up what a previous run left unfinished, and the API the server hands
 * /api/rollouts to.
 */
import path from "node:path";
import type { Logger } from "../../../lib/log.ts";
import { RolloutApi } from "./api.ts";
import { RolloutEngine } from "./engine.ts";
import type { RolloutLink, RolloutView } from "./ports.ts";
import { openSqliteRolloutStore } from "./sqliteStore.ts";
import type { RolloutStore } from "./store.ts";

export interface RolloutsSettings {
  dataDir: string;
  link: RolloutLink;
  /** The whole fleet, for whether a box is online. */
  view: Pick<RolloutView, "box">;
  log: Logger;
  /** The store; `DIR/rollouts.db` (SQLite) by default. */
  openStore?: (file: string) => RolloutStore | Promise<RolloutStore>;
}

export interface Rollouts {
  api: RolloutApi;
  engine: RolloutEngine;
  stop(): Promise<void>;
}

export async function startRollouts(settings: RolloutsSettings): Promise<Rollouts> {
  const store = await (settings.openStore ?? openSqliteRolloutStore)(path.join(settings.dataDir, "rollouts.db"));
  const engine = new RolloutEngine({ store, link: settings.link, view: settings.view, log: settings.log });
  try {
    await engine.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    api: new RolloutApi({ engine, log: settings.log }),
    engine,
    stop: async () => {
      await engine.stop();
      await store.close();
    },
  };
}
