/**
 * The instance that does not drive the rollouts (shared.ts) on a real PostgreSQL: a change asked
 * while no instance drives is withdrawn and answered 503 with nothing changed, so that a driver
 * taking over later never carries out a change its asker was told had not happened.
 */
import { describe, expect, it } from "vitest";
import { RolloutEngine } from "../../../../tools/fleet/rollout/engine.ts";
import { openPgRolloutStore } from "../../../../tools/fleet/rollout/pgStore.ts";
import { planRollout } from "../../../../tools/fleet/rollout/plan.ts";
import type { RolloutSpec } from "../../../../tools/fleet/rollout/model.ts";
import { SharedRollouts } from "../../../../tools/fleet/rollout/shared.ts";
import { FakeBoxLink, signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { boxRow, FakeFleetView } from "../../../helpers/fakeFleetView.ts";
import { usePostgres } from "../../../helpers/postgresFixture.ts";

const postgres = usePostgres();

describe("SharedRollouts on the instance that does not drive", () => {
  it("answers 503 when no instance takes a change, and withdraws it: no driver can take it later", async () => {
    const url = await postgres.server.createDatabase();
    const [holder, store] = await Promise.all([openPgRolloutStore({ url }), openPgRolloutStore({ url })]);
    // Another instance holds the driver's lock and drives nothing: as one that died between taking the lock and starting.
    const held = holder.driverLock();
    expect(await held.tryTake()).toBe(true);
    const view = new FakeFleetView(["bx-1", "bx-2"].map((id) => boxRow(id)));
    const link = new FakeBoxLink();
    const shared = new SharedRollouts({ store, newEngine: () => new RolloutEngine({ store, link, view }), retryMs: 100, answerWithinMs: 300 });
    try {
      shared.start();
      const spec: RolloutSpec = { selection: {}, change: { kind: "release", manifest: signedManifestText({ version: "1.3.0" }) }, canary: { count: 1 }, batchSize: 5, failureThreshold: { count: 0 }, boxDeadlineMs: 600_000 };
      const planned = planRollout(spec, view.list({}), Date.now());
      if (!planned.ok) throw new Error(planned.error);
      expect(shared.driving).toBe(false);
      expect(await shared.create(spec, planned.plan, "technician.an")).toMatchObject({ status: 503, error: expect.stringMatching(/nothing was changed/) });
      expect(await shared.control("2026-12-03-00000000", "abort", "technician.an")).toMatchObject({ status: 503 });
      expect(await holder.take()).toEqual([]);
      expect(await store.list()).toEqual([]);
      expect(link.published).toEqual([]);
    } finally {
      await shared.stop();
      await held.release();
      await Promise.all([holder.close(), store.close()]);
    }
  });
});
