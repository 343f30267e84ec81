/**
 * Gathers the box's health: host figures from /proc and sysfs, the agent's own memory,
 * event-loop delay and counters. bench/health.ts measures what gathering costs the event loop;
 * the slow parts (helper processes) are cached, see cached.ts.
 */
import { statfs } from "node:fs/promises";
import os from "node:os";
import { monitorEventLoopDelay, type ELDHistogram } from "node:perf_hooks";
import { messageOf } from "../core/errors.ts";
import type { ClockSynchronized, DiskUse, HealthPayload, NetworkInterfaceState, OutboxHealth } from "../core/api.ts";
import type { HostProbe } from "../core/context.ts";
import { cached } from "./cached.ts";
import { readCpuTemperature, readInterfaces, readMemory } from "./sysfs.ts";

export interface HealthCollectorOptions {
  dataDir: string;
  startedAt: Date;
  clockSynchronized: () => Promise<ClockSynchronized>;
  counters: () => Record<string, number>;
  outbox: () => OutboxHealth;
  /** The machine's figures; one probe serves every agent core of a process (the fleet simulator). */
  host?: HostProbe;
}

/**
 * Figures of the machine rather than of one agent, fetched by one probe and the slow ones cached.
 * Nothing here may run a helper process through execSync, as systeminformation does for CPU load
 * (`cat /proc/stat | grep cpu`), interfaces and temperature: each call stalls the event loop, and
 * with it live video, for tens to hundreds of milliseconds. CPU load comes from os.cpus(),
 * interfaces and temperature from sysfs, memory from /proc/meminfo (sysfs.ts; systeminformation,
 * which reads the same file, is not loaded at all: docs/media.md, "At rest").
 */

const SLOW_FIGURES_TTL_MS = 60_000;

/** The machine's figures; `loadTtlMs` > 0 also caches load and memory. */
export function systemHostProbe(loadTtlMs = 0): HostProbe {
  const sample = cpuLoadSampler();
  const load = () => Promise.resolve(sample());
  const memory = () => readMemory();
  return {
    loadPercent: loadTtlMs > 0 ? cached(load, loadTtlMs) : load,
    memory: loadTtlMs > 0 ? cached(memory, loadTtlMs) : memory,
    temperatureC: cached(readCpuTemperature, SLOW_FIGURES_TTL_MS),
    interfaces: cached(readInterfaces, SLOW_FIGURES_TTL_MS),
  };
}

/** Busy and total CPU time over all cores, as the kernel counts it (ms). */
export interface CpuTimes {
  busy: number;
  total: number;
}

export function cpuTimes(cpus: readonly os.CpuInfo[]): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Percent of CPU time busy since the previous call (since creation, the first time); no helper process. */
export function cpuLoadSampler(read: () => readonly os.CpuInfo[] = os.cpus): () => number | undefined {
  let previous = cpuTimes(read());
  return () => {
    const current = cpuTimes(read());
    const total = current.total - previous.total;
    const busy = current.busy - previous.busy;
    previous = current;
    return total > 0 ? Math.min(100, Math.max(0, (busy / total) * 100)) : undefined;
  };
}

export class HealthCollector {
  readonly #options: HealthCollectorOptions;
  readonly #loopDelay: ELDHistogram = monitorEventLoopDelay({ resolution: 20 });
  readonly #host: HostProbe;

  constructor(options: HealthCollectorOptions) {
    this.#options = options;
    this.#host = options.host ?? systemHostProbe();
  }

  start(): void {
    this.#loopDelay.enable();
  }

  stop(): void {
    this.#loopDelay.disable();
  }

  async collect(): Promise<HealthPayload> {
    const host = this.#host;
    const [load, mem, temperatureC, interfaces, disk, clockSynchronized] = await Promise.all([
      host.loadPercent(),
      host.memory(),
      host.temperatureC(),
      host.interfaces(),
      diskUse(this.#options.dataDir),
      this.#options.clockSynchronized(),
    ]);
    const memory = process.memoryUsage();
    const [one, five, fifteen] = os.loadavg();
    const payload: HealthPayload = {
      time: new Date().toISOString(),
      clockSynchronized,
      uptimeSec: {
        system: Math.round(os.uptime()),
        agent: Math.round((Date.now() - this.#options.startedAt.getTime()) / 1000),
      },
      cpu: {
        cores: os.availableParallelism(),
        loadPercent: load === undefined ? null : round(load),
        loadAverage: [round(one ?? 0), round(five ?? 0), round(fifteen ?? 0)],
        temperatureC,
      },
      memory: {
        totalBytes: mem.total,
        availableBytes: mem.available,
        usedPercent: round(((mem.total - mem.available) / mem.total) * 100),
      },
      disk,
      network: { interfaces },
      agent: {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        eventLoopLagMs: this.#takeLoopDelay(),
        counters: this.#options.counters(),
      },
      outbox: this.#options.outbox(),
    };
    return payload;
  }

  /** Event-loop delay since the previous report, then start a new window. */
  #takeLoopDelay(): HealthPayload["agent"]["eventLoopLagMs"] {
    const histogram = this.#loopDelay;
    // The histogram counts the delay beyond its sampling resolution; an empty one has NaN/0 stats.
    const ms = (ns: number) => (Number.isFinite(ns) ? round(ns / 1e6) : 0);
    const figures = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
    histogram.reset();
    return figures;
  }
}

/** statfs on the data dir itself: exactly the filesystem our state lives on, without spawning df. */
async function diskUse(path: string): Promise<DiskUse | { path: string; error: string }> {
  try {
    const stats = await statfs(path);
    const totalBytes = stats.blocks * stats.bsize;
    const freeBytes = stats.bavail * stats.bsize;
    // As df(1) counts it: blocks reserved for root are neither used nor available to us.
    const usedBytes = (stats.blocks - stats.bfree) * stats.bsize;
    const usedPercent = usedBytes + freeBytes > 0 ? round((usedBytes / (usedBytes + freeBytes)) * 100) : 0;
    return { path, totalBytes, freeBytes, usedPercent };
  } catch (error) {
    return { path, error: messageOf(error) };
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
