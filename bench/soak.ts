/**
 * Soak, accelerated: three simulated devices at 50× their real rate, an operator sending a
 * command every 100 ms, and the broker bounced every 20 s, for SOAK_SECONDS (default 90).
 * Prints the agent's RSS, heap, open fds and event-loop lag near the start and at the end, and
 * whether any reading was lost. Figures only; nothing is asserted.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import type { HealthPayload, ReadingPayload } from "../agent/mqtt/api.ts";
import { Broker, processFigures, simulatedDevice, startAgent } from "./lib/station.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 90);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const broker = await Broker.start();
const dir = await mkdtemp(path.join(tmpdir(), "thea-soak-"));
const devices = await Promise.all([
  simulatedDevice(dir, "nonin", "nonin", 50),
  simulatedDevice(dir, "masimo", "masimo-ascii", 50),
  simulatedDevice(dir, "contec", "contec-cms50", 50),
]);
const agent = await startAgent({
  brokerUrl: broker.url,
  dataDir: path.join(dir, "data"),
  deviceId: "soak-box",
  configYaml: [
    "mqtt: { reconnect: { initialDelaySec: 0.5, maxDelaySec: 2, stableAfterSec: 5 } }",
    "telemetry: { healthIntervalSec: 5 }",
    "outbox: { replayRatePerSec: 500 }",
    "peripherals:",
    ...devices.map((device, i) => `  - { id: p${i}, driver: ${["nonin", "masimo-ascii", "contec-cms50"][i]}, port: "${device.port}", publishRateHz: 10 }`),
  ].join("\n"),
});
const pid = agent.pid ?? 0;

const operator = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 200 });
const seqs = new Set<number>();
const health: HealthPayload[] = [];
let answers = 0;
operator.on("message", (topic, payload) => {
  if (topic.endsWith("/reading")) seqs.add((JSON.parse(payload.toString()) as ReadingPayload).seq);
  else if (topic.endsWith("/health")) health.push(JSON.parse(payload.toString()) as HealthPayload);
  else if (topic === "bench/answers") answers += 1;
});
operator.on("connect", () => operator.subscribe(["thea/v1/soak-box/#", "bench/answers"], { qos: 1 }));

const commands = setInterval(() => {
  if (operator.connected) {
    operator.publish("thea/v1/soak-box/cmd/peripherals.list", "{}", { qos: 1, properties: { responseTopic: "bench/answers", correlationData: Buffer.from("x") } });
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
const lost = Array.from({ length: max }, (_, i) => i + 1).filter((seq) => !seqs.has(seq)).length;
console.log(`soak: ${SECONDS} s, ${bounces} broker restarts, ${answers} command answers, ${seqs.size} readings (seq 1…${max}), lost: ${lost}`);
console.log(`  RSS      ${start.rssMb} MB → ${end.rssMb} MB  (${(end.rssMb - start.rssMb).toFixed(1)} MB)`);
console.log(`  heap     ${((first?.agent.heapUsedBytes ?? 0) / 1048576).toFixed(1)} MB → ${((last?.agent.heapUsedBytes ?? 0) / 1048576).toFixed(1)} MB`);
console.log(`  open fds ${start.fds} → ${end.fds}`);
console.log(`  event-loop lag p99 ${first?.agent.eventLoopLagMs.p99 ?? "?"} ms → ${last?.agent.eventLoopLagMs.p99 ?? "?"} ms (max ${last?.agent.eventLoopLagMs.max ?? "?"} ms)`);

agent.kill("SIGTERM");
operator.end(true);
for (const device of devices) device.stop();
await sleep(500);
await broker.pause();
process.exit(0);
