/**
 * From a reading's bytes entering the serial line to the reading arriving at a subscriber, online:
 * the bench writes Nonin format #8 records into one end of a pty pair itself, the agent decodes,
 * stores (fsync), publishes at QoS 1, and the broker forwards it. Arrival at the subscriber comes
 * within a fraction of a millisecond of the broker's PUBACK on loopback, so this bounds the
 * reading-to-PUBACK time from above. Figures only; nothing is asserted.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import mqtt from "mqtt";
import type { ReadingPayload } from "../agent/core/api.ts";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { PtyPair } from "../test/helpers/ptyPair.ts";

const SAMPLES = Number(process.env.LATENCY_SAMPLES ?? 300);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const broker = await Mosquitto.start();
const pty = new PtyPair(await mkdtemp(path.join(tmpdir(), "thea-latency-")), "ox");
await pty.open();

const agent = await AgentProcess.start({
  brokerUrl: broker.url,
  deviceId: "latency-box",
  env: { THEA_LOG_LEVEL: "warn" },
  extraYaml: `peripherals:\n  - { id: ox, driver: nonin, port: "${pty.agentEnd}", options: { format: 8 }, publishRateHz: 10 }`,
});

const operator = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
let arrived: ((pulseRate: number) => void) | undefined;
operator.on("message", (_topic, payload) => {
  const reading = JSON.parse(payload.toString()) as ReadingPayload;
  arrived?.(reading.observations.find((o) => o.type === "pulse_rate")?.value ?? -1);
});
await operator.subscribeAsync("thea/v1/latency-box/peripherals/ox/reading", { qos: 1 });
const device = openSync(pty.deviceEnd, "w");

// Warm up until the agent is connected and reading; pulse rate 40..199 tags each sample.
const latencies: number[] = [];
for (let i = 0; latencies.length < SAMPLES && i < SAMPLES * 3; i++) {
  const pulseRate = 40 + (i % 160);
  const got = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 1000);
    arrived = (value) => {
      if (value !== pulseRate) return;
      clearTimeout(timer);
      resolve(true);
    };
  });
  const start = performance.now();
  writeSync(device, Uint8Array.from([0x80 | (pulseRate >> 7), pulseRate & 0x7f, 97, 0]));
  if (await got) {
    if (i >= 10) latencies.push(performance.now() - start);
  }
  await sleep(120); // above the 10 Hz publish rate, so no reading is held back
}
latencies.sort((a, b) => a - b);
const at = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(2);
console.log(`serial bytes → reading at a subscriber (≥ PUBACK), online: p50 ${at(50)} ms, p99 ${at(99)} ms, max ${at(100)} ms  (n=${latencies.length})`);

closeSync(device);
await agent.stop();
await operator.endAsync(true);
await pty.close();
await broker.stop();
process.exit(0);
