/**
 * Soak, accelerated: three simulated devices at 50× their real rate, an operator sending a
 * command every 100 ms, and the broker bounced every 20 s, for SOAK_SECONDS (default 90).
 * Prints the agent's RSS, heap, open fds and event-loop lag near the start and at the end, and
 * whether any reading was lost. Figures only; nothing is asserted.
 */
import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import type { HealthPayload, ReadingPayload } from "../agent/core/api.ts";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { processFigures, simulatedDevice } from "./lib/station.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 90);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The measuring subscriber keeps a persistent session, and the broker keeps sessions across its
// restarts, so what is published while the subscriber reconnects is queued for it: "lost" counts
// only readings the agent failed to deliver.
const brokerState = await mkdtemp(path.join(tmpdir(), "thea-soak-broker-"));
// Started as root, mosquitto drops to its own user, which must be able to write its database.
await chmod(brokerState, 0o777);
const broker = await Mosquitto.start(`persistence true\npersistence_location ${brokerState}/\nmax_queued_messages 100000\n`);
const drivers = ["nonin", "masimo-ascii", "contec-cms50"];
const devices = await Promise.all(drivers.map((driver) => simulatedDevice(driver, driver, 50)));
const agent = await AgentProcess.start({
  brokerUrl: broker.url,
  deviceId: "soak-box",
  healthIntervalSec: 5,
  env: { THEA_LOG_LEVEL: "warn" },
  extraYaml: [
    "outbox: { replayRatePerSec: 500 }",
    "peripherals:",
    ...devices.map((device, i) => `  - { id: p${i}, driver: ${drivers[i]}, port: "${device.port}", publishRateHz: 10 }`),
  ].join("\n"),
});
const pid = agent.pid;

const operator = mqtt.connect(broker.url, {
  protocolVersion: 5,
  clientId: "soak-operator",
  clean: false,
  properties: { sessionExpiryInterval: 3600 },
  reconnectPeriod: 200,
});
const seqs = new Set<number>();
const health: HealthPayload[] = [];
let answers = 0;
let requests = 0;
// The agent answers only under its own reply/{requester}/… (docs/mqtt-api.md).
const ANSWERS = "thea/v1/soak-box/reply/bench/answers";
operator.on("message", (topic, payload) => {
  if (topic.endsWith("/reading")) seqs.add((JSON.parse(payload.toString()) as ReadingPayload).seq);
  else if (topic.endsWith("/health")) health.push(JSON.parse(payload.toString()) as HealthPayload);
  else if (topic === ANSWERS) answers += 1;
});
// A reconnect the broker answers without the session means what was queued for the subscriber is
// gone on the broker's side; counted so a "lost" figure can be told apart from the agent's losses.
let connects = 0;
let sessionsLost = 0;
operator.on("connect", (connack) => {
  if (connects++ > 0 && !connack.sessionPresent) sessionsLost += 1;
  operator.subscribe(["thea/v1/soak-box/#"], { qos: 1 });
});

const commands = setInterval(() => {
  if (operator.connected) {
    // A fresh request id each time: a repeated one would be answered from the agent's cache.
    const correlationData = Buffer.from(String(requests++));
    operator.publish("thea/v1/soak-box/cmd/peripherals.list", "{}", { qos: 1, properties: { responseTopic: ANSWERS, correlationData } });
  }
}, 100);

await sleep(8000);
const start = { ...(await processFigures(pid)), at: health.length };
const started = Date.now();
let bounces = 0;
while (Date.now() - started < SECONDS * 1000) {
  await sleep(20_000);
  await broker.pause();
  await sleep(2000);
  await broker.resume();
  bounces += 1;
}
await sleep(10_000); // let the replay finish
const end = await processFigures(pid);
clearInterval(commands);

const first = health[start.at] ?? health[0];
const last = health[health.length - 1];
const max = Math.max(...seqs);
const missing = Array.from({ length: max }, (_, i) => i + 1).filter((seq) => !seqs.has(seq));
const lost = missing.length;
console.log(`soak: ${SECONDS} s, ${bounces} broker restarts, ${answers} command answers, ${seqs.size} readings (seq 1…${max}), lost: ${lost}`);
console.log(`  subscriber reconnects ${connects - 1}, of which the broker had dropped the session: ${sessionsLost}`);
if (lost > 0) console.log(`  missing seq ${missing[0]}…${missing[missing.length - 1]}; outbox at the end: depth ${last?.outbox.depth}, in flight ${last?.outbox.inFlight}`);
console.log(`  RSS      ${start.rssMb} MB → ${end.rssMb} MB  (${(end.rssMb - start.rssMb).toFixed(1)} MB)`);
console.log(`  heap     ${((first?.agent.heapUsedBytes ?? 0) / 1048576).toFixed(1)} MB → ${((last?.agent.heapUsedBytes ?? 0) / 1048576).toFixed(1)} MB`);
console.log(`  open fds ${start.fds} → ${end.fds}`);
console.log(`  event-loop lag p99 ${first?.agent.eventLoopLagMs.p99 ?? "?"} ms → ${last?.agent.eventLoopLagMs.p99 ?? "?"} ms (max ${last?.agent.eventLoopLagMs.max ?? "?"} ms)`);

await agent.stop();
operator.end(true);
await Promise.all(devices.map((device) => device.stop()));
await broker.stop();
process.exit(0);
