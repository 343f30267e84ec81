/**
 * A bug inside the agent must not leave a half-working process behind: it is logged and the
 * process exits non-zero, so systemd (Restart=always) starts a fresh one.
 */
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess, PROJECT_ROOT } from "../helpers/agentProcess.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { TestClient } from "../helpers/mqttClient.ts";

const INJECT = path.join(PROJECT_ROOT, "test", "fixtures", "injectFault.mjs");
let broker: Mosquitto;
const running: AgentProcess[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.stop()));
});
afterAll(async () => {
  await broker.stop();
});

describe("an uncaught fault", () => {
  it.each([
    ["an exception thrown from a callback", "SIGUSR2", "uncaught exception", "injected fault"],
    ["a promise rejection nobody handles", "SIGHUP", "unhandled promise rejection", "injected rejection"],
  ] as const)("%s is logged and exits non-zero; the broker then publishes the last will", async (_label, signal, kind, message) => {
    const agent = await AgentProcess.start({ brokerUrl: broker.url, env: { NODE_OPTIONS: `--import=${INJECT}` } });
    running.push(agent);
    await agent.waitForLog("connected to broker");
    const watcher = await TestClient.connect(broker.url);
    try {
      const will = watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online === false);
      agent.kill(signal);
      const exit = await agent.waitForExit(5000);
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      const fatal = JSON.parse(await agent.waitForLog(kind)) as { level: number; err: string };
      expect(fatal).toMatchObject({ level: 60, err: message });
      expect((await will).json()).toMatchObject({ online: false, reason: "connection-lost" });
    } finally {
      await watcher.close();
    }
  });
});
