/**
 * The contract every RolloutStore passes (one suite, every implementation): sqliteStore.test.ts,
 * memoryStore.test.ts and pgStore.test.ts (on a real PostgreSQL) run it.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RolloutBox, RolloutRecord } from "../../../../tools/fleet/rollout/model.ts";
import type { RolloutStore } from "../../../../tools/fleet/rollout/store.ts";

export interface RolloutStoreFactory {
  open(): Promise<RolloutStore> | RolloutStore;
  /** The same store opened again after close, when it keeps its data across that. */
  reopen?(): Promise<RolloutStore> | RolloutStore;
}

export function rolloutRecord(id: string, createdAt = "2026-12-03T10:00:00.000Z"): RolloutRecord {
  return {
    id,
    createdBy: "technician.an",
    createdAt,
    updatedAt: createdAt,
    status: "running",
    statusReason: null,
    spec: { selection: { province: "lao-cai" }, change: { kind: "config", patch: { log: { level: "warn" } } }, canary: { count: 1 }, batchSize: 2, failureThreshold: { percent: 10 }, boxDeadlineMs: 60_000 },
    kind: "config",
    target: 4,
    payload: '{"version":4,"patch":{"log":{"level":"warn"}}}',
    batches: 2,
    currentBatch: -1,
    skipped: [{ deviceId: "bx-9", reason: "already runs 1.3.0" }],
  };
}

export function rolloutBox(deviceId: string, batch: number, changes: Partial<RolloutBox> = {}): RolloutBox {
  return { deviceId, batch, state: "pending", site: { province: "lao-cai" }, from: 3, sentAt: null, deadlineAt: null, lastReport: null, result: null, reason: null, settledAt: null, ...changes };
}

export function rolloutStoreContract(name: string, factory: RolloutStoreFactory): void {
  describe(`${name} (RolloutStore contract)`, () => {
    const opened: RolloutStore[] = [];
    const open = async () => {
      const store = await factory.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it("keeps a rollout with its boxes, ordered by batch then id", async () => {
      const store = await open();
      const boxes = [rolloutBox("bx-2", 1), rolloutBox("bx-1", 1), rolloutBox("bx-3", 0)];
      await store.create(rolloutRecord("r1"), boxes);
      const kept = await store.get("r1");
      expect(kept?.rollout).toEqual(rolloutRecord("r1"));
      expect(kept?.boxes.map((box) => box.deviceId)).toEqual(["bx-3", "bx-1", "bx-2"]);
      expect(kept?.boxes[0]).toEqual(boxes[2]);
      expect(await store.get("nope")).toBeUndefined();
    });

    it("refuses a second rollout with the same id, keeping the first", async () => {
      const store = await open();
      await store.create(rolloutRecord("r1"), [rolloutBox("bx-1", 0)]);
      await expect(store.create({ ...rolloutRecord("r1"), status: "paused" }, [])).rejects.toThrow();
      expect((await store.get("r1"))?.rollout.status).toBe("running");
    });

    it("updates the record and only the boxes given", async () => {
      const store = await open();
      await store.create(rolloutRecord("r1"), [rolloutBox("bx-1", 0), rolloutBox("bx-2", 1)]);
      const sending = rolloutBox("bx-1", 0, { state: "sending" });
      await store.update({ ...rolloutRecord("r1"), currentBatch: 0, status: "paused" }, [sending]);
      const kept = await store.get("r1");
      expect(kept?.rollout).toMatchObject({ currentBatch: 0, status: "paused" });
      expect(kept?.boxes).toEqual([sending, rolloutBox("bx-2", 1)]);
      await expect(store.update(rolloutRecord("ghost"), [])).rejects.toThrow();
    });

    it("lists rollouts newest first", async () => {
      const store = await open();
      await store.create(rolloutRecord("old", "2026-12-01T00:00:00.000Z"), []);
      await store.create(rolloutRecord("new", "2026-12-03T00:00:00.000Z"), []);
      expect((await store.list()).map((rollout) => rollout.id)).toEqual(["new", "old"]);
    });

    it.skipIf(!factory.reopen)("keeps everything across a close and an open", async () => {
      const store = await open();
      await store.create(rolloutRecord("r1"), [rolloutBox("bx-1", 0, { state: "sending" })]);
      await store.close();
      const again = await factory.reopen?.();
      if (!again) throw new Error("no reopen");
      opened.push(again);
      expect((await again.get("r1"))?.boxes[0]?.state).toBe("sending");
    });
  });
}
