/** The waitress a command protocol (VISCA) waits on its replies with: first match wins, timeouts, a line gone. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Waitress, WaitTimeout } from "../../lib/waitress.ts";

afterEach(() => vi.useRealTimers());

describe("Waitress", () => {
  it("hands a message to the waiter it matches, and says whether one took it", async () => {
    const waitress = new Waitress<number>();
    const even = waitress.waitFor("an even number", (n) => n % 2 === 0, 1000);
    expect(waitress.offer(3)).toBe(false);
    expect(waitress.offer(4)).toBe(true);
    await expect(even).resolves.toBe(4);
    // Taken once: the same waiter does not take a second message.
    expect(waitress.offer(6)).toBe(false);
  });

  it("gives one message to one waiter only, the one that waited first", async () => {
    const waitress = new Waitress<string>();
    const first = waitress.waitFor("an ack", (m) => m === "ack", 1000);
    const second = waitress.waitFor("an ack", (m) => m === "ack", 1000);
    expect(waitress.offer("ack")).toBe(true);
    await expect(first).resolves.toBe("ack");
    expect(waitress.offer("ack")).toBe(true);
    await expect(second).resolves.toBe("ack");
  });

  it("fails a wait with no match in time with a WaitTimeout naming what was awaited, and forgets it", async () => {
    vi.useFakeTimers();
    const waitress = new Waitress<string>();
    const reply = waitress.waitFor("a completion", (m) => m === "done", 500);
    vi.advanceTimersByTime(500);
    await expect(reply).rejects.toThrow(WaitTimeout);
    await expect(reply).rejects.toThrow("no a completion within 500 ms");
    expect(waitress.offer("done")).toBe(false);
  });

  it("fails every pending wait when the line goes away, and no timer fires afterwards", async () => {
    vi.useFakeTimers();
    const waitress = new Waitress<string>();
    const a = waitress.waitFor("a", () => true, 500);
    const b = waitress.waitFor("b", () => true, 500);
    const gone = new Error("port closed");
    waitress.rejectAll(gone);
    await expect(a).rejects.toBe(gone);
    await expect(b).rejects.toBe(gone);
    expect(vi.getTimerCount()).toBe(0);
    expect(waitress.offer("late")).toBe(false);
  });
});
