/**
 * Secrets stay secret: a real agent logging at debug, with an MQTT password (from passwordFile,
 * checked by a mosquitto that requires it) and a TURN credential, asked for everything it can
 * tell — every log line it writes, its retained status and config/reported, health, logs.tail,
 * a diagnostics bundle, the answer to a refused desired config that itself carries secrets —
 * and none of it may contain either secret.
 */
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AgentProcess } from "../helpers/agentProcess.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { TestClient } from "../helpers/mqttClient.ts";
import { TopicLog } from "../helpers/topicLog.ts";

const MQTT_PASSWORD = "mqtt-pw-7d1e3c0a";
const TURN_CREDENTIAL = "turn-cred-91f4b2aa";
const REMOTE_CREDENTIAL = "remote-cred-5c88e0d1";
const SECRETS = [MQTT_PASSWORD, TURN_CREDENTIAL, REMOTE_CREDENTIAL];

let broker: Mosquitto;
let agent: AgentProcess;
let operator: TestClient;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-secrets-"));
  const passwords = path.join(dir, "passwords");
  await writeFile(passwords, "");
  await promisify(execFile)("mosquitto_passwd", ["-b", passwords, "box", MQTT_PASSWORD]);
  await promisify(execFile)("mosquitto_passwd", ["-b", passwords, "operator", "operator-pw"]);
  broker = await Mosquitto.startWith((port) => `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwords}\n`);
  const passwordFile = path.join(dir, "box-password");
  await writeFile(passwordFile, `${MQTT_PASSWORD}\n`);
  operator = await TestClient.connect(broker.url, { username: "operator", password: "operator-pw" });
  agent = await AgentProcess.start({
    brokerUrl: broker.url,
    // A lab broker on loopback without TLS: the password is allowed over plain TCP only because we say so.
    mqttYaml: `username: box\npasswordFile: '${passwordFile}'\nallowInsecureCredentials: true`,
    extraYaml: ["media:", "  iceServers:", `    - { urls: "turn:127.0.0.1:3478", username: nurse, credential: "${TURN_CREDENTIAL}" }`].join("\n"),
    healthIntervalSec: 1,
  });
  await agent.waitForLog("connected to broker", 30_000);
}, 60_000);

afterAll(async () => {
  await operator?.close();
  await agent?.stop();
  await broker?.stop();
});

it("never shows a password or a TURN credential, whatever is asked and wherever it is logged", async () => {
  const everything = await everythingTold(agent);
  // The outputs are real: the redacted places are there and say so.
  expect(everything).toContain("[redacted]");
  expect(everything).toContain("configuration loaded");
  for (const secret of SECRETS) expect(everything, `leaked ${secret}`).not.toContain(secret);
}, 90_000);

it("treats credentials in the broker URL (mqtt://user:pass@host) as a password everywhere", async () => {
  const url = new URL(broker.url);
  url.username = "box";
  url.password = MQTT_PASSWORD;
  const urlAgent = await AgentProcess.start({ brokerUrl: url.toString(), mqttYaml: "allowInsecureCredentials: true", healthIntervalSec: 1 });
  try {
    await urlAgent.waitForLog("connected to broker", 30_000); // the broker took the URL's credentials
    const everything = await everythingTold(urlAgent);
    expect(everything).toContain(`mqtt://[redacted]@${url.host}`);
    expect(everything, "leaked the URL's password").not.toContain(MQTT_PASSWORD);
  } finally {
    await urlAgent.stop();
  }
}, 90_000);

/** Every place an agent tells something: status, health, config/reported, logs.tail, diagnostics, its own output. */
async function everythingTold(agent: AgentProcess): Promise<string> {
  const root = `thea/v1/${agent.deviceId}`;
  const command = async (name: string, params: object = {}) => (await operator.request(`${root}/cmd/${name}`, JSON.stringify(params))).body as { ok: boolean; result: Record<string, unknown> };
  const told: unknown[] = [];
  told.push((await operator.next(`${root}/status`)).json());
  told.push((await operator.next(`${root}/health`)).json());
  const reported = await TopicLog.open<{ lastError: { version: number | null; errors: string[] } | null }>(operator, `${root}/config/reported`);
  await reported.next(() => true, 20_000);
  // A desired change carrying a credential, refused (media is not live-applicable with a bad key).
  await operator.publish(
    `${root}/config/desired`,
    JSON.stringify({ version: 3, patch: { media: { iceServers: [{ urls: "turn:127.0.0.1:3478", username: "x", credential: REMOTE_CREDENTIAL }], bogus: 1 } } }),
  );
  await reported.next((report) => report.lastError?.version === 3, 20_000);
  told.push(...reported.messages);
  told.push(await command("health.now"));
  told.push(await command("logs.tail", { lines: 1000, level: "trace" }));
  const first = await command("diagnostics.collect");
  const parts = [first.result];
  for (let part = 1; part < Number(first.result.parts); part++) parts.push((await command("diagnostics.collect", { bundleId: first.result.bundleId, part })).result);
  told.push(JSON.parse(gunzipSync(Buffer.concat(parts.map((part) => Buffer.from(String(part.data), "base64")))).toString()));

  return [JSON.stringify(told), agent.stdout.text, agent.stderr.text].join("\n");
}
