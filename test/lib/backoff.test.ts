import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LINK_BACKOFF } from "../../drivers/serial/link.ts";
import { backoffDelayMs, backoffWindowMs, ReconnectBackoff } from "../../lib/backoff.ts";

const settings = { initialDelayMs: 1000, maxDelayMs: 8000, stableAfterMs: 60_000 };

describe("ReconnectBackoff", () => {
  it("doubles the jitter window per failed attempt up to the cap", () => {
    const backoff = new ReconnectBackoff(settings, () => 1); // always the top of the window
    const delays = Array.from({ length: 6 }, () => backoff.nextDelayMs(0));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it("draws the wait uniformly from [0, window] (full jitter)", () => {
    const draws = [0, 0.5, 0.25];
    const backoff = new ReconnectBackoff(settings, () => draws.shift() ?? 0);
    expect([backoff.nextDelayMs(0), backoff.nextDelayMs(0), backoff.nextDelayMs(0)]).toEqual([0, 1000, 1000]);
  });

  it("starts over only after a connection was stable for stableAfterMs", () => {
    const backoff = new ReconnectBackoff(settings, () => 1);
    backoff.nextDelayMs(0);
    backoff.nextDelayMs(0);
    backoff.connected(10_000);
    expect(backoff.nextDelayMs(20_000)).toBe(4000); // dropped after 10 s: keeps escalating
    backoff.connected(100_000);
    expect(backoff.nextDelayMs(160_000)).toBe(1000); // stable for 60 s: first window again
  });

  it("spreads a fleet's first reconnect across the whole window", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const perSecond = new Map<number, number>();
    for (let box = 0; box < 2050; box++) {
      const delay = new ReconnectBackoff({ ...settings, initialDelayMs: 15_000, maxDelayMs: 60_000 }, random).nextDelayMs(0);
      const second = Math.floor(delay / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(205); // ≤ 10 % of the fleet in any second
  });
});

describe("backoffDelayMs", () => {
  it("waits out the whole window without jitter: a serial or TCP link's 500 ms doubling to 10 s", () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => backoffDelayMs(attempt, LINK_BACKOFF, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it("draws from [0, window] with full jitter, the default", () => {
    const options = { initialDelayMs: 1000, maxDelayMs: 8000 };
    expect([0, 0.5, 1].map((draw) => backoffDelayMs(2, options, () => draw))).toEqual([0, 2000, 4000]);
    expect(backoffDelayMs(9, { ...options, jitter: "full" }, () => 1)).toBe(8000);
  });

  it("stays a whole number of ms within [0, cap] for any attempt, however many", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 60_000 }), fc.nat({ max: 600_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, initialDelayMs, maxDelayMs, draw) => {
        for (const jitter of ["full", "none"] as const) {
          const delay = backoffDelayMs(attempt, { initialDelayMs, maxDelayMs, jitter }, () => draw);
          expect(Number.isInteger(delay) && delay >= 0 && delay <= maxDelayMs).toBe(true);
        }
      }),
    );
    expect(backoffWindowMs(5_000, { initialDelayMs: 0, maxDelayMs: 10_000 })).toBe(0); // not NaN
  });
});
