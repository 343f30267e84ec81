/**
 * The agent process against a real mosquitto: presence (status, last will, shutdown), health
 * reports, and reconnecting after the broker restarts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { Mosquitto } from "../../helpers/mosquitto.ts";
import { TestClient } from "../../helpers/mqttClient.ts";

let broker: Mosquitto;
const running: AgentProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.stop()));
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await broker.stop();
});

async function startAgent(options: { healthIntervalSec?: number } = {}): Promise<AgentProcess> {
  const agent = await AgentProcess.start({ brokerUrl: broker.url, ...options });
  running.push(agent);
  return agent;
}

async function client(): Promise<TestClient> {
  const connected = await TestClient.connect(broker.url);
  clients.push(connected);
  return connected;
}

const statusTopic = (agent: AgentProcess) => `thea/v1/${agent.deviceId}/status`;

describe("presence on thea/v1/{deviceId}/status", () => {
  it("is a retained online status that a subscriber arriving later still receives", async () => {
    const agent = await startAgent();
    await agent.waitForLog("connected to broker");
    const watcher = await client();
    const message = await watcher.next(statusTopic(agent), (m) => (m.json() as { online: boolean }).online);
    expect(message.packet.retain).toBe(true);
    expect(message.json()).toMatchObject({
      online: true,
      version: expect.any(String),
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      configHash: expect.stringMatching(/^[0-9a-f]{16}$/),
      bootId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      session: 1,
    });
    expect(message.json()).toHaveProperty("clockSynchronized");
  });

  it("becomes the retained last will (connection-lost) when the agent is killed with SIGKILL", async () => {
    const agent = await startAgent();
    const watcher = await client();
    const online = await watcher.next(statusTopic(agent), (m) => (m.json() as { online: boolean }).online);
    const { bootId } = online.json() as { bootId: string };
    agent.kill("SIGKILL");
    await agent.exited;
    const late = await client();
    const will = await late.next(statusTopic(agent), (m) => !(m.json() as { online: boolean }).online);
    expect(will.packet.retain).toBe(true);
    expect(will.json()).toEqual({ online: false, reason: "connection-lost", bootId });
  });

  it("says shutdown and exits 0 within 5 s on SIGTERM", async () => {
    const agent = await startAgent();
    const watcher = await client();
    await watcher.next(statusTopic(agent), (m) => (m.json() as { online: boolean }).online);
    const goodbye = watcher.next(statusTopic(agent), (m) => !(m.json() as { online: boolean }).online);
    agent.kill("SIGTERM");
    const exit = await agent.waitForExit(5000);
    expect(exit.code).toBe(0);
    expect((await goodbye).json()).toMatchObject({ online: false, reason: "shutdown" });
    const late = await client();
    const retained = await late.next(statusTopic(agent));
    expect(retained.packet.retain).toBe(true);
    expect(retained.json()).toMatchObject({ online: false, reason: "shutdown" });
  });
});

describe("health on thea/v1/{deviceId}/health", () => {
  it("arrives on connect and then every interval, with host and agent figures", async () => {
    const agent = await startAgent({ healthIntervalSec: 1 });
    const watcher = await client();
    const topic = `thea/v1/${agent.deviceId}/health`;
    const first = await watcher.next(topic);
    const second = await watcher.next(topic, (m) => m.payload.toString() !== first.payload.toString());
    const health = second.json() as Record<string, unknown>;
    expect(health).toMatchObject({
      time: expect.any(String),
      uptimeSec: { system: expect.any(Number), agent: expect.any(Number) },
      cpu: { cores: expect.any(Number), loadAverage: expect.any(Array) },
      memory: { totalBytes: expect.any(Number), availableBytes: expect.any(Number), usedPercent: expect.any(Number) },
      disk: { path: agent.dataDir, totalBytes: expect.any(Number), freeBytes: expect.any(Number), usedPercent: expect.any(Number) },
      network: { interfaces: expect.any(Array) },
      agent: {
        rssBytes: expect.any(Number),
        heapUsedBytes: expect.any(Number),
        eventLoopLagMs: { p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) },
        counters: expect.objectContaining({ connects: 1, messagesOut: expect.any(Number) }),
      },
    });
    expect(health).toHaveProperty("clockSynchronized");
    expect(health).toHaveProperty("cpu.temperatureC");
    expect((health.cpu as { loadPercent: unknown }).loadPercent).toEqual(expect.any(Number));
  });
});

describe("reconnection", () => {
  it("comes back after the broker restarts and republishes its status with the next session number", async () => {
    const agent = await startAgent();
    const watcher = await client();
    const first = await watcher.next(statusTopic(agent), (m) => (m.json() as { online: boolean }).online);
    const { bootId } = first.json() as { bootId: string };
    await watcher.close();
    clients.length = 0;

    await broker.pause();
    await agent.waitForLog("retrying after backoff");
    await broker.resume();

    const again = await client();
    const status = await again.next(statusTopic(agent), (m) => (m.json() as { session: number }).session === 2);
    expect(status.json()).toMatchObject({ online: true, bootId, session: 2 });
  });

  it("keeps retrying while the broker is down at start, then connects", async () => {
    await broker.pause();
    const agent = await startAgent();
    await agent.waitForLog("retrying after backoff");
    await broker.resume();
    await agent.waitForLog("connected to broker");
    const watcher = await client();
    const status = await watcher.next(statusTopic(agent), (m) => (m.json() as { online: boolean }).online);
    expect(status.json()).toMatchObject({ online: true, session: 1 });
  });
});
