/**
 * The fleet service's figures with a whole fleet (issue 16: 2,050 boxes held with RSS < 200 MB and
 * CPU < 10 % of a core at steady state; every box on the page within 2 s; a box that dies offline
 * within its keep-alive + 5 s; long tasks < 50 ms while the boxes report; page memory < 150 MB).
 * Printed beside the targets, nothing asserted.
 *
 * Real parts: mosquitto on loopback, the real `thea fleet serve` process (SQLite store in a temp
 * dir), headless Chromium (playwright-core) on its page. The boxes are the light summary-only
 * simulator (bench/lib/summaryFleet.ts), THEA_FLEET_SIZE of them (default 2,050) in this process,
 * each changing its retained summary once a minute, spread out (~34 summaries/s at 2,050).
 *
 * THEA_FLEET_KEEPALIVE_SEC (30, the agent's default) for every box, the dying one included, each
 * saying `alive` at that cadence as the agent does;
 * THEA_FLEET_STEADY_SEC (60): the window over which the service's CPU is measured.
 * Run: `node bench/fleetServe.ts` (about 4 minutes at 2,050), or `make bench`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { chromium } from "playwright-core";
import mqtt from "mqtt";
import type { BoxRow, FleetCounts } from "../tools/fleet/model.ts";
import { THEA_BIN } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { freePort } from "../test/helpers/ports.ts";
import { LineLog, terminate } from "../test/helpers/wait.ts";
import { SummaryFleet } from "./lib/summaryFleet.ts";
import { fleetPageProbe } from "./lib/fleetPageProbe.ts";

const SIZE = Number(process.env.THEA_FLEET_SIZE ?? 2050);
const KEEPALIVE_SEC = Number(process.env.THEA_FLEET_KEEPALIVE_SEC ?? 30);
const STEADY_SEC = Number(process.env.THEA_FLEET_STEADY_SEC ?? 60);
/** USER_HZ: /proc/PID/stat counts CPU time in these ticks (100 on every Linux this runs on). */
const CLOCK_TICKS_PER_SEC = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const load = () => loadavg().map((value) => value.toFixed(1)).join(" ");

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** utime + stime of a process, seconds (fields 14 and 15 of /proc/PID/stat, proc(5)). */
async function cpuSec(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the ")" closing the command name, field 3 (state) is index 0: utime is 14, stime 15.
  return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / CLOCK_TICKS_PER_SEC;
}

async function getJson<T>(url: URL): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname}: ${response.status}`);
  return (await response.json()) as T;
}

/**
 * Opens the event stream; resolves once it is open, with the time (epoch ms) at which it first
 * carries a row of `deviceId` satisfying `match`.
 */
async function openStreamFor(base: URL, deviceId: string, match: (row: BoxRow) => boolean, timeoutMs: number): Promise<{ found: Promise<number> }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const response = await fetch(new URL("api/stream", base), { signal: controller.signal });
  const body = response.body;
  if (!body) throw new Error("no event stream");
  const found = (async () => {
    try {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const data = buffered.slice(0, end).split("\n").find((line) => line.startsWith("data: "));
          buffered = buffered.slice(end + 2);
          if (!data) continue;
          const batch = JSON.parse(data.slice("data: ".length)) as { rows: BoxRow[] };
          if (batch.rows.some((row) => row.deviceId === deviceId && match(row))) return Date.now();
        }
      }
      throw new Error("the event stream ended");
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  })();
  return { found };
}


const work = await mkdtemp(path.join(tmpdir(), "thea-fleet-serve-"));
const broker = await Mosquitto.startWith((port) => `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 100000\n`);
const conditions = () => `${SIZE} simulated boxes, loopback mosquitto, 2-core machine shared with other work (load ${load()})`;
console.log(`fleet service: ${conditions()}`);

const fleetStarted = performance.now();
const fleet = await SummaryFleet.start({ brokerUrl: broker.url, size: SIZE, keepaliveSec: KEEPALIVE_SEC });
console.log(`  boxes connected, status and summary retained, in ${round((performance.now() - fleetStarted) / 1000)} s`);

// --- the real service -------------------------------------------------------------------------
const port = await freePort();
const base = new URL(`http://127.0.0.1:${port}/`);
const serviceStarted = performance.now();
const service = spawn(THEA_BIN, ["fleet", "serve", "--broker", broker.url, "--data-dir", path.join(work, "fleet"), "--listen", `127.0.0.1:${port}`], {
  stdio: ["ignore", "ignore", "pipe"],
});
const serviceLog = new LineLog();
service.stderr?.on("data", (chunk: Buffer) => serviceLog.push(chunk));
await serviceLog.waitForLine("the fleet service to serve", (line) => line.includes("fleet service serving"), 60_000);
const servingMs = performance.now() - serviceStarted;
const pid = service.pid ?? 0;

