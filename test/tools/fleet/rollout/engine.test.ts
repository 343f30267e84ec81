/**
 * The rollout engine over a fake BoxLink and a fake clock: canary then batches, each waiting for
 * its boxes; the halt at the threshold leaving the rest untouched; deadlines and offline boxes;
 * pause, resume, abort; and a crash at the worst moment resumed without sending anything twice.
 */
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../../tools/fleet/model.ts";
import { RolloutEngine } from "../../../../tools/fleet/rollout/engine.ts";
import { MemoryRolloutStore } from "../../../../tools/fleet/rollout/memoryStore.ts";
import type { RolloutSpec } from "../../../../tools/fleet/rollout/model.ts";
import { planRollout } from "../../../../tools/fleet/rollout/plan.ts";
import { FakeBoxLink, FakeClock, signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { boxRow, FakeFleetView } from "../../../helpers/fakeFleetView.ts";

const MANIFEST = signedManifestText({ version: "1.3.0" });
const ids = (count: number) => Array.from({ length: count }, (_, i) => `bx-${String(i).padStart(3, "0")}`);

interface Setup {
  link: FakeBoxLink;
  clock: FakeClock;
  store: MemoryRolloutStore;
  view: FakeFleetView;
  engine: RolloutEngine;
}

async function setUp(boxes: number, existing?: Omit<Setup, "engine">): Promise<Setup> {
  const link = existing?.link ?? new FakeBoxLink();
  const clock = existing?.clock ?? new FakeClock();
  const store = existing?.store ?? new MemoryRolloutStore();
  const view = existing?.view ?? new FakeFleetView(ids(boxes).map((id) => boxRow(id)));
  const engine = new RolloutEngine({ store, link, view, clock, tickMs: 1000 });
  await engine.start();
  return { link, clock, store, view, engine };
}

function spec(changes: Partial<RolloutSpec> = {}): RolloutSpec {
  return { selection: {}, change: { kind: "release", manifest: MANIFEST }, canary: { count: 2 }, batchSize: 5, failureThreshold: { count: 1 }, boxDeadlineMs: 600_000, ...changes };
}

async function create(setup: Setup, rolloutSpec = spec()) {
  const planned = planRollout(rolloutSpec, setup.view.list({}), setup.clock.now());
  if (!planned.ok) throw new Error(planned.error);
  return setup.engine.create(rolloutSpec, planned.plan, "technician.an");
}

/** Boxes that commit what they are sent, except `failing`, which roll back with the health check's reason. */
function boxesAnswer(link: FakeBoxLink, failing: ReadonlySet<string> = new Set()): void {
  link.onPublish = (deviceId) =>
    queueMicrotask(() => {
      link.updateState(deviceId, { state: "downloading", version: "1.3.0", progress: 0 });
      if (failing.has(deviceId)) {
        link.updateState(deviceId, { state: "rolled-back", version: "1.3.0", result: "health-check-failed", reason: "version 1.3.0: the broker was not reached within 120 s; back to 1.2.0" });
      } else {
        link.updateState(deviceId, { state: "committed", version: "1.3.0", runningVersion: "1.3.0", result: "ok" });
      }
    });
}

describe("RolloutEngine", () => {
  it("sends the canary alone, then each batch once the one before is done, and completes", async () => {
    const setup = await setUp(12);
    const { link, engine } = setup;
    const rollout = await create(setup);
    // The canary is out; nobody else has anything yet.
    expect(link.published.map((entry) => entry.deviceId)).toHaveLength(2);
    expect(link.published.every((entry) => entry.kind === "update" && entry.payload === MANIFEST.trim())).toBe(true);
    link.updateState(link.published[0]?.deviceId ?? "", { state: "committed", version: "1.3.0", result: "ok" });
    await engine.idle();
    expect(link.published).toHaveLength(2); // one canary box is still on its way
    boxesAnswer(link);
    link.updateState(link.published[1]?.deviceId ?? "", { state: "committed", version: "1.3.0", result: "ok" });
    await engine.idle();
    const report = await engine.report(rollout.id);
    expect(report?.rollout.status).toBe("completed");
    expect(report?.totals).toMatchObject({ boxes: 12, succeeded: 12, failed: 0, pending: 0 });
    expect([...link.publishCounts().values()].every((count) => count === 1)).toBe(true);
    expect(link.published).toHaveLength(12);
  });

  it("halts past the threshold: the boxes not yet sent get nothing, the report names the failed ones and why", async () => {
    const setup = await setUp(40);
    const { link, engine } = setup;
    // Batch 1 (the first after the canary) holds boxes that fail; the threshold is one failure.
    const planned = planRollout(spec(), setup.view.list({}), setup.clock.now());
    if (!planned.ok) throw new Error(planned.error);
    const failing = new Set(planned.plan.boxes.filter((box) => box.batch === 1).slice(0, 2).map((box) => box.deviceId));
    boxesAnswer(link, failing);
    const rollout = await engine.create(spec(), planned.plan, "technician.an");
    await engine.idle();
    const report = await engine.report(rollout.id);
    expect(report?.rollout).toMatchObject({ status: "halted", statusReason: "2 of 7 boxes sent failed, more than the threshold (1)" });
    expect(report?.totals).toMatchObject({ boxes: 40, succeeded: 5, failed: 2, pending: 33 });
    expect(link.published).toHaveLength(7);
    const untouched = report?.boxes.filter((box) => box.state === "pending").map((box) => box.deviceId) ?? [];
    expect(untouched.some((deviceId) => link.publishCounts().has(deviceId))).toBe(false);
    const failed = report?.boxes.filter((box) => box.state === "failed");
    expect(failed?.map((box) => box.deviceId).sort()).toEqual([...failing].sort());
    expect(failed?.[0]).toMatchObject({ result: "health-check-failed", reason: expect.stringContaining("broker was not reached"), lastReport: "rolled-back" });
    // Halted is the end: no control brings it back to sending.
    expect(await engine.control(rollout.id, "resume", "technician.an")).toMatchObject({ status: 409 });
  });

  it("gives up on a box at its deadline: timed out if it was heard or is online, offline (not a failure) if neither", async () => {
    const setup = await setUp(3);
    const { link, clock, view, engine } = setup;
    const rollout = await create(setup, spec({ canary: { count: 3 }, failureThreshold: { count: 0 } }));
    const [quiet, gone, slow] = ids(3);
    view.rows.set(gone ?? "", { ...(view.rows.get(gone ?? "") as BoxRow), online: false });
    link.updateState(slow ?? "", { state: "downloading", version: "1.3.0", progress: 5 });
    await engine.idle();
    clock.advance(599_000);
    await engine.idle();
    expect((await engine.report(rollout.id))?.totals).toMatchObject({ inFlight: 3 });
    clock.advance(2_000);
    await engine.idle();
    const report = await engine.report(rollout.id);
    const byId = new Map(report?.boxes.map((box) => [box.deviceId, box]));
    expect(byId.get(gone ?? "")).toMatchObject({ state: "offline", result: "offline" });
    expect(byId.get(quiet ?? "")).toMatchObject({ state: "timed-out", reason: "not done by its deadline (no report at all)" });
    expect(byId.get(slow ?? "")).toMatchObject({ state: "timed-out", reason: "not done by its deadline (last report: downloading)" });
    expect(report?.rollout.status).toBe("halted");
  });

  it("pauses between batches, resumes, and aborts leaving the rest untouched", async () => {
    const setup = await setUp(20);
    const { link, engine } = setup;
    const rollout = await create(setup);
    expect(await engine.control(rollout.id, "pause", "technician.an")).toMatchObject({ status: "paused", statusReason: "paused by technician.an" });
    boxesAnswer(link);
    for (const { deviceId } of [...link.published]) link.updateState(deviceId, { state: "committed", version: "1.3.0", result: "ok" });
    await engine.idle();
    expect(link.published).toHaveLength(2); // paused: the canary is done, batch 1 waits
    await engine.control(rollout.id, "resume", "technician.an");
    await engine.idle();
    expect((await engine.report(rollout.id))?.rollout.status).toBe("completed");

    const second = await setUp(20);
    const other = await create(second);
    expect(await second.engine.control(other.id, "abort", "technician.binh")).toMatchObject({ status: "aborted" });
    boxesAnswer(second.link);
    for (const { deviceId } of [...second.link.published]) second.link.updateState(deviceId, { state: "committed", version: "1.3.0", result: "ok" });
    await second.engine.idle();
    const report = await second.engine.report(other.id);
    expect(report?.totals).toMatchObject({ succeeded: 2, pending: 18 });
    expect(second.link.published).toHaveLength(2);
    expect(await second.engine.control("nope", "pause", null)).toEqual({ status: 404, error: "no rollout nope" });
  });

  it("after a crash mid-batch, publishes only to the boxes the broker does not have it for, and carries on", async () => {
    const first = await setUp(12);
    const { link } = first;
    await create(first); // the canary, answered below by the new engine
    // The crash: the third box of batch 1 hangs in its publish, and the process dies there.
    let calls = 0;
    const realSet = link.setDesired.bind(link);
    link.setDesired = (deviceId, kind, payload) => (++calls === 3 ? new Promise<void>(() => undefined) : realSet(deviceId, kind, payload));
    for (const { deviceId } of [...link.published]) link.updateState(deviceId, { state: "committed", version: "1.3.0", result: "ok" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(link.published).toHaveLength(4); // two canary boxes, two of batch 1; the third hangs
    const sending = (await first.store.list())[0];
    const kept = sending && (await first.store.get(sending.id));
    expect(kept?.boxes.filter((box) => box.state === "sending")).toHaveLength(5);

    // The process is gone, and with it its subscriptions. The two boxes the broker has the
    // release for are slow: they have not said a word yet.
    link.dropFollowers();
    const slow = link.published.slice(2).map((entry) => entry.deviceId);
    link.setDesired = realSet;
    boxesAnswer(link);
    const second = await setUp(12, { link, clock: first.clock, store: first.store, view: first.view });
    await second.engine.idle();
    expect(link.publishCounts().get(slow[0] ?? "")).toBe(1);
    for (const deviceId of slow) link.updateState(deviceId, { state: "committed", version: "1.3.0", result: "ok" });
    await second.engine.idle();
    const report = sending && (await second.engine.report(sending.id));
    expect(report?.rollout.status).toBe("completed");
    expect(report?.totals).toMatchObject({ succeeded: 12 });
    expect([...link.publishCounts().entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(link.publishCounts().size).toBe(12);
  });

  it("stops publishing at once when another instance takes over; the new driver sends the rest, each box once", async () => {
    const first = await setUp(7);
    const { link } = first;
    // The lock is found lost while the canary of 5 is being published, after its second box.
    let abandoned: Promise<void> | undefined;
    link.onPublish = () => {
      if (link.published.length === 2) abandoned = first.engine.abandon();
    };
    const rollout = await create(first, spec({ canary: { count: 5 } }));
    await abandoned;
    expect(link.published).toHaveLength(2);
    const kept = await first.store.get(rollout.id);
    expect(kept?.boxes.filter((box) => box.state === "sent")).toHaveLength(2);
    expect(kept?.boxes.filter((box) => box.state === "sending")).toHaveLength(3);

    // The old engine's reports no longer reach its copy or the store; the new driver takes it up.
    link.dropFollowers();
    boxesAnswer(link);
    const second = await setUp(7, { link, clock: first.clock, store: first.store, view: first.view });
    await second.engine.idle();
    for (const { deviceId } of link.published.slice(0, 2)) link.updateState(deviceId, { state: "committed", version: "1.3.0", result: "ok" });
    await second.engine.idle();
    expect((await second.engine.report(rollout.id))?.rollout.status).toBe("completed");
    expect([...link.publishCounts().entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(link.publishCounts().size).toBe(7);
  });

  it("tries a publish again when the broker was away", async () => {
    const setup = await setUp(4);
    setup.link.down = true;
    const rollout = await create(setup);
    expect((await setup.engine.report(rollout.id))?.totals).toMatchObject({ inFlight: 2 });
    setup.link.down = false;
    boxesAnswer(setup.link);
    setup.clock.advance(1000);
    await setup.engine.idle();
    expect((await setup.engine.report(rollout.id))?.rollout.status).toBe("completed");
  });

  it("leaves a box whose publish failed untouched when the rollout is aborted meanwhile", async () => {
    const setup = await setUp(4);
    setup.link.down = true;
    const rollout = await create(setup);
    await setup.engine.control(rollout.id, "abort", "technician.an");
    setup.link.down = false;
    setup.clock.advance(1000);
    await setup.engine.idle();
    expect(setup.link.published).toEqual([]);
    expect((await setup.engine.report(rollout.id))?.totals).toMatchObject({ pending: 4, inFlight: 0 });
    expect(setup.engine.live).toBe(0);
  });

  it("rolls out a config layer: applied at its version succeeds, a refusal fails with the box's errors", async () => {
    const setup = await setUp(3);
    const { link, engine } = setup;
    const layer = spec({ change: { kind: "config", patch: { log: { level: "warn" } } }, canary: { count: 3 }, failureThreshold: { count: 5 } });
    const rollout = await create(setup, layer);
    expect(rollout.target).toBe(4);
    const [ok, refused, undone] = ids(3);
    link.configReported(ok ?? "", { version: 4, state: "applied" });
    link.configReported(refused ?? "", { version: 3, lastError: { version: 4, at: "", errors: ["log.level: Invalid option"] } });
    link.configReported(undone ?? "", { version: 3, lastError: { version: 4, at: "", errors: ["version 4 was undone (back to version 3): the broker was not reached within 120 s"] } });
    await engine.idle();
    const report = await engine.report(rollout.id);
    expect(report?.rollout.status).toBe("completed");
    expect(report?.boxes.map((box) => [box.deviceId, box.state, box.result])).toEqual([
      [ok, "succeeded", "ok"],
      [refused, "failed", "config-refused"],
      [undone, "failed", "config-refused"],
    ]);
    expect(report?.boxes[1]?.reason).toBe("log.level: Invalid option");
  });

  it("writes a flood of one box's reports once a tick, not once each, and keeps the last", async () => {
    const setup = await setUp(3);
    const rollout = await create(setup);
    let writes = 0;
    const update = setup.store.update.bind(setup.store);
    setup.store.update = (record, boxes) => {
      writes += 1;
      return update(record, boxes);
    };
    const deviceId = setup.link.published[0]?.deviceId ?? "";
    for (let i = 0; i < 1000; i += 1) setup.link.updateState(deviceId, { state: i % 2 === 0 ? "downloading" : "verifying", version: "1.3.0" });
    await setup.engine.idle();
    expect(writes).toBe(0);
    expect((await setup.engine.report(rollout.id))?.boxes.find((box) => box.deviceId === deviceId)?.lastReport).toBe("verifying");
    setup.clock.advance(1000);
    await setup.engine.idle();
    expect(writes).toBe(1);
    expect((await setup.store.get(rollout.id))?.boxes.find((box) => box.deviceId === deviceId)?.lastReport).toBe("verifying");
  });

  it("knows which boxes a live rollout holds, so a second one can be refused", async () => {
    const setup = await setUp(10);
    await create(setup);
    expect(setup.engine.busyBoxes("update").size).toBe(10);
    expect(setup.engine.busyBoxes("config").size).toBe(0);
  });
});
