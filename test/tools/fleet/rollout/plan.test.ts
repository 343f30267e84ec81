/**
 * The rollout plan (pure): which boxes a selection takes among those a person sees, the canary
 * spread over the sites, the batches, what is sent, and every refusal in words.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../../tools/fleet/model.ts";
import type { RolloutSpec } from "../../../../tools/fleet/rollout/model.ts";
import { batchesOf, passesThreshold, planRollout } from "../../../../tools/fleet/rollout/plan.ts";
import { rolloutRequestOf } from "../../../../tools/fleet/rollout/request.ts";
import { signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { boxRow } from "../../../helpers/fakeFleetView.ts";

const NOW = Date.parse("2026-12-03T10:00:00.000Z");
const MANIFEST = signedManifestText({ version: "1.3.0" });

function row(deviceId: string, district: string, commune: string, version = "1.2.0", configVersion = 3): BoxRow {
  const base = boxRow(deviceId);
  const site = { province: "lao-cai", district, commune };
  return { ...base, site, summary: base.summary && { ...base.summary, site, version, config: { version: configVersion, state: "applied", refusedVersion: null } } };
}

const FLEET = [
  ...Array.from({ length: 6 }, (_, i) => row(`bx-a${i}`, "bat-xat", "y-ty")),
  ...Array.from({ length: 6 }, (_, i) => row(`bx-b${i}`, "sa-pa", "ta-van")),
  row("bx-new", "sa-pa", "ta-van", "1.3.0"),
];

function spec(changes: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    selection: { province: "lao-cai" },
    change: { kind: "release", manifest: MANIFEST },
    canary: { count: 2 },
    batchSize: 4,
    failureThreshold: { count: 1 },
    boxDeadlineMs: 600_000,
    ...changes,
  };
}

describe("planRollout", () => {
  it("puts a spread-out canary first, then batches of the size asked, and skips a box already on the release", () => {
    const planned = planRollout(spec(), FLEET, NOW);
    if (!planned.ok) throw new Error(planned.error);
    const { plan } = planned;
    expect(plan).toMatchObject({ kind: "update", target: "1.3.0", batches: 4, payload: MANIFEST.trim() });
    expect(plan.skipped).toEqual([{ deviceId: "bx-new", reason: "already runs 1.3.0" }]);
    const canary = plan.boxes.filter((box) => box.batch === 0);
    // One in each district, not the first two of one commune.
    expect(canary.map((box) => box.site.district).sort()).toEqual(["bat-xat", "sa-pa"]);
    expect(plan.boxes.filter((box) => box.batch === 1)).toHaveLength(4);
    expect(plan.boxes.filter((box) => box.batch === 3)).toHaveLength(2);
    expect(plan.boxes.every((box) => box.from === "1.2.0")).toBe(true);
  });

  it("takes only the boxes the person sees: a listed box outside them is refused as unknown", () => {
    const seen = FLEET.filter((box) => box.site.district === "sa-pa");
    const planned = planRollout(spec({ selection: { deviceIds: ["bx-b1", "bx-a1"] } }), seen, NOW);
    expect(planned).toEqual({ ok: false, error: "no box bx-a1" });
    const labels = planRollout(spec({ selection: { district: "bat-xat" } }), seen, NOW);
    expect(labels).toEqual({ ok: false, error: "the selection holds no box" });
  });

  it("selects by version and by list together", () => {
    const planned = planRollout(spec({ selection: { version: "1.2.0", deviceIds: ["bx-a1", "bx-new"] } }), FLEET, NOW);
    expect(planned.ok && planned.plan.boxes.map((box) => box.deviceId)).toEqual(["bx-a1"]);
  });

  it("refuses a release that is not a signed manifest, or has expired, before any box would", () => {
    expect(planRollout(spec({ change: { kind: "release", manifest: "{}" } }), FLEET, NOW)).toMatchObject({ ok: false, error: expect.stringContaining("signed manifest") });
    const expired = signedManifestText({ expiresAt: "2026-12-01T00:00:00.000Z" });
    expect(planRollout(spec({ change: { kind: "release", manifest: expired } }), FLEET, NOW)).toEqual({ ok: false, error: "the release's manifest expired at 2026-12-01T00:00:00.000Z" });
  });

  it("leaves out boxes the manifest's devices do not name", () => {
    const only = signedManifestText({ devices: ["bx-a0", "bx-a1"] });
    const planned = planRollout(spec({ change: { kind: "release", manifest: only } }), FLEET, NOW);
    expect(planned.ok && planned.plan.boxes.map((box) => box.deviceId).sort()).toEqual(["bx-a0", "bx-a1"]);
    expect(planned.ok && planned.plan.skipped.filter((box) => box.reason === "not among the manifest's devices")).toHaveLength(10);
  });

  it("gives a config layer a version above every selected box's applied and refused one", () => {
    const fleet = [row("c1", "d", "c", "1.2.0", 4), row("c2", "d", "c", "1.2.0", 9)];
    const second = fleet[1];
    if (second?.summary) second.summary.config.refusedVersion = 12;
    const planned = planRollout(spec({ selection: {}, change: { kind: "config", patch: { log: { level: "warn" } } } }), fleet, NOW);
    if (!planned.ok) throw new Error(planned.error);
    expect(planned.plan).toMatchObject({ kind: "config", target: 13 });
    expect(JSON.parse(planned.plan.payload)).toEqual({ version: 13, patch: { log: { level: "warn" } } });
  });

  it("refuses a change larger than a box takes", () => {
    const planned = planRollout(spec({ change: { kind: "config", config: { notes: "x".repeat(300_000) } } }), FLEET, NOW);
    expect(planned).toMatchObject({ ok: false, error: expect.stringContaining("a box takes at most") });
  });
});

describe("batchesOf", () => {
  it("places every box once: a canary of the size asked (at least one), then full batches", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 60 }), (total, canary, size) => {
        const batches = batchesOf(total, { count: canary }, size);
        expect(batches).toHaveLength(total);
        expect(batches.filter((batch) => batch === 0)).toHaveLength(Math.min(total, Math.max(1, canary)));
        const sizes = new Map<number, number>();
        for (const batch of batches) sizes.set(batch, (sizes.get(batch) ?? 0) + 1);
        const last = Math.max(...batches);
        for (let batch = 1; batch < last; batch += 1) expect(sizes.get(batch)).toBe(size);
      }),
    );
  });

  it("rounds a percentage up", () => {
    expect(batchesOf(5, { percent: 10 }, 2).filter((batch) => batch === 0)).toHaveLength(1);
    expect(batchesOf(200, { percent: 5 }, 50).filter((batch) => batch === 0)).toHaveLength(10);
  });
});

describe("passesThreshold", () => {
  it("halts on more failures than the count, or than the percentage of boxes sent", () => {
    expect(passesThreshold(3, 10, { count: 3 })).toBe(false);
    expect(passesThreshold(4, 10, { count: 3 })).toBe(true);
    expect(passesThreshold(1, 10, { percent: 10 })).toBe(false);
    expect(passesThreshold(2, 10, { percent: 10 })).toBe(true);
  });
});

describe("rolloutRequestOf", () => {
  it("reads a request with its defaults and percentages", () => {
    const request = rolloutRequestOf({ selection: { commune: "y-ty" }, release: MANIFEST, canary: "10%", failureThreshold: 2, dryRun: true });
    expect(request).toMatchObject({
      ok: true,
      dryRun: true,
      spec: { canary: { percent: 10 }, failureThreshold: { count: 2 }, batchSize: 20, boxDeadlineMs: 1_800_000, change: { kind: "release" } },
    });
  });

  it("says what is wrong, by path, and takes exactly one change", () => {
    expect(rolloutRequestOf({ selection: {}, release: MANIFEST, patch: {} })).toEqual({ ok: false, error: "request: give exactly one change: release, patch or config" });
    expect(rolloutRequestOf({ selection: { deviceIds: ["Not An Id"] }, patch: {} })).toMatchObject({ ok: false, error: expect.stringContaining("selection.deviceIds.0") });
    expect(rolloutRequestOf({ selection: {}, patch: {}, batchSize: 0 })).toMatchObject({ ok: false, error: expect.stringContaining("batchSize") });
    expect(rolloutRequestOf({ selection: {}, patch: {}, extra: 1 })).toMatchObject({ ok: false });
  });

  it("never throws on hostile input", () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void rolloutRequestOf(value)));
  });
});
