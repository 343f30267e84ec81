/**
 * Which verified manifests a box acts on: its selector, its expiry, the anti-rollback floor and
 * the clock, decided from values; fuzzed over versions, floors and clocks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admit, type BoxSituation } from "../../../agent/update/admission.ts";
import { compareVersions, manifestSchema, type Manifest } from "../../../agent/update/manifest.ts";

const now = new Date("2026-12-03T10:00:00Z");
const box: BoxSituation = { deviceId: "clinic-7", channel: "stable", running: "1.2.0", floor: "1.2.0", now, clockSynchronized: true };
const manifest = (fields: Partial<Manifest> = {}): Manifest =>
  manifestSchema.parse({ version: "1.3.0", size: 1, sha256: "a".repeat(64), url: "https://updates.example.org/b.tar.gz", ...fields });
const tomorrow = "2026-12-04T10:00:00Z";
const yesterday = "2026-12-02T10:00:00Z";

describe("admit", () => {
  it("takes an upgrade for everyone, or for this box's channel or id", () => {
    expect(admit(manifest(), box)).toEqual({ ok: true });
    expect(admit(manifest({ channels: ["beta", "stable"], devices: ["clinic-7"], expiresAt: tomorrow }), box)).toEqual({ ok: true });
  });

  it("refuses a manifest for another channel or other boxes, and looks again later (not settled)", () => {
    expect(admit(manifest({ channels: ["beta"] }), box)).toMatchObject({ ok: false, result: "not-for-this-box", settle: false, reason: expect.stringContaining("this box follows stable") });
    expect(admit(manifest({ devices: ["clinic-8", "clinic-9"] }), box)).toMatchObject({ ok: false, result: "not-for-this-box", reason: expect.stringContaining("clinic-7 is not among them") });
    // Both given: both must match.
    expect(admit(manifest({ channels: ["stable"], devices: ["clinic-8"] }), box)).toMatchObject({ ok: false, result: "not-for-this-box" });
  });

  it("refuses an expired manifest; for good only when the clock is synchronised", () => {
    expect(admit(manifest({ expiresAt: yesterday }), box)).toMatchObject({ ok: false, result: "expired", settle: true });
    expect(admit(manifest({ expiresAt: now.toISOString() }), box)).toMatchObject({ ok: false, result: "expired" });
    expect(admit(manifest({ expiresAt: yesterday }), { ...box, clockSynchronized: null })).toMatchObject({ ok: false, result: "expired", settle: false, reason: expect.stringContaining("not synchronised") });
  });

  it("refuses anything below the floor unless it is a signed, unexpired downgrade judged by a synchronised clock", () => {
    const rolledBackByHand = { ...box, running: "1.1.0", floor: "1.3.0" };
    expect(admit(manifest({ version: "1.2.5" }), rolledBackByHand)).toMatchObject({ ok: false, result: "below-floor", settle: true, reason: expect.stringContaining("below this box's floor 1.3.0") });
    const downgrade = manifest({ version: "1.2.5", allowDowngrade: true, expiresAt: tomorrow });
    expect(admit(downgrade, rolledBackByHand)).toEqual({ ok: true });
    expect(admit(downgrade, { ...rolledBackByHand, clockSynchronized: false })).toMatchObject({ ok: false, result: "clock-unsynchronized", settle: false });
    expect(admit(downgrade, { ...rolledBackByHand, clockSynchronized: null })).toMatchObject({ ok: false, result: "clock-unsynchronized" });
    expect(admit({ ...downgrade, expiresAt: yesterday }, rolledBackByHand)).toMatchObject({ ok: false, result: "expired" });
    // Below the running version without a floor yet (no commit since this change): as before.
    expect(admit(manifest({ version: "1.0.0" }), { ...box, floor: undefined })).toMatchObject({ ok: false, result: "downgrade" });
    expect(admit(manifest({ version: "1.3.0" }), rolledBackByHand)).toEqual({ ok: true }); // at the floor is not below it
  });

  it("never admits a version below the floor or the running one without allowDowngrade, an unexpired expiry and a synchronised clock", () => {
    const version = fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map((parts) => parts.join("."));
    fc.assert(
      fc.property(
        version,
        version,
        fc.option(version, { nil: undefined }),
        fc.boolean(),
        fc.option(fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }), { nil: undefined }),
        fc.constantFrom(true, false, null),
        (target, running, floor, allowDowngrade, expiresInMs, clockSynchronized) => {
          const expiresAt = expiresInMs === undefined ? undefined : new Date(now.getTime() + expiresInMs).toISOString();
          const candidate = { ...manifest({ version: target }), allowDowngrade, ...(expiresAt && { expiresAt }) };
          const admitted = admit(candidate, { ...box, running, floor, clockSynchronized }).ok;
          const below = compareVersions(target, running) < 0 || (floor !== undefined && compareVersions(target, floor) < 0);
          const unexpired = expiresAt === undefined || Date.parse(expiresAt) > now.getTime();
          if (!unexpired) expect(admitted).toBe(false);
          if (below) expect(admitted).toBe(allowDowngrade && expiresAt !== undefined && unexpired && clockSynchronized === true);
        },
      ),
    );
  });
});
