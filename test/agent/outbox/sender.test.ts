/**
 * The outbox sender against a stand-in broker connection whose PUBACKs the test gives: live entries
 * go at once, an outage's backlog is replayed oldest first at the replay rate, at most `inFlight`
 * await their PUBACK, and an entry the client did not take is sent again. (The same paths against a
 * real mosquitto and a killed agent: outbox.integration.test.ts.)
 */
import { EventEmitter } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import type { BrokerConnection } from "../../../agent/mqtt/connection.ts";
import { Outbox } from "../../../agent/outbox/outbox.ts";
import { PRIORITY } from "../../../agent/outbox/priority.ts";
import { OutboxSender, type SenderSettings } from "../../../agent/outbox/sender.ts";

const log = createLogger({ level: "silent" });

/** A broker connection whose publishes wait for the test to acknowledge (true) or drop (false) them. */
class StandInBroker extends EventEmitter {
  connected = false;
  readonly sent: { payload: string; settle: (acknowledged: boolean) => void }[] = [];

  publish(_topic: string, payload: string): Promise<boolean> {
    return new Promise((resolve) => this.sent.push({ payload, settle: resolve }));
  }

  come(): void {
    this.connected = true;
    this.emit("connected", { connection: 1 });
  }

  payloads(): string[] {
    return this.sent.map((publish) => publish.payload);
  }
}

async function setUp(settings: SenderSettings) {
  const outbox = new Outbox({ dataDir: await mkdtemp(path.join(tmpdir(), "thea-sender-")), settings: { maxMessages: 1000, maxBytes: 1_000_000, maxAgeSec: 3600 }, log });
  outbox.start();
  const broker = new StandInBroker();
  const sender = new OutboxSender({ outbox, broker: broker as unknown as BrokerConnection, settings, log });
  sender.start();
  const add = (name: string) => outbox.enqueue({ topic: "t", priority: PRIORITY.clinical, createdAt: Date.now(), payload: name });
  const stop = () => {
    sender.stop();
    outbox.stop();
  };
  return { outbox, broker, sender, add, stop };
}

/** Lets settled publishes run their continuations. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("OutboxSender", () => {
  afterEach(() => vi.useRealTimers());

  it("sends live entries at once and replays the backlog oldest first at replayRatePerSec", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { broker, add, stop } = await setUp({ replayRatePerSec: 10, inFlight: 100 });
    try {
      for (const name of ["old-1", "old-2", "old-3", "old-4"]) add(name);
      expect(broker.sent).toEqual([]); // offline: nothing goes
      broker.come();
      add("live-1");
      expect(broker.payloads()).toEqual(["live-1"]);
      // Ten a second: one every 100 ms tick, oldest first, the live lane untouched.
      vi.advanceTimersByTime(100);
      expect(broker.payloads()).toEqual(["live-1", "old-1"]);
      vi.advanceTimersByTime(200);
      expect(broker.payloads()).toEqual(["live-1", "old-1", "old-2", "old-3"]);
      add("live-2");
      expect(broker.payloads().at(-1)).toBe("live-2");
      vi.advanceTimersByTime(1000);
      expect(broker.payloads()).toEqual(["live-1", "old-1", "old-2", "old-3", "live-2", "old-4"]);
    } finally {
      stop();
    }
  });

  it("holds at most inFlight entries awaiting their PUBACK, and removes from the outbox only what was acknowledged", async () => {
    const { outbox, broker, add, stop } = await setUp({ replayRatePerSec: 10, inFlight: 2 });
    try {
      broker.come();
      for (const name of ["a", "b", "c", "d"]) add(name);
      expect(broker.payloads()).toEqual(["a", "b"]);
      broker.sent[0]?.settle(true);
      await settle();
      expect(broker.payloads()).toEqual(["a", "b", "c"]);
      expect(outbox.after(0, 10).map((entry) => entry.payload)).toEqual(["b", "c", "d"]);
    } finally {
      stop();
    }
  });

  it("sends again an entry the client did not take", async () => {
    const { outbox, broker, add, stop } = await setUp({ replayRatePerSec: 10, inFlight: 1 });
    try {
      broker.come();
      add("a");
      broker.sent[0]?.settle(false);
      await settle();
      expect(broker.payloads()).toEqual(["a", "a"]);
      broker.sent[1]?.settle(true);
      await settle();
      expect(outbox.after(0, 10)).toEqual([]);
    } finally {
      stop();
    }
  });
});
