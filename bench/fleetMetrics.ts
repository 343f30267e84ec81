/**
 * What one Prometheus scrape of the fleet service's /metrics costs with 2,050 boxes: printed, not
 * asserted. The real FleetServer over the real Fleet (memory store), each box taken in from a
 * status and a summary as the ingest would give them, with site labels of realistic length;
 * scrapes over HTTP on loopback one after another (the pacing between scrapes off),
 * as Prometheus would, with and without gzip (it asks for gzip; the server answers plain).
 *
 * FLEET_METRICS_SIZE (2050) boxes; FLEET_METRICS_SCRAPES (40) scrapes.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import type { SiteLabels, StatusPayload, SummaryPayload } from "../agent/core/api.ts";
import { Fleet } from "../tools/fleet/fleet.ts";
import { MemoryFleetStore } from "../tools/fleet/memoryStore.ts";
import { FleetMetrics } from "../tools/fleet/metrics.ts";
import { FleetServer } from "../tools/fleet/server.ts";

const SIZE = Number(process.env.FLEET_METRICS_SIZE ?? 2050);
const SCRAPES = Number(process.env.FLEET_METRICS_SCRAPES ?? 40);

// 60 provinces, 5 districts each, 7 communes each; names as long as Vietnam's and Cambodia's.
const site = (i: number): SiteLabels => ({
  province: `Province Kampong Thom ${i % 60}`,
  district: `District Krong Stung Saen ${i % 300}`,
  commune: `Commune Prey Kuy ${i % 2100}`,
});

const fleet = new Fleet({ store: new MemoryFleetStore() });
fleet.start();
for (let i = 0; i < SIZE; i++) {
  const deviceId = `clinic-${String(i).padStart(5, "0")}`;
  const now = new Date().toISOString();
  const status: StatusPayload = { online: true, version: "1.4.0", startedAt: now, configHash: "900112fa3b254c0c", bootId: "boot", session: 1, clockSynchronized: true, site: site(i) };
  const summary: SummaryPayload = {
    site: site(i),
    onlineSince: now,
    version: i % 10 === 0 ? "1.5.0" : "1.4.0",
    config: { version: 3, state: "applied", refusedVersion: null },
    update: "idle",
    clockSynchronized: i % 97 !== 0,
    cpuTempC: 40 + (i % 5) * 5,
    diskUsedPercent: 30 + (i % 60),
    outbox: { backlog: i % 13 === 0 ? 200 : 0, oldestAgeMin: i % 13 === 0 ? 15 : null },
    peripherals: { connected: 2, configured: 2, down: [] },
    consultations: 0,
  };
  fleet.apply({ kind: "status", deviceId, payload: status, retained: true });
  fleet.apply({ kind: "summary", deviceId, payload: summary, retained: true });
  if (i % 37 === 0) fleet.apply({ kind: "status", deviceId, payload: { online: false, reason: "connection-lost", bootId: "boot" }, retained: false });
}
fleet.flush();

const metrics = new FleetMetrics({ view: fleet, store: fleet, ingest: { stats: () => ({ received: 0, applied: 0, duplicates: 0, discarded: {} }) }, minIntervalMs: 0 });
const server = await FleetServer.start({ view: fleet, port: 0, metrics });
/** The event loop's longest pause during a scrape: what the ingest and the page's streams wait. */
const loop = monitorEventLoopDelay({ resolution: 5 });
const direct: number[] = [];
let cpuBefore = process.cpuUsage();
let cpu = process.cpuUsage(cpuBefore);
const times: Record<string, number[]> = { identity: [], gzip: [] };
let text = "";
try {
  for (let i = 0; i < SCRAPES; i++) {
    for (const encoding of ["identity", "gzip"]) {
      const started = performance.now();
      // fetch asks for gzip and inflates it; the time is the whole scrape as a client sees it.
      const response = await fetch(new URL("/metrics", server.url), { headers: { "accept-encoding": encoding } });
      const body = await response.text();
      times[encoding]?.push(performance.now() - started);
      if (encoding === "identity") text = body;
    }
  }
  // The server's side alone (the client above shares this process and its event loop).
  loop.enable();
  cpuBefore = process.cpuUsage();
  for (let i = 0; i < SCRAPES; i++) {
    const started = performance.now();
    await metrics.scrape(fleet, { key: "*", whole: true });
    direct.push(performance.now() - started);
  }
  cpu = process.cpuUsage(cpuBefore);
  loop.disable();
} finally {
  await server.stop();
  fleet.stop();
}
const figures = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1);
  return `first ${list[0]?.toFixed(1)}, median ${at(0.5)}, p90 ${at(0.9)}, max ${at(1)}`;
};
const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
const perBox = samples.filter((line) => line.startsWith("thea_fleet_box_")).length;
console.log(`boxes ${SIZE}, scrapes ${SCRAPES} over HTTP on loopback`);
console.log(`series: ${samples.length} (per box: ${perBox}, ${(perBox / SIZE).toFixed(2)} a box; the rest: ${samples.length - perBox})`);
console.log(`scrape time ms, plain: ${figures(times.identity ?? [])}`);
console.log(`scrape time ms, gzip:  ${figures(times.gzip ?? [])}`);
console.log(`scrape time ms, in the process, no HTTP: ${figures(direct)}`);
// CPU time is less at the mercy of the machine's load than the time on the clock.
console.log(`CPU per scrape, in the process: ${((cpu.user + cpu.system) / 1000 / SCRAPES).toFixed(1)} ms (user + system, GC included)`);
console.log(`event loop's longest pause while scraping: ${(loop.max / 1e6).toFixed(1)} ms (p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms)`);
console.log(`bytes: ${Buffer.byteLength(text)} plain, ${gzipSync(text).byteLength} gzipped`);
