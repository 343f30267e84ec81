/**
 * Power-cut stand-in: the agent is killed with SIGKILL at a random moment 20 times while a
 * simulated oximeter streams, then restarted once more; prints how many readings were lost
 * (the target is none). Figures only; nothing is asserted.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import type { ReadingPayload } from "../agent/core/api.ts";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { simulatedDevice } from "./lib/station.ts";

const CYCLES = Number(process.env.CRASH_CYCLES ?? 20);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const broker = await Mosquitto.start();
const dataDir = await mkdtemp(path.join(tmpdir(), "thea-crash-"));
const device = await simulatedDevice("nonin", "nonin", 3);
const seqs = new Set<number>();
let duplicates = 0;
const operator = mqtt.connect(broker.url, { protocolVersion: 5 });
operator.on("message", (_topic, payload) => {
  const { seq } = JSON.parse(payload.toString()) as ReadingPayload;
  if (seqs.has(seq)) duplicates += 1;
  seqs.add(seq);
});
await operator.subscribeAsync("thea/v1/crash-box/peripherals/+/reading", { qos: 1 });

const run = () =>
  AgentProcess.start({
    brokerUrl: broker.url,
    dataDir,
    deviceId: "crash-box",
    env: { THEA_LOG_LEVEL: "warn" },
    extraYaml: `peripherals:\n  - { id: ox, driver: nonin, port: "${device.port}", publishRateHz: 10 }`,
  });

for (let cycle = 0; cycle < CYCLES; cycle++) {
  const agent = await run();
  await sleep(700 + Math.random() * 1500);
  await agent.stop(); // SIGKILL
}
const last = await run();
await sleep(5000);
const max = Math.max(...seqs);
const lost = Array.from({ length: max }, (_, i) => i + 1).filter((seq) => !seqs.has(seq)).length;
console.log(`crash: ${CYCLES} × kill -9 mid-stream, ${seqs.size} readings (seq 1…${max}), lost: ${lost}, duplicates delivered: ${duplicates}`);
await last.stop();
operator.end(true);
await device.stop();
await broker.stop();
process.exit(0);
