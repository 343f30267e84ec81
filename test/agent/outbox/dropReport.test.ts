import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DropReport } from "../../../agent/outbox/dropReport.ts";
import type { DropCounts } from "../../../agent/outbox/outbox.ts";
import type { EventType } from "../../../agent/outbox/events.ts";

class FakeOutbox extends EventEmitter<{ dropped: [Partial<DropCounts>]; degraded: [string] }> {
  totals: DropCounts = { telemetry: 0, event: 0, clinical: 0 };
  stats() {
    return { dropped: this.totals };
  }
}

function setUp() {
  const outbox = new FakeOutbox();
  const recorded: { type: EventType; details: Record<string, unknown> }[] = [];
  const report = new DropReport({ outbox, events: { record: (type, details = {}) => recorded.push({ type, details }) } });
  return { outbox, recorded, report };
}

describe("DropReport", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reports drops as one outbox.dropped event a minute, not counting dropped events", () => {
    const { outbox, recorded, report } = setUp();
    report.start();
    outbox.totals = { telemetry: 5, event: 2, clinical: 1 };
    outbox.emit("dropped", { telemetry: 3, event: 2 });
    outbox.emit("dropped", { telemetry: 2, clinical: 1 });
    vi.advanceTimersByTime(59_999);
    expect(recorded).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(recorded).toEqual([{ type: "outbox.dropped", details: { dropped: { telemetry: 5, clinical: 1 }, totals: { telemetry: 5, event: 2, clinical: 1 } } }]);
    outbox.emit("dropped", { event: 4 }); // only events: nothing to say, no timer
    vi.advanceTimersByTime(120_000);
    expect(recorded).toHaveLength(1);
    outbox.emit("dropped", { clinical: 2 });
    vi.advanceTimersByTime(60_000);
    expect(recorded[1]?.details.dropped).toEqual({ clinical: 2 });
    report.stop();
  });

  it("reports a degraded outbox at once", () => {
    const { outbox, recorded, report } = setUp();
    report.start();
    outbox.emit("degraded", "disk full");
    expect(recorded).toEqual([{ type: "outbox.degraded", details: { reason: "disk full" } }]);
    report.stop();
  });

  it("leaves no listener on the outbox and no timer once stopped", () => {
    const { outbox, recorded, report } = setUp();
    report.start();
    outbox.emit("dropped", { clinical: 1 });
    report.stop();
    expect(outbox.listenerCount("dropped") + outbox.listenerCount("degraded")).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    outbox.emit("degraded", "after stop");
    expect(recorded).toEqual([]);
  });
});
