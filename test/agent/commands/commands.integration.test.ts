/**
 * Commands as an operator sends them: a plain MQTT 5 client and mosquitto_rr against a real
 * broker and agent. Every bad input gets an error answer and the agent keeps serving.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { Mosquitto } from "../../helpers/mosquitto.ts";
import { TestClient } from "../../helpers/mqttClient.ts";

const MAX_PAYLOAD = 2048;
let broker: Mosquitto;
let agent: AgentProcess;
let operator: TestClient;
let cmd: (name: string) => string;

beforeAll(async () => {
  broker = await Mosquitto.start();
  agent = await AgentProcess.start({ brokerUrl: broker.url, mqttYaml: `maxPayloadBytes: ${MAX_PAYLOAD}` });
  cmd = (name) => `thea/v1/${agent.deviceId}/cmd/${name}`;
  operator = await TestClient.connect(broker.url);
  await operator.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
});

afterAll(async () => {
  await operator.close();
  await agent.stop();
  await broker.stop();
});

describe("answers on the MQTT 5 response topic with the request's correlation data", () => {
  it("ping returns version, boot id and uptime", async () => {
    const { body } = await operator.request(cmd("ping"), "{}");
    expect(body).toMatchObject({
      ok: true,
      result: { deviceId: agent.deviceId, version: expect.any(String), bootId: expect.any(String), uptimeSec: expect.any(Number) },
    });
  });

  it("ping accepts an empty payload", async () => {
    const { body } = await operator.request(cmd("ping"), "");
    expect(body).toMatchObject({ ok: true });
  });

  it("health.now returns a fresh health report", async () => {
    const { body } = await operator.request(cmd("health.now"), "{}");
    expect(body).toMatchObject({ ok: true, result: { memory: { totalBytes: expect.any(Number) }, agent: { rssBytes: expect.any(Number) } } });
  });

  it("answers on …/cmd/{name}/response when the request has no response topic", async () => {
    const answer = operator.next(`${cmd("ping")}/response`);
    await operator.publish(cmd("ping"), "{}");
    expect((await answer).json()).toMatchObject({ ok: true, result: { deviceId: agent.deviceId } });
  });
});

describe("bad requests get an error answer, never a crash", () => {
  const cases: Array<[string, string, string | Buffer, string]> = [
    ["an unknown command", "reboot.now", "{}", "unknown-command"],
    ["invalid JSON", "ping", "{not json", "invalid-json"],
    ["a JSON array where parameters belong", "ping", "[1,2]", "invalid-params"],
    ["an unexpected parameter", "ping", '{"force":true}', "invalid-params"],
    ["a payload over the size limit", "ping", Buffer.alloc(MAX_PAYLOAD + 1, 0x20), "payload-too-large"],
    ["binary garbage", "health.now", Buffer.from([0xff, 0xfe, 0x00, 0x81]), "invalid-json"],
  ];

  it.each(cases)("%s", async (_label, name, payload, code) => {
    const { body } = await operator.request(cmd(name), payload);
    expect(body).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
  });

  it("still answers ping after all of them", async () => {
    const { body } = await operator.request(cmd("ping"), "{}");
    expect(body).toMatchObject({ ok: true });
    expect(agent.stderr.text).not.toMatch(/uncaught|unhandled/i);
  });
});

describe("request ids and expiry", () => {
  it("answers a repeated request id from the cache instead of running the command again", async () => {
    const requestId = Buffer.from("retry-42");
    const first = await operator.request(cmd("health.now"), "{}", { correlationData: requestId });
    const again = await operator.request(cmd("health.now"), "{}", { correlationData: requestId });
    const other = await operator.request(cmd("health.now"), "{}");
    // health.now reports how many commands the agent has run: a cached answer is the very same
    // report, a fresh run counts more.
    const ran = (answer: { body: unknown }) => (answer.body as { result: { agent: { counters: { commandsOk: number } } } }).result.agent.counters.commandsOk;
    expect(again.body).toEqual(first.body);
    expect(ran(other)).toBeGreaterThan(ran(first));
  });

  it("does not run a request whose expires-at has passed, and rejects a malformed one", async () => {
    const late = await operator.request(cmd("ping"), "{}", { userProperties: { "expires-at": new Date(Date.now() - 1000).toISOString() } });
    expect(late.body).toMatchObject({ ok: false, error: { code: "expired" } });
    const timely = await operator.request(cmd("ping"), "{}", { userProperties: { "expires-at": new Date(Date.now() + 60_000).toISOString() } });
    expect(timely.body).toMatchObject({ ok: true });
    const garbled = await operator.request(cmd("ping"), "{}", { userProperties: { "expires-at": "tomorrow-ish" } });
    expect(garbled.body).toMatchObject({ ok: false, error: { code: "invalid-params" } });
  });
});

describe("mosquitto_rr", () => {
  it("gets the ping answer", async () => {
    const run = promisify(execFile);
    const { stdout } = await run("mosquitto_rr", [
      "-h", "127.0.0.1", "-p", String(broker.port),
      "-t", cmd("ping"), "-e", `thea/v1/${agent.deviceId}/reply/rr/ping`, "-m", "{}", "-W", "10",
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, result: { deviceId: agent.deviceId } });
  });
});
