/**
 * What the rollout engine tells /metrics (engine.progress(), through metrics.ts's
 * rolloutProgressOf): each rollout it follows and the last ten that ended under it, newest first,
 * read without the store; failed and timed-out boxes counted as failed, offline ones as pending.
 */
import { describe, expect, it } from "vitest";
import { rolloutProgressOf } from "../../../../tools/fleet/metrics.ts";
import { RolloutEngine } from "../../../../tools/fleet/rollout/engine.ts";
import { MemoryRolloutStore } from "../../../../tools/fleet/rollout/memoryStore.ts";
import type { RolloutSpec } from "../../../../tools/fleet/rollout/model.ts";
import { planRollout } from "../../../../tools/fleet/rollout/plan.ts";
import { FakeBoxLink, FakeClock, signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { boxRow, FakeFleetView } from "../../../helpers/fakeFleetView.ts";

const MANIFEST = signedManifestText({ version: "1.5.0" });

describe("the rollouts' progress for /metrics", () => {
  it("gives the rollouts followed and the last ten ended, newest first, with done, failed and pending", async () => {
    const link = new FakeBoxLink();
    const clock = new FakeClock();
    const view = new FakeFleetView(Array.from({ length: 12 }, (_, i) => boxRow(`bx-${String(i).padStart(2, "0")}`)));
    const engine = new RolloutEngine({ store: new MemoryRolloutStore(), link, view, clock });
    await engine.start();
    const create = async (deviceIds: string[], changes: Partial<RolloutSpec> = {}) => {
      const spec: RolloutSpec = { selection: { deviceIds }, change: { kind: "release", manifest: MANIFEST }, canary: { count: 1 }, batchSize: 5, failureThreshold: { count: 5 }, boxDeadlineMs: 60_000, ...changes };
      const planned = planRollout(spec, view.list({}), clock.now());
      if (!planned.ok) throw new Error(planned.error);
      const rollout = await engine.create(spec, planned.plan, null);
      clock.advance(1000); // each newer than the last, as createdAt orders them
      return rollout.id;
    };
    const commit = (deviceId: string) => link.updateState(deviceId, { state: "committed", version: "1.5.0", runningVersion: "1.5.0", result: "ok" });

    // Eleven rollouts of one box each, ended: the oldest leaves the progress.
    const ended: string[] = [];
    for (let i = 0; i < 11; i += 1) {
      ended.push(await create(["bx-11"]));
      commit("bx-11");
      await engine.idle();
    }
    // One live, its canary of four spread over five (bx-00, bx-01, bx-03, bx-04): bx-00 done,
    // bx-01 rolled back, past the deadline bx-04 timed out (online, silent) and bx-03 offline
    // (offline, silent); bx-02, of the batch after, not sent.
    const live = await create(["bx-00", "bx-01", "bx-02", "bx-03", "bx-04"], { canary: { count: 4 }, batchSize: 1 });
    commit("bx-00");
    link.updateState("bx-01", { state: "rolled-back", version: "1.5.0", result: "health-check-failed", reason: "spo2-1 down" });
    await engine.idle();
    view.change(boxRow("bx-03", { online: false }));
    clock.advance(61_000);
    await engine.idle();

    const progress = rolloutProgressOf(engine).progress();
    expect(progress.map((one) => one.id)).toEqual([live, ...ended.slice(1).reverse()]);
    expect(progress[0]).toEqual({ id: live, state: "running", done: 1, failed: 2, pending: 2 });
    expect(progress.slice(1).every((one) => one.state === "completed" && one.done === 1 && one.failed === 0 && one.pending === 0)).toBe(true);
    await engine.stop();
  });
});
