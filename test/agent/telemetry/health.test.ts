/** The CPU load from the kernel's counters (os.cpus()), sampled between calls. */
import type { CpuInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { cpuLoadSampler } from "../../../agent/telemetry/health.ts";

const cpu = (busy: number, idle: number): CpuInfo => ({ model: "test", speed: 1000, times: { user: busy, nice: 0, sys: 0, idle, irq: 0 } });

describe("cpuLoadSampler", () => {
  it("gives the busy share of all cores since the previous sample", () => {
    const samples = [
      [cpu(100, 900), cpu(100, 900)],
      [cpu(150, 950), cpu(200, 900)], // core 1: 50 busy of 100; core 2: 100 busy of 100
      [cpu(150, 1050), cpu(200, 1000)], // both idle
    ];
    let at = 0;
    const sample = cpuLoadSampler(() => samples[Math.min(at++, samples.length - 1)] ?? []);
    expect(sample()).toBe(75);
    expect(sample()).toBe(0);
  });

  it("says nothing when no time has passed", () => {
    const sample = cpuLoadSampler(() => [cpu(10, 10)]);
    expect(sample()).toBeUndefined();
  });
});
