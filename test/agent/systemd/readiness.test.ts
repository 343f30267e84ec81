import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEGRADED_OFFLINE, Readiness, READY_ONLINE } from "../../../agent/systemd/readiness.ts";

function setUp() {
  const broker = new EventEmitter<{ connected: []; disconnected: [] }>();
  const sent: string[] = [];
  const notifier = {
    ready: async (status: string) => void sent.push(`READY ${status}`),
    status: async (status: string) => void sent.push(`STATUS ${status}`),
  };
  const readiness = new Readiness({ broker, notifier, fallbackMs: 30_000 });
  return { broker, sent, readiness };
}

describe("Readiness", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("is ready on the first connection; later ones and losses only change the status", () => {
    const { broker, sent, readiness } = setUp();
    readiness.start();
    broker.emit("connected");
    broker.emit("disconnected");
    broker.emit("connected");
    vi.advanceTimersByTime(60_000); // the fallback was cancelled
    expect(sent).toEqual([`READY ${READY_ONLINE}`, `STATUS ${DEGRADED_OFFLINE}`, `STATUS ${READY_ONLINE}`]);
    readiness.stop();
  });

  it("says ready, degraded, when the broker is not reached within the connect timeout", () => {
    const { broker, sent, readiness } = setUp();
    readiness.start();
    vi.advanceTimersByTime(29_999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    broker.emit("connected");
    expect(sent).toEqual([`READY ${DEGRADED_OFFLINE}`, `STATUS ${READY_ONLINE}`]);
    readiness.stop();
  });

  it("leaves no listener on the connection and no timer once stopped", () => {
    const { broker, sent, readiness } = setUp();
    readiness.start();
    readiness.stop();
    expect(broker.listenerCount("connected") + broker.listenerCount("disconnected")).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    broker.emit("connected");
    expect(sent).toEqual([]);
  });
});
