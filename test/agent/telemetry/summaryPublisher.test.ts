import { afterEach, describe, expect, it, vi } from "vitest";
import { CoalescingPublisher } from "../../../agent/telemetry/summaryPublisher.ts";

describe("CoalescingPublisher", () => {
  afterEach(() => vi.useRealTimers());

  it("publishes at once when online, then at most once a minute with the latest value, losing none", async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const publisher = new CoalescingPublisher({ publish: async (payload) => (sent.push(payload), true), minIntervalMs: () => 60_000 });
    publisher.offer("a");
    expect(sent).toEqual([]); // not online yet
    publisher.online();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(["a"]);
    publisher.offer("b");
    publisher.offer("c");
    await vi.advanceTimersByTimeAsync(59_000);
    expect(sent).toEqual(["a"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(["a", "c"]);
    publisher.offer("c"); // unchanged: nothing
    await vi.advanceTimersByTimeAsync(120_000);
    expect(sent).toEqual(["a", "c"]);
  });

  it("retries a failed publish at the next interval", async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    let ok = false;
    const publisher = new CoalescingPublisher({ publish: async (payload) => (sent.push(payload), ok), minIntervalMs: () => 60_000 });
    publisher.online();
    publisher.offer("a");
    await vi.advanceTimersByTimeAsync(0);
    ok = true;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toEqual(["a", "a"]);
  });
});
