import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SummaryPayload } from "../../../agent/core/api.ts";
import { attentionReasons, byUrgency, countsOf, rowOf } from "../../../tools/fleet/attention.ts";
import type { BoxState } from "../../../tools/fleet/types/boxState.ts";

const NOW = Date.parse("2026-12-03T12:00:00.000Z");
const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const rules = { offlineAttentionMin: 10 };

function summary(patch: Partial<SummaryPayload> = {}): SummaryPayload {
  return {
    site: {},
    onlineSince: minutesAgo(100),
    version: "0.1.0",
    config: { version: 3, state: "applied", refusedVersion: null },
    update: "idle",
    clockSynchronized: true,
    cpuTempC: 50,
    diskUsedPercent: 42,
    outbox: { backlog: 0, oldestAgeMin: null },
    peripherals: { connected: 2, configured: 2, down: [] },
    consultations: 0,
    ...patch,
  };
}

function box(deviceId: string, patch: Partial<BoxState> = {}): BoxState {
  return { deviceId, site: {}, online: true, since: minutesAgo(100), offlineReason: null, summary: summary(), lastSeenAt: minutesAgo(1), ...patch };
}

const offline = (deviceId: string, minutes: number, patch: Partial<BoxState> = {}) =>
  box(deviceId, { online: false, since: minutesAgo(minutes), offlineReason: "connection-lost", ...patch });

describe("attentionReasons", () => {
  it("leaves a healthy box, and one that cannot tell its clock, off the list", () => {
    expect(attentionReasons(box("a"), NOW, rules)).toEqual([]);
    expect(attentionReasons(box("a", { summary: summary({ clockSynchronized: null }) }), NOW, rules)).toEqual([]);
    expect(attentionReasons(box("a", { summary: null }), NOW, rules)).toEqual([]);
  });

  it("lists a box offline for more than N minutes, not one offline for N or less", () => {
    expect(attentionReasons(offline("a", 10), NOW, rules)).toEqual([]);
    expect(attentionReasons(offline("a", 10.5), NOW, rules)).toEqual([{ kind: "offline", forMin: 10 }]);
    expect(attentionReasons(offline("a", 90), NOW, { offlineAttentionMin: 120 })).toEqual([]);
  });

  it("names each reason with the figure that put the box there", () => {
    const state = box("a", {
      summary: summary({
        peripherals: { connected: 0, configured: 10, down: ["bp", "spo2"], downMore: 8 },
        diskUsedPercent: 81,
        outbox: { backlog: 300, oldestAgeMin: 60 },
        clockSynchronized: false,
        update: "rolled-back",
        config: { version: 3, state: "applied", refusedVersion: 4 },
      }),
    });
    expect(attentionReasons(state, NOW, rules)).toEqual([
      { kind: "peripheral-down", ids: ["bp", "spo2"], more: 8 },
      { kind: "disk-full", usedPercent: 81 },
      { kind: "outbox-stale", oldestAgeMin: 60 },
      { kind: "clock-unsynchronized" },
      { kind: "update-failed", state: "rolled-back" },
      { kind: "config-refused", version: 4 },
    ]);
  });

  it("keeps the boundaries: disk at 80 % and a backlog 15 minutes old are fine", () => {
    const state = box("a", { summary: summary({ diskUsedPercent: 80, outbox: { backlog: 300, oldestAgeMin: 15 }, update: "failed" }) });
    expect(attentionReasons(state, NOW, rules)).toEqual([{ kind: "update-failed", state: "failed" }]);
  });
});

describe("countsOf", () => {
  it("counts online, offline, attention and updating", () => {
    const rows = [
      box("a"),
      box("b", { summary: summary({ update: "downloading" }) }),
      box("c", { summary: summary({ update: "committed", diskUsedPercent: 95 }) }),
      offline("d", 30),
      offline("e", 2, { summary: summary({ update: "restarting" }) }),
    ].map((state) => rowOf(state, NOW, rules));
    expect(countsOf(rows)).toEqual({ total: 5, online: 3, offline: 2, attention: 2, updating: 2 });
  });
});

describe("byUrgency", () => {
  const order = (states: BoxState[]) =>
    states
      .map((state) => rowOf(state, NOW, rules))
      .sort(byUrgency(NOW))
      .map((row) => row.deviceId);

  it("puts the longest offline first, then by number of reasons, then the rest by id", () => {
    const states = [
      box("healthy-b"),
      box("one-reason", { summary: summary({ diskUsedPercent: 90 }) }),
      offline("off-short", 20),
      box("two-reasons", { summary: summary({ diskUsedPercent: 90, clockSynchronized: false }) }),
      offline("off-long", 300),
      offline("off-recent", 3),
      box("healthy-a"),
    ];
    expect(order(states)).toEqual(["off-long", "off-short", "two-reasons", "one-reason", "healthy-a", "healthy-b", "off-recent"]);
  });

  it("is total and stable: the same rows in any order sort to the same list", () => {
    const reason = fc.record({
      online: fc.boolean(),
      sinceMin: fc.integer({ min: 0, max: 600 }),
      disk: fc.constantFrom(null, 50, 81, 99),
      clock: fc.constantFrom(true, false, null),
      update: fc.constantFrom("idle", "failed", "downloading"),
    });
    const fleet = fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,5}$/), reason), { selector: ([id]) => id, maxLength: 30 });
    fc.assert(
      fc.property(fleet, fc.func(fc.integer()), (boxes, shuffleKey) => {
        const states = boxes.map(([id, r]) =>
          box(id, { online: r.online, since: minutesAgo(r.sinceMin), summary: summary({ diskUsedPercent: r.disk, clockSynchronized: r.clock, update: r.update }) }),
        );
        const shuffled = states
          .map((state, i) => ({ state, key: shuffleKey(i) }))
          .sort((x, y) => x.key - y.key)
          .map(({ state }) => state);
        expect(order(shuffled)).toEqual(order(states));
        const compare = byUrgency(NOW);
        const rows = states.map((state) => rowOf(state, NOW, rules));
        for (const a of rows) {
          for (const b of rows) {
            if (a === b) continue;
            // Distinct rows never tie, and the comparator answers both ways alike.
            expect(compare(a, b)).not.toBe(0);
            expect(Math.sign(compare(a, b))).toBe(-Math.sign(compare(b, a)));
          }
        }
      }),
    );
  });
});
