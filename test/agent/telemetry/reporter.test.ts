/**
 * The telemetry reporter against a stand-in broker connection and a real outbox: the retained
 * online status on each (re)connect, health through the outbox at telemetry priority then and every
 * interval, one disk warning per crossing, and a failed collection that costs one report only.
 */
import { EventEmitter } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import type { HealthPayload } from "../../../agent/core/api.ts";
import type { AgentContext } from "../../../agent/core/context.ts";
import { deviceTopics } from "../../../agent/core/topics.ts";
import type { BrokerConnection } from "../../../agent/mqtt/connection.ts";
import type { EventLog, EventType } from "../../../agent/outbox/events.ts";
import { Outbox } from "../../../agent/outbox/outbox.ts";
import { PRIORITY } from "../../../agent/outbox/priority.ts";
import type { HealthCollector } from "../../../agent/telemetry/health.ts";
import { TelemetryReporter } from "../../../agent/telemetry/reporter.ts";

const log = createLogger({ level: "silent" });

class StandInBroker extends EventEmitter {
  readonly published: { topic: string; payload: string; options: unknown }[] = [];

  async publish(topic: string, payload: string, options: unknown): Promise<boolean> {
    this.published.push({ topic, payload, options });
    return true;
  }
}

async function setUp(collect: () => Promise<HealthPayload>) {
  const outbox = new Outbox({ dataDir: await mkdtemp(path.join(tmpdir(), "thea-reporter-")), settings: { maxMessages: 100, maxBytes: 1_000_000, maxAgeSec: 3600 }, log });
  outbox.start();
  const broker = new StandInBroker();
  const topics = deviceTopics("clinic-7");
  const events: EventType[] = [];
  const ctx = {
    config: { deviceId: "clinic-7", site: {}, telemetry: { healthIntervalSec: 60 }, mqtt: { keepaliveSec: 30 } },
    configHash: "c0ffee",
    version: "1.4.2",
    bootId: "boot-1",
    startedAt: new Date(),
    clockSynchronized: async () => true,
    log,
  } as unknown as AgentContext;
  const reporter = new TelemetryReporter({
    ctx,
    broker: broker as unknown as BrokerConnection,
    topics,
    health: { collect } as unknown as HealthCollector,
    outbox,
    events: { record: (type: EventType) => events.push(type) } as unknown as EventLog,
  });
  reporter.start();
  const healthQueued = () => outbox.after(0, 100).filter((entry) => entry.topic === topics.health);
  const stop = () => {
    reporter.stop();
    outbox.stop();
  };
  return { broker, topics, events, healthQueued, stop };
}

const report = (usedPercent: number) => ({ disk: { path: "/var/lib/thea", totalBytes: 100, freeBytes: 100 - usedPercent, usedPercent } }) as unknown as HealthPayload;

describe("TelemetryReporter", () => {
  afterEach(() => vi.useRealTimers());

  it("announces itself online, retained, on each connect, and queues a health report at telemetry priority", async () => {
    const { broker, topics, healthQueued, stop } = await setUp(async () => report(40));
    try {
      broker.emit("connected", { connection: 1 });
      await vi.waitFor(() => expect(healthQueued()).toHaveLength(1));
      expect(broker.published).toEqual([{ topic: topics.status, payload: expect.any(String), options: { qos: 1, retain: true } }]);
      expect(JSON.parse(broker.published[0]?.payload ?? "")).toMatchObject({ online: true, session: 1, bootId: "boot-1", keepaliveSec: 30 });
      expect(healthQueued()[0]).toMatchObject({ priority: PRIORITY.telemetry });
      broker.emit("connected", { connection: 2 });
      await vi.waitFor(() => expect(healthQueued()).toHaveLength(2));
      expect(JSON.parse(broker.published[1]?.payload ?? "")).toMatchObject({ online: true, session: 2 });
    } finally {
      stop();
    }
  });

  it("queues a report every healthIntervalSec without a connection, and warns once per crossing of the disk threshold", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const figures = [85, 90, 70, 82];
    const { events, healthQueued, stop } = await setUp(async () => report(figures.shift() ?? 50));
    try {
      for (let n = 1; n <= 4; n += 1) {
        vi.advanceTimersByTime(60_000);
        await vi.waitFor(() => expect(healthQueued()).toHaveLength(n));
      }
      expect(events).toEqual(["disk.usage-high", "disk.usage-high"]);
    } finally {
      stop();
    }
  });

  it("survives a failed collection: that report is missing, the next one goes", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let calls = 0;
    const { healthQueued, stop } = await setUp(async () => {
      calls += 1;
      if (calls === 1) throw new Error("sysfs gone");
      return report(40);
    });
    try {
      vi.advanceTimersByTime(60_000);
      await vi.waitFor(() => expect(calls).toBe(1));
      vi.advanceTimersByTime(60_000);
      await vi.waitFor(() => expect(healthQueued()).toHaveLength(1));
    } finally {
      stop();
    }
  });
});
