import { describe, expect, it } from "vitest";
import { ageBandMinutes, backlogBand, computeSummary, encodeSummary, SUMMARY_MAX_BYTES, temperatureBand, type SummaryInputs } from "../../../agent/telemetry/summary.ts";

const base: SummaryInputs = {
  site: { province: "Kampong Cham", district: "Batheay", commune: "Chbar Ampov" },
  onlineSince: new Date("2026-12-03T10:00:00Z"),
  version: "1.4.2",
  config: { version: 3, state: "applied", refusedVersion: null },
  update: "idle",
  clockSynchronized: true,
  health: { cpu: { cores: 4, loadPercent: 10, loadAverage: [0, 0, 0], temperatureC: 51.3 }, disk: { path: "/var/lib/thea", totalBytes: 1, freeBytes: 1, usedPercent: 42.4 } },
  outbox: { depth: 3, oldestPendingAgeSec: 2 },
  peripherals: [{ peripheral: "oximeter", connected: true }, { peripheral: "bp", connected: false }],
  consultations: 1,
};

describe("summary", () => {
  it("carries what a fleet page shows, with drifting figures quantised", () => {
    expect(computeSummary(base)).toMatchObject({
      site: base.site,
      cpuTempC: 50,
      diskUsedPercent: 42,
      outbox: { backlog: 0, oldestAgeMin: 0 },
      peripherals: { connected: 1, configured: 2, down: ["bp"] },
      consultations: 1,
    });
  });

  it("does not change for noise: a degree, a fraction of a percent, a minute more of backlog age", () => {
    const noisy: SummaryInputs = {
      ...base,
      health: { ...base.health!, cpu: { ...base.health!.cpu, temperatureC: 53.9 }, disk: { path: "/", totalBytes: 1, freeBytes: 1, usedPercent: 42.1 } },
      outbox: { depth: 7, oldestPendingAgeSec: 50 },
    };
    expect(encodeSummary(computeSummary(noisy))).toBe(encodeSummary(computeSummary(base)));
    expect([temperatureBand(54.9), temperatureBand(55), temperatureBand(null)]).toEqual([50, 55, null]);
    expect([backlogBand(9), backlogBand(10), backlogBand(4321)]).toEqual([0, 10, 4000]);
    expect([ageBandMinutes(null), ageBandMinutes(59), ageBandMinutes(16 * 60), ageBandMinutes(3 * 86_400)]).toEqual([null, 0, 15, 1440]);
  });

  it("stays within 1 kB at worst: longest labels, escaped characters, many peripherals down", () => {
    const label = '"\\'.repeat(32); // 64 bytes, each escaped to two
    const worst: SummaryInputs = {
      ...base,
      site: { province: label, district: label, commune: label },
      config: { version: Number.MAX_SAFE_INTEGER, state: "waiting-for-idle", refusedVersion: Number.MAX_SAFE_INTEGER },
      update: "verifying-health",
      peripherals: Array.from({ length: 200 }, (_, index) => ({ peripheral: `p${index}-${"x".repeat(28)}`.slice(0, 32), connected: false })),
    };
    const text = encodeSummary(computeSummary(worst));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    const parsed = JSON.parse(text) as { peripherals: { down: string[]; downMore: number; configured: number } };
    expect(parsed.peripherals.configured).toBe(200);
    expect(parsed.peripherals.down.length + parsed.peripherals.downMore).toBe(200);
  });
});
