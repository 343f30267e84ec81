/**
 * What gathering a health report costs: wall time per report and the longest event-loop stall
 * while gathering, for the first (cold) report and for warm ones, and per source. Prints figures;
 * asserts nothing. Run: `make bench` (or `node bench/health.ts` after `bin/setup`).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import si from "systeminformation";
import { cpuLoadSampler, HealthCollector } from "../agent/telemetry/health.ts";
import { cached } from "../agent/telemetry/cached.ts";
import { readClockSynchronized } from "../agent/telemetry/clock.ts";
import { readCpuTemperature, readInterfaces } from "../agent/telemetry/sysfs.ts";

const ROUNDS = 20;

async function measure(label: string, work: () => Promise<unknown>, rounds: number): Promise<void> {
  const stall = monitorEventLoopDelay({ resolution: 1 });
  const times: number[] = [];
  let worstStallMs = 0;
  for (let i = 0; i < rounds; i++) {
    stall.reset();
    stall.enable();
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
    stall.disable();
    worstStallMs = Math.max(worstStallMs, stall.max / 1e6);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)] ?? 0;
  const max = times[times.length - 1] ?? 0;
  console.log(`${label.padEnd(36)} wall p50 ${p50.toFixed(1).padStart(7)} ms  max ${max.toFixed(1).padStart(7)} ms  worst loop stall ${worstStallMs.toFixed(1).padStart(6)} ms  (n=${rounds})`);
}

const dataDir = await mkdtemp(path.join(tmpdir(), "thea-bench-"));
const collector = new HealthCollector({
  dataDir,
  startedAt: new Date(),
  clockSynchronized: cached(() => readClockSynchronized(), 60_000), // as the agent does
  counters: () => ({}),
  outbox: () => ({ depth: 0, bytes: 0, oldestPendingAgeSec: null, inFlight: 0, replayRatePerSec: 0, degraded: false, degradedReason: null, dropped: { telemetry: 0, event: 0, clinical: 0 } }),
});

console.log("health gathering (the loop stall is what other work, e.g. a serial frame, would wait)");
// The report first, while systeminformation has cached nothing yet: what an agent's first report costs.
collector.start();
await measure("report, cold (first)", () => collector.collect(), 1);
// si.currentLoad is here to show why it is not used: it runs a shell through execSync.
await measure("sources, uncached: si.currentLoad", () => si.currentLoad(), ROUNDS);
const sampleLoad = cpuLoadSampler();
await measure("  CPU load from os.cpus() (used)", async () => sampleLoad(), ROUNDS);
await measure("  si.mem", () => si.mem(), ROUNDS);
// Interfaces and temperature come from sysfs; systeminformation's (execSync inside) for comparison.
await measure("  CPU temperature from sysfs (used)", () => readCpuTemperature(), ROUNDS);
await measure("  interfaces from sysfs (used)", () => readInterfaces(), ROUNDS);
await measure("  si.cpuTemperature", () => si.cpuTemperature(), ROUNDS);
await measure("  si.networkInterfaces", () => si.networkInterfaces(), ROUNDS);
await measure("  clock (timesyncd flag/timedatectl)", () => readClockSynchronized(), ROUNDS);
await measure("report, warm (cached slow parts)", () => collector.collect(), ROUNDS);
collector.stop();