// Polls the cheap counts, then the full list once, until every box is listed with its summary.
let everyBoxMs = NaN;
for (const deadline = performance.now() + 120_000; performance.now() < deadline; await sleep(100)) {
  const counts = await getJson<FleetCounts>(new URL("api/counts", base));
  if (counts.total < SIZE) continue;
  const { rows } = await getJson<{ rows: BoxRow[] }>(new URL("api/boxes", base));
  if (rows.filter((row) => row.online && row.summary !== null).length >= SIZE) {
    everyBoxMs = performance.now() - serviceStarted;
    break;
  }
}
const rssAfterLoad = await rssMb(pid);

// --- steady state: the boxes report, nobody watches ---------------------------------------------
const changesBefore = fleet.counts.changes;
const cpuBefore = await cpuSec(pid);
const steadyFrom = performance.now();
await sleep(STEADY_SEC * 1000);
const steadySec = (performance.now() - steadyFrom) / 1000;
const cpuPercent = (100 * ((await cpuSec(pid)) - cpuBefore)) / steadySec;
const rssSteady = await rssMb(pid);
const changesPerSec = (fleet.counts.changes - changesBefore) / steadySec;

// --- the page, against this service, while the boxes report and one of them dies ----------------
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--enable-precise-memory-info"] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.addInitScript(fleetPageProbe(SIZE));
// A reload of the whole list (after a lost event stream) costs what the first load did: counted.
const listLoads: number[] = [];
page.on("request", (request) => {
  if (new URL(request.url()).pathname === "/api/boxes") listLoads.push(Date.now());
});
await page.goto(base.href);
// Polled through evaluate: waitForFunction evaluates a string, which the page's policy forbids (no unsafe-eval).
for (const deadline = Date.now() + 60_000; !(await page.evaluate("window.__allRowsAt !== undefined")); await sleep(50)) {
  if (Date.now() > deadline) throw new Error("the page did not list every box within 60 s");
}
const loaded = (await page.evaluate("({ at: window.__allRowsAt, tasks: window.__longTasks.slice() })")) as { at: number; tasks: Array<{ start: number; ms: number }> };
const heapAfterLoad = (await page.evaluate("performance.memory.usedJSHeapSize")) as number;
const reportingFrom = (await page.evaluate("performance.now()")) as number;

