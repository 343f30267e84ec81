import { describe, expect, it } from "vitest";
import { ReconnectBackoff } from "../../lib/backoff.ts";

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
