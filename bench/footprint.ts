/**
 * The agent at rest: resident memory after FOOTPRINT_MINUTES (default 10) with four serial
 * peripherals (simulators on pseudo-terminal pairs, at their real rate) and one test camera
 * configured but not watched, for the built JavaScript (as a release runs it) and the .ts sources
 * (development), side by side, beside the 80 MB target and the edge agents a hospital compares
 * thea with. First, what each import costs on its own (a fresh Node per module, RSS after a full
 * GC), which is how the cuts in docs/media.md ("At rest") were chosen. Prints figures; asserts
 * nothing. Run: `node bench/footprint.ts` (FOOTPRINT_MINUTES=1 for a quick look).
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { AgentProcess, PROJECT_ROOT } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { agentEntries, median, onlineOn } from "./lib/entries.ts";
import { simulatedDevice } from "./lib/station.ts";

const MINUTES = Number(process.env.FOOTPRINT_MINUTES ?? 10);
const IMPORT_ROUNDS = 3;
const TARGET_MB = 80;
const COMPARISON = "AWS Greengrass nucleus ≥ 96 MB, Azure IoT Edge hub ~115 MB at idle";
const SERIAL = ["nonin", "masimo-ascii", "and-bp", "visca"] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

/** VmRSS and its anonymous (heaps) and file-backed (code, mapped libraries) parts, in MB. */
async function memory(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

/** RSS of a fresh Node that imported `specifier` and collected its garbage. */
async function importCost(node: string[], specifier: string | undefined): Promise<number> {
  const code = `const s=${JSON.stringify(specifier ?? "")};(s?import(s):Promise.resolve()).then(()=>{gc();setTimeout(()=>{gc();process.stdout.write(String(process.memoryUsage().rss))},100)})`;
  const { stdout } = await run("node", [...node, "--expose-gc", "-e", code], { cwd: PROJECT_ROOT });
  return Number(stdout) / 1024 / 1024;
}

const entries = await agentEntries();
const built = path.dirname(path.dirname(entries[0]?.command ?? ""));
console.log(`footprint: what an import costs on its own (RSS after GC, median of ${IMPORT_ROUNDS} fresh processes; node ${process.version})`);
const imports: [string, string[], string | undefined][] = [
  ["bare node", [], undefined],
  // zod/mini and zod's core against zod; node:http as an ES import (which loads undici; the agent
  // requires it instead); node-ble, which the agent imports only for a Bluetooth device.
  ...["pino", "mqtt", "zod", "zod/mini", "zod/v4/core", "yaml", "systeminformation", "serialport", "node-ble", "node:http", "werift"].map((name): [string, string[], string] => [name, [], name]),
  ["config/schema.ts (type stripping)", [], path.join(PROJECT_ROOT, "config/schema.ts")],
  ["config/schema.js (built)", ["--no-experimental-strip-types"], path.join(built, "config/schema.js")],
  ["agent/media/viewerSession.js (built)", ["--no-experimental-strip-types"], path.join(built, "agent/media/viewerSession.js")],
  ["agent/agent.ts (type stripping)", [], path.join(PROJECT_ROOT, "agent/agent.ts")],
  ["agent/agent.js (built)", ["--no-experimental-strip-types"], path.join(built, "agent/agent.js")],
];
let bare = 0;
for (const [label, node, specifier] of imports) {
  const rss = median(await Promise.all(Array.from({ length: IMPORT_ROUNDS }, () => importCost(node, specifier))));
  if (specifier === undefined) bare = rss;
  console.log(`  ${label.padEnd(40)} ${rss.toFixed(1).padStart(6)} MB${specifier === undefined ? "" : `  (+${(rss - bare).toFixed(1)})`}`);
}

const broker = await Mosquitto.start();
const devices: Awaited<ReturnType<typeof simulatedDevice>>[] = [];
const agents: { entry: (typeof entries)[number]; agent: AgentProcess }[] = [];
for (const [index, entry] of entries.entries()) {
  const ports: string[] = [];
  for (const driver of SERIAL) {
    const device = await simulatedDevice(`${driver}-${index}`, driver);
    devices.push(device);
    ports.push(`  - { id: ${driver}, driver: ${driver}, port: "${device.port}" }`);
  }
  const agent = await AgentProcess.start({
    brokerUrl: broker.url,
    command: entry.command,
    deviceId: `footprint-${index}`,
    env: { THEA_LOG_LEVEL: "info" },
    extraYaml: ["peripherals:", ...ports, "cameras:", "  - { id: cam1, source: { type: test, pattern: smpte }, width: 1280, height: 720, framerate: 30 }"].join("\n"),
  });
  await onlineOn(broker.url, agent.deviceId);
  agents.push({ entry, agent });
}
console.log(`footprint: ${agents.length} agents at rest (one at a time would take ${agents.length}× as long), each with ${SERIAL.join(", ")} on ptys and a test camera nobody watches; ${MINUTES} min`);
const started = Date.now();
const peaks = new Map<number, number>();
while (Date.now() - started < MINUTES * 60_000) {
  for (const { agent } of agents) peaks.set(agent.pid, Math.max(peaks.get(agent.pid) ?? 0, (await memory(agent.pid)).rss));
  await sleep(Math.min(10_000, MINUTES * 60_000));
}
for (const { entry, agent } of agents) {
  const { rss, anon, file } = await memory(agent.pid);
  const connected = new Set(agent.stdout.lines.filter((line) => line.includes('"peripheral state"') && line.includes('"connected":true')).map((line) => /"peripheral":"([^"]+)"/.exec(line)?.[1]));
  console.log(
    `  ${entry.label.padEnd(28)} RSS ${rss.toFixed(1).padStart(6)} MB (heaps ${anon.toFixed(1)}, code and libraries ${file.toFixed(1)}; peak ${(peaks.get(agent.pid) ?? rss).toFixed(1)})` +
      `  target ≤ ${TARGET_MB} MB; ${connected.size}/${SERIAL.length} peripherals connected`,
  );
}
console.log(`  for comparison: ${COMPARISON}`);
for (const { agent } of agents) await agent.stop();
for (const device of devices) await device.stop();
await broker.stop();
