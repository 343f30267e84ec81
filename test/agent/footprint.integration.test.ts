/**
 * What the agent holds at rest that it does not need (issue 17, docs/media.md "At rest"). A module
 * preloaded with --import through NODE_OPTIONS prints, every 100 ms on the agent's standard
 * output, what it sees inside the agent's process:
 * - the size of mqtt-packet's table of two-byte Buffers, one per packet id (65,536 of them, 6.5 MB
 *   of heap), which mqtt-packet builds at the first packet it writes unless the client turns it
 *   off; the agent's copy of mqtt-packet, the one its mqtt loads;
 * - whether Node has loaded undici (its fetch and WebSocket, ~15 MB resident), which an ES import
 *   of node:http pulls in by reading the module's lazy WebSocket getters;
 * - which Bluetooth packages it has loaded (node-ble, dbus-next: a box with no BLE device
 *   configured needs none), recorded by a module hook (Node's registerHooks).
 * And after a consultation: the heap is collected once the last viewer has gone (V8 keeps the room
 * a busy heap took otherwise; bin/thea exposes the collector).
 */
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../helpers/agentProcess.ts";
import { useBroker } from "../helpers/brokerFixture.ts";
import { watchOverLoopback } from "../helpers/loopbackViewer.ts";

const fixture = useBroker();

interface Seen {
  numberTable: number;
  undici: boolean;
  bluetooth: string[];
}

const REPORT = [
  'import { createRequire, registerHooks } from "node:module";',
  "const bluetooth = new Set();",
  'registerHooks({ load(url, context, next) { const name = /node_modules\\/(node-ble|dbus-next)\\//.exec(url)?.[1]; if (name) bluetooth.add(name); return next(url, context); } });',
  'const fromMqtt = createRequire(createRequire(process.argv[1]).resolve("mqtt"));',
  "setInterval(() => process.stdout.write(`${JSON.stringify({ atRest: {",
  '  numberTable: Object.keys(fromMqtt("mqtt-packet/numbers.js").cache).length,',
  "  undici: process.moduleLoadList.some((name) => name.includes(\"undici\")),",
  "  bluetooth: [...bluetooth],",
  "} })}\\n`), 100).unref();",
].join("\n");

/** The agent, online and past one command answered (CONNECT, SUBSCRIBE, PUBLISH with ids written), and what it holds then. */
async function agentAtRest(): Promise<Seen> {
  const agent = await AgentProcess.start({
    brokerUrl: fixture.broker.url,
    env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(REPORT)}` },
    extraYaml: ["cameras:", "  - { id: cam1, source: { type: test }, codec: vp8, width: 320, height: 240 }"].join("\n"),
  });
  fixture.cleanup(() => agent.stop());
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
  const answer = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/ping`, "{}", { timeoutMs: 30_000 });
  expect(answer.body).toMatchObject({ ok: true });
  const line = await agent.stdout.waitForLine("what the agent holds after the answer", (text) => text.startsWith('{"atRest":'), 10_000, agent.stdout.lines.length);
  return (JSON.parse(line) as { atRest: Seen }).atRest;
}

describe("the agent at rest", () => {
  it("does not hold mqtt-packet's table of 65,536 packet-id buffers once it has published", async () => {
    expect((await agentAtRest()).numberTable).toBe(0);
  });

  it("has not loaded Node's fetch and WebSocket (undici)", async () => {
    expect((await agentAtRest()).undici).toBe(false);
  });

  it("has loaded no Bluetooth code with no Bluetooth device configured", async () => {
    expect((await agentAtRest()).bluetooth).toEqual([]);
  });

  it("collects its heap a little after the last viewer has gone", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: ["media: { loopbackOnly: true }", "cameras:", "  - { id: cam1, source: { type: test }, codec: vp8, width: 320, height: 240 }"].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
    const command = async (name: string, params: object = {}) =>
      (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body as { ok: boolean; result?: Record<string, unknown> };
    const viewer = await watchOverLoopback(command, "cam1");
    fixture.cleanup(() => viewer.close());
    expect(agent.stdout.lines.some((line) => line.includes("heap collected"))).toBe(false);
    expect(await command("webrtc.close", { sessionId: viewer.sessionId })).toMatchObject({ ok: true });
    const collected = JSON.parse(await agent.waitForLog("heap collected after the last viewer left", 15_000)) as { pauseMs: number; heapUsedMb: number };
    expect(collected.pauseMs).toBeGreaterThanOrEqual(0);
  });
});
