/**
 * The composition root in-process against a real mosquitto: a start and a stop leave no listener
 * on the broker connection or the outbox (stop undoes start), and the goodbye status still goes
 * out while connected.
 */
import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { agentFromStartup } from "../../agent/agent.ts";
import { loadStartupConfig } from "../../agent/config/startup.ts";
import { deviceTopics } from "../../agent/core/topics.ts";
import { BrokerConnection } from "../../agent/mqtt/connection.ts";
import { Outbox } from "../../agent/outbox/outbox.ts";
import { LogRing } from "../../lib/logRing.ts";
import { useBroker } from "../helpers/brokerFixture.ts";

const fixture = useBroker();

afterEach(() => vi.restoreAllMocks());

describe("Agent", () => {
  it("leaves no listener on the broker connection or the outbox once stopped, and says goodbye while connected", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-agent-"));
    fixture.cleanup(() => rm(dataDir, { recursive: true, force: true }));
    const deviceId = "clinic-inprocess";
    const topics = deviceTopics(deviceId);
    const env = { THEA_MQTT_URL: fixture.broker.url, THEA_DEVICE_ID: deviceId, THEA_DATA_DIR: dataDir };
    const loaded = await loadStartupConfig({ env });
    if (!loaded.ok) throw new Error(loaded.errors.join("; "));
    // Every emitter the agent's services listen on, as they register.
    const listenedTo = new Set<EventEmitter>();
    const on = EventEmitter.prototype.on;
    vi.spyOn(EventEmitter.prototype, "on").mockImplementation(function (this: EventEmitter, event, listener) {
      if (this instanceof BrokerConnection || this instanceof Outbox) listenedTo.add(this);
      return on.call(this, event, listener);
    });
    const { agent } = agentFromStartup(loaded.startup, {
      env,
      clockSynchronized: async () => null,
      lifecycle: { restart: () => undefined },
      logDestination: new LogRing(),
    });
    const online = fixture.watcher.next(topics.status, (message) => (message.json() as { online: boolean }).online);
    await agent.start();
    await online;
    const goodbye = fixture.watcher.next(topics.status, (message) => (message.json() as { reason?: string }).reason === "shutdown");
    await agent.stop();
    await goodbye;
    expect([...listenedTo].map((emitter) => emitter.constructor.name).sort()).toEqual(["BrokerConnection", "Outbox"]);
    for (const emitter of listenedTo) expect(emitter.eventNames(), emitter.constructor.name).toEqual([]);
  });
});
