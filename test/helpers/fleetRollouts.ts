/**
 * Staged rollouts as tests serve them in a FleetServer: a RolloutEngine over the test's
 * FakeBoxLink and FleetView, a MemoryRolloutStore, a FakeClock that moves only when told (so no
 * box reaches its deadline by itself), and the API server.ts hands /api/rollouts to.
 */
import { RolloutApi } from "../../tools/fleet/rollout/api.ts";
import { RolloutEngine } from "../../tools/fleet/rollout/engine.ts";
import { MemoryRolloutStore } from "../../tools/fleet/rollout/memoryStore.ts";
import type { RolloutLink, RolloutView } from "../../tools/fleet/rollout/ports.ts";
import { FakeClock } from "./fakeBoxLink.ts";

export interface ServedRollouts {
  api: RolloutApi;
  engine: RolloutEngine;
  clock: FakeClock;
}

/** The rollouts' API over `link`, its engine started unless `started` is false (creating then answers 503). */
export async function rolloutsOver(link: RolloutLink, view: Pick<RolloutView, "box">, cleanup: (step: () => Promise<void>) => void, started = true): Promise<ServedRollouts> {
  const clock = new FakeClock(Date.now());
  const engine = new RolloutEngine({ store: new MemoryRolloutStore(), link, view, clock });
  if (started) await engine.start();
  cleanup(() => engine.stop());
  return { api: new RolloutApi({ engine }), engine, clock };
}