// The broker's view of the death (the will it publishes) and the service's (its event stream).
const watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "fleet-serve-bench-watcher" });
let willAt = NaN;
watcher.on("message", (_topic, payload) => {
  if (payload.length > 0 && (JSON.parse(payload.toString()) as { online?: boolean }).online === false) willAt = Date.now();
});
await watcher.subscribeAsync(`thea/v1/${fleet.mortalDeviceId}/status`, { qos: 1, rh: 2 });
// Which rule put it offline: the service's own (`silent`, its heartbeats stopped) or the broker's will.
let offlineReason: BoxRow["offlineReason"] = null;
const offlineSeen = await openStreamFor(base, fleet.mortalDeviceId, (row) => !row.online && ((offlineReason = row.offlineReason), true), KEEPALIVE_SEC * 3000 + 30_000);
// The page's view: the dying box's row drawn as offline (it sorts first, so it is in view).
const mortalRow = `.row[data-device-id="${fleet.mortalDeviceId}"][data-state="offline"]:not([hidden])`;
await page.evaluate(`(() => { const look = () => document.querySelector('${mortalRow}') ? (window.__offlineAt = Date.now()) : requestAnimationFrame(look); requestAnimationFrame(look); })()`);
const cutAt = fleet.cutMortal();
const offlineAt = await offlineSeen.found;
let pageOfflineAt = NaN;
for (const deadline = Date.now() + 15_000; Number.isNaN(pageOfflineAt) && Date.now() < deadline; await sleep(100)) {
  pageOfflineAt = (await page.evaluate("window.__offlineAt ?? NaN")) as number;
}
// The will comes after the service's own rule now: waited for, to print both.
for (const deadline = Date.now() + KEEPALIVE_SEC * 2000 + 30_000; Number.isNaN(willAt) && Date.now() < deadline; await sleep(100));
const reportingSec = ((await page.evaluate("performance.now()")) as number - reportingFrom) / 1000;
const tasks = (await page.evaluate("window.__longTasks.slice()")) as Array<{ start: number; ms: number }>;
const during = tasks.filter((task) => task.start >= reportingFrom);
const heap = (await page.evaluate("performance.memory.usedJSHeapSize")) as number;
const pageOrigin = (await page.evaluate("performance.timeOrigin")) as number;
const whenTasks = during.map((task) => `${task.ms.toFixed(0)} ms at ${round((pageOrigin + task.start - cutAt) / 1000)} s`).join(", ");
const rssWithPage = await rssMb(pid);
await browser.close();

// --- report -------------------------------------------------------------------------------------
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const summary = (list: Array<{ ms: number }>) => (list.length === 0 ? "none" : `${list.length}, longest ${Math.max(...list.map((task) => task.ms)).toFixed(0)} ms`);
console.log(
  [
    `  service started (node up, store open, serving): ${Math.round(servingMs)} ms`,
    `  every box listed by the API with its summary:   ${round(everyBoxMs / 1000, 2)} s after the process started (retained snapshot)`,
    `  service RSS: ${rssAfterLoad} MB with every box, ${rssSteady} MB at steady state, ${rssWithPage} MB with the page open   (target < 200 MB)`,
    `  service CPU at steady state: ${round(cpuPercent)} % of a core over ${round(steadySec, 0)} s, ${round(changesPerSec)} summaries/s   (target < 10 %)`,
    `  a box dying silently (keep-alive ${KEEPALIVE_SEC} s): will published ${round((willAt - cutAt) / 1000)} s after the cut, offline (${offlineReason}) on the event stream after ${round((offlineAt - cutAt) / 1000)} s, drawn offline on the page after ${round((pageOfflineAt - cutAt) / 1000)} s   (target <= keep-alive + 5 s = ${KEEPALIVE_SEC + 5} s; the broker alone waits 1.5 x keep-alive, MQTT 5 §3.1.2.10)`,
    `  page, time to every row:     ${Math.round(loaded.at)} ms from navigation   (target < 2 s)`,
    `  page, long tasks loading:    ${summary(loaded.tasks)}`,
    `  page, long tasks reporting:  ${summary(during)} over ${round(reportingSec, 0)} s of ~${round(changesPerSec, 0)} summaries/s and the death   (target < 50 ms)`,
    ...(during.length > 0 ? [`    (each, from the cut: ${whenTasks}; the box was offline on the stream at ${round((offlineAt - cutAt) / 1000)} s)`] : []),
    `  page, JS heap:               ${mb(heapAfterLoad)} loaded, ${mb(heap)} after reporting   (target < 150 MB)`,
    `  page, loads of the whole list: ${listLoads.length}${listLoads.length > 1 ? ` (later ones at ${listLoads.slice(1).map((at) => `${round((at - cutAt) / 1000)} s`).join(", ")} from the cut)` : ""}`,
    `  service warnings and errors logged: ${serviceLog.lines.filter((line) => /"level":(4|5|6)0/.test(line)).length}${serviceLog.lines.filter((line) => /"level":(4|5|6)0/.test(line)).slice(0, 3).map((line) => `\n    ${line.slice(0, 300)}`).join("")}`,
    `  conditions at the end: load ${load()}; simulator publish failures ${fleet.counts.failures}`,
  ].join("\n"),
);

await watcher.endAsync(true);
await terminate(service, "the fleet service");
await fleet.stop();
await broker.stop();
await rm(work, { recursive: true, force: true });
