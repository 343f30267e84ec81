/**
 * `within`: how the router and the broker connection bound a wait (a command's deadline, a
 * publish on the way down) without leaving a timer behind.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { within } from "../../lib/within.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("within", () => {
  it("gives the promise's value when it settles in time", async () => {
    await expect(within(Promise.resolve("answered"), 1000, "timed out")).resolves.toBe("answered");
  });

  it("gives the fallback when the promise has not settled within the time", async () => {
    vi.useFakeTimers();
    const waiting = within(new Promise<string>(() => {}), 500, "timed out");
    await vi.advanceTimersByTimeAsync(499);
    let settled = false;
    void waiting.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(waiting).resolves.toBe("timed out");
  });

  it("passes a rejection through rather than hiding it behind the fallback", async () => {
    await expect(within(Promise.reject(new Error("broken")), 1000, "timed out")).rejects.toThrow("broken");
  });

  it("leaves no timer behind once the promise has settled", async () => {
    vi.useFakeTimers();
    await within(Promise.resolve(1), 60_000, 0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits as long as it takes when the time is infinite", async () => {
    vi.useFakeTimers();
    let resolve: (value: string) => void = () => {};
    const waiting = within(new Promise<string>((r) => (resolve = r)), Number.POSITIVE_INFINITY, "timed out");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    resolve("late");
    await expect(waiting).resolves.toBe("late");
  });
});
