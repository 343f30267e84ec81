/**
 * Staged rollouts as one part of `thea fleet serve` (serve.ts starts it after the broker link and
 * before the web server, and stops it in the reverse order): the store serve.ts chooses,
 * the engine taking up what a previous run left unfinished, and the API the server hands
 * /api/rollouts to. A store two instances share (PostgreSQL) has one of them drive (shared.ts).
 */
import type { Logger } from "../../../lib/log.ts";
import { messageOf } from "../../../lib/messageOf.ts";
import { RolloutApi, type RolloutDesk } from "./api.ts";
import { RolloutEngine } from "./engine.ts";
import type { RolloutLink, RolloutView } from "./ports.ts";
import { SharedRollouts } from "./shared.ts";
import { isShared, type RolloutStore } from "./store.ts";

export interface RolloutsSettings {
  /** Opens where rollouts are kept (serve.ts: SQLite beside the fleet's own file, or its PostgreSQL database). */
  openStore: () => RolloutStore | Promise<RolloutStore>;
  link: RolloutLink;
  /** The whole fleet, for whether a box is online. */
  view: Pick<RolloutView, "box">;
  log: Logger;
}

export interface Rollouts {
  api: RolloutApi;
  /** The engine, or with a shared store whichever instance drives (shared.ts). */
  engine: RolloutDesk;
  stop(): Promise<void>;
}

export async function startRollouts(settings: RolloutsSettings): Promise<Rollouts> {
  const store = await settings.openStore();
  if (isShared(store)) {
    const shared = new SharedRollouts({ store, newEngine: () => new RolloutEngine({ store, link: settings.link, view: settings.view, log: settings.log }), log: settings.log });
    shared.start();
    return {
      api: new RolloutApi({ engine: shared, log: settings.log }),
      engine: shared,
      stop: async () => {
        await shared.stop();
        await store.close();
      },
    };
  }
  const engine = new RolloutEngine({ store, link: settings.link, view: settings.view, log: settings.log });
  // Not awaited: the engine waits for the broker, and the page must serve meanwhile. Until it
  // follows the boxes, creating a rollout answers 503.
  const starting = engine.start().catch((error: unknown) => settings.log.error({ err: messageOf(error) }, "staged rollouts could not start"));
  return {
    api: new RolloutApi({ engine, log: settings.log }),
    engine,
    stop: async () => {
      // A start still waiting for the broker gives up once stopped (its promise is not awaited: it may never settle).
      void starting;
      await engine.stop();
      await store.close();
    },
  };
}
