/**
 * HeapRelease: one collection RELEASE_DELAY_MS after the last viewer has gone, however many
 * sessions end in that time; none once cancelled (the service stopping), none without a collector.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HeapRelease, RELEASE_DELAY_MS } from "../../../agent/media/heapRelease.ts";
import { createLogger } from "../../../lib/log.ts";

const log = createLogger({ level: "silent" });

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("HeapRelease", () => {
  it("collects once, RELEASE_DELAY_MS after it was first asked", () => {
    const collect = vi.fn();
    const release = new HeapRelease({ collect, log });
    release.schedule();
    vi.advanceTimersByTime(RELEASE_DELAY_MS / 2);
    release.schedule(); // a second session ending meanwhile
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(RELEASE_DELAY_MS / 2);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(RELEASE_DELAY_MS * 5);
    expect(collect).toHaveBeenCalledTimes(1);
    release.schedule(); // the next consultation's end
    vi.advanceTimersByTime(RELEASE_DELAY_MS);
    expect(collect).toHaveBeenCalledTimes(2);
  });

  it("collects nothing once cancelled", () => {
    const collect = vi.fn();
    const release = new HeapRelease({ collect, log });
    release.schedule();
    release.cancel();
    vi.advanceTimersByTime(RELEASE_DELAY_MS * 2);
    expect(collect).not.toHaveBeenCalled();
  });

  it("does nothing without a collector (Node started without --expose-gc)", () => {
    const release = new HeapRelease({ collect: undefined, log });
    release.schedule();
    expect(vi.getTimerCount()).toBe(0);
  });
});
