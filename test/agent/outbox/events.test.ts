/** Events for operators go through the outbox, on the event topic, between health and clinical readings. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import { EventLog } from "../../../agent/outbox/events.ts";
import { Outbox } from "../../../agent/outbox/outbox.ts";
import { PRIORITY } from "../../../agent/outbox/priority.ts";

describe("EventLog", () => {
  it("queues each event on its topic at event priority, with its own id, type, time and details", async () => {
    const outbox = new Outbox({ dataDir: await mkdtemp(path.join(tmpdir(), "thea-events-")), settings: { maxMessages: 100, maxBytes: 1_000_000, maxAgeSec: 3600 }, log: createLogger({ level: "silent" }) });
    outbox.start();
    try {
      const events = new EventLog({ outbox, topic: "thea/v1/clinic-7/event" });
      const before = Date.now();
      events.record("peripheral.disconnected", { peripheral: "oximeter" });
      events.record("outbox.degraded");
      const queued = outbox.after(0, 10);
      expect(queued.map((entry) => [entry.topic, entry.priority])).toEqual([
        ["thea/v1/clinic-7/event", PRIORITY.event],
        ["thea/v1/clinic-7/event", PRIORITY.event],
      ]);
      const [first, second] = queued.map((entry) => JSON.parse(entry.payload) as Record<string, unknown>);
      expect(first).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: "peripheral.disconnected", time: expect.any(String), peripheral: "oximeter" });
      expect(Date.parse(String(first?.time))).toBeGreaterThanOrEqual(before - 1000);
      expect(second).toMatchObject({ type: "outbox.degraded" });
      expect(second?.id).not.toBe(first?.id);
    } finally {
      outbox.stop();
    }
  });
});
