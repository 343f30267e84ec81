/**
 * Start to online: from spawning `thea run` (bin/thea, as systemd's launcher execs it) to the
 * retained `status` online on a local mosquitto, for the built JavaScript (as a release runs it)
 * and the .ts sources (development), beside a bare `node -e 0` (spawn to exit) and the 1 s
 * target. START_RUNS (default 10) starts of each, alternating, each a new box (device id, data
 * directory) with one test camera configured; median and spread, and the CPU time the agent had
 * used by then (less bent by other work on a shared machine than wall time). Prints figures;
 * asserts nothing.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import mqtt from "mqtt";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { agentEntries, median } from "./lib/entries.ts";

const RUNS = Number(process.env.START_RUNS ?? 10);
const TARGET_MS = 1000;

const broker = await Mosquitto.start();
const watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
const onlineWaiters = new Map<string, () => void>();
watcher.on("message", (topic, payload) => {
  const deviceId = topic.split("/")[2] ?? "";
  if ((JSON.parse(payload.toString()) as { online?: boolean }).online === true) onlineWaiters.get(deviceId)?.();
});
await watcher.subscribeAsync("thea/v1/+/status", { qos: 1 });

async function bareNode(): Promise<number> {
  const started = performance.now();
  await new Promise((resolve) => spawn("node", ["-e", "0"], { stdio: "ignore" }).once("exit", resolve));
  return performance.now() - started;
}

/** CPU time (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startToOnline(command: string, run: number): Promise<{ wall: number; cpu: number }> {
  const deviceId = `start-${run}-${Math.random().toString(16).slice(2, 8)}`;
  const online = new Promise<void>((resolve) => onlineWaiters.set(deviceId, resolve));
  const started = performance.now();
  const agent = await AgentProcess.start({
    brokerUrl: broker.url,
    command,
    deviceId,
    env: { THEA_LOG_LEVEL: "warn" },
    extraYaml: "cameras:\n  - { id: cam1, source: { type: test } }",
  });
  await online;
  const wall = performance.now() - started;
  const cpu = cpuMs(agent.pid);
  onlineWaiters.delete(deviceId);
  await agent.stop();
  return { wall, cpu };
}

const entries = await agentEntries();
const times = new Map<string, number[]>([["bare node -e 0", []], ...entries.map((entry): [string, number[]] => [entry.label, []])]);
const cpu = new Map<string, number[]>(entries.map((entry) => [entry.label, []]));
for (let run = 0; run < RUNS; run++) {
  times.get("bare node -e 0")?.push(await bareNode());
  for (const entry of entries) {
    const figures = await startToOnline(entry.command, run);
    times.get(entry.label)?.push(figures.wall);
    cpu.get(entry.label)?.push(figures.cpu);
  }
}
console.log(`start: process start → retained status online on a local mosquitto, ${RUNS} runs each (node ${process.version}); target ≤ ${TARGET_MS} ms`);
for (const [label, values] of times) {
  const fmt = (ms: number) => `${Math.round(ms)}`.padStart(5);
  const used = cpu.get(label);
  const cpuFigure = used ? `   CPU used by then: median ${fmt(median(used))} ms (${Math.min(...used)}–${Math.max(...used)})` : "";
  console.log(`  ${label.padEnd(28)} median ${fmt(median(values))} ms   min ${fmt(Math.min(...values))}  max ${fmt(Math.max(...values))} ms${cpuFigure}`);
}
await watcher.endAsync();
await broker.stop();
