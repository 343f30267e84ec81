/**
 * Live video figures (bench/README in the README): printed, not asserted.
 *
 * 1. Pipeline churn in one process: RSS after repeated create/play/stop of a gstreamer-superficial
 *    pipeline — the evidence for running each camera's pipeline in a child process.
 * 2. Time from a viewer's start to its first decoded frame in headless Chromium, p50/p95 over
 *    MEDIA_SESSIONS (20) sessions, camera idle (cold: the pipeline starts) and already streaming
 *    to another viewer (warm).
 * 3. CPU and RSS at 720p30 H.264 2 Mbit/s with 0, 1 and 3 viewers, next to the same encode run
 *    alone by gst-launch-1.0 in the same run (MEDIA_CPU_ROUNDS turns of alone / one viewer, each
 *    MEDIA_CPU_SECONDS long), beside issue 17's targets: agent + pipeline process ≤ 200 MB with
 *    one viewer, CPU ≤ 1.10× the encode alone, ≤ 2 % of a core per extra viewer.
 * 4. The agent's RSS and open fds over MEDIA_CYCLES (1,000) viewer open/close cycles after
 *    MEDIA_WARMUP (50) cycles, beside the target: growth ≤ 5 MB.
 * MEDIA_PARTS (churn,frames,cpu,cycles) runs only some of them; MEDIA_AGENT_BIN runs another
 * agent command than this checkout's bin/thea (a `thea build` output's bin/thea, as a release
 * runs it, or one with other launcher settings).
 */
import { spawn } from "node:child_process";
import { parse as parseYaml } from "yaml";
import { chooseEncoder, videoPipeline } from "../agent/media/pipeline.ts";
import { configSchema } from "../config/schema.ts";
import { processFigures } from "./lib/station.ts";
import { open, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { eventually, pageReaches } from "../test/helpers/browserFixture.ts";
import { Chromium, type Page } from "../test/helpers/chromium.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { TestClient } from "../test/helpers/mqttClient.ts";
import { openHarness, resultOf, startConsoleServer } from "../test/helpers/consoleServer.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHURN_CYCLES = Number(process.env.MEDIA_CHURN_CYCLES ?? 200);
const SESSIONS = Number(process.env.MEDIA_SESSIONS ?? 20);
const CYCLES = Number(process.env.MEDIA_CYCLES ?? 1000);
const WARMUP = Number(process.env.MEDIA_WARMUP ?? 50);
const CYCLE_TIMEOUT_MS = 20_000;
const CPU_SECONDS = Number(process.env.MEDIA_CPU_SECONDS ?? 15);
const CPU_ROUNDS = Number(process.env.MEDIA_CPU_ROUNDS ?? 3);
/** Which parts to run (MEDIA_PARTS=frames,cpu…); all by default. */
const PARTS = new Set((process.env.MEDIA_PARTS ?? "churn,frames,cpu,cycles").split(","));
const CAMERA_YAML = "{ id: cam1, source: { type: test, pattern: ball }, width: 1280, height: 720, framerate: 30, maxViewers: 8, bitrateKbps: { min: 2000, start: 2000, max: 2000 } }";

// --- 1. churn ------------------------------------------------------------------------------------
async function churn(mode: "plain" | "bus"): Promise<void> {
  const script = fileURLToPath(new URL("./lib/pipelineChurn.ts", import.meta.url));
  const child = spawn(process.execPath, ["--expose-gc", script, String(CHURN_CYCLES), mode], { stdio: ["ignore", "pipe", "pipe"] });
  const points: Array<{ cycle: number; rssMb: number; stalled?: boolean }> = [];
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n")) {
      points.push(JSON.parse(text.slice(0, newline)) as { cycle: number; rssMb: number; stalled?: boolean });
      text = text.slice(newline + 1);
    }
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal })),
  );
  const last = points[points.length - 1];
  const warmedUp = points.find((point) => point.cycle >= 25) ?? points[0];
  const label = mode === "bus" ? "with its bus polled" : "bus not polled";
  console.log(`pipeline start/stop cycles in one process, ${label}: RSS ${points.map((p) => `${p.cycle}:${p.rssMb} MB`).join(", ")}`);
  if (last?.stalled) {
    console.log(`  the thread pool was exhausted after ${last.cycle} pipelines: each stopped pipeline's bus poll blocks a worker for good, and file I/O stalls`);
  } else if (warmedUp && last && last.cycle > warmedUp.cycle) {
    const kbPerCycle = ((last.rssMb - warmedUp.rssMb) * 1024) / (last.cycle - warmedUp.cycle);
    console.log(`  after plugin loading: ${kbPerCycle.toFixed(0)} kB kept per cycle` + (signal === "SIGKILL" ? "" : `; ended by ${signal ?? `exit ${code}`}`));
  }
}

// --- 2 and 3: a real agent and browser -----------------------------------------------------------
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

async function hostPid(agentPid: number): Promise<number | undefined> {
  const children = (await readFile(`/proc/${agentPid}/task/${agentPid}/children`, "utf8")).trim().split(/\s+/).filter(Boolean);
  for (const child of children) {
    const args = await readFile(`/proc/${child}/cmdline`, "utf8").catch(() => "");
    if (/media\/host\.(ts|js)/.test(args)) return Number(child);
  }
  return undefined;
}

async function cpuPercent(pids: number[], seconds: number): Promise<number[]> {
  const before = await Promise.all(pids.map(cpuSeconds));
  await sleep(seconds * 1000);
  const after = await Promise.all(pids.map(cpuSeconds));
  return pids.map((_, i) => (((after[i] ?? 0) - (before[i] ?? 0)) / seconds) * 100);
}

/** Opens a viewer in the page; resolves to when (ms after the start) each step happened. */
const WATCH = `(async () => {
  for (const old of document.querySelectorAll("video")) old.remove(); // Chromium caps the players a page may hold
  const started = performance.now();
  const at = () => performance.now() - started;
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(at())));
  const marks = {};
  const request = async (name, params) => {
    if (name === "webrtc.offer") marks.offer = at();
    const result = await theaRequest(JSON.stringify({ name, params }));
    if (name === "webrtc.offer") marks.answer = at();
    return result;
  };
  window.viewer = await watch({ video, camera: "cam1", request, onState: (state) => state === "connected" && (marks.connected = at()) });
  marks.frame = await firstFrame;
  return marks;
})()`;

interface Marks {
  offer: number;
  answer: number;
  connected: number;
  frame: number;
}

/** The camera's own video pipeline, run alone by gst-launch-1.0 into a fakesink for one window. */
async function encodeAlone(): Promise<{ cpu: number; rssMb: number }> {
  const camera = configSchema.parse({ mqtt: { url: "mqtt://127.0.0.1" }, cameras: [parseYaml(CAMERA_YAML)] }).cameras[0];
  if (!camera) throw new Error("no camera");
  const launch = videoPipeline(camera, [{ encoder: chooseEncoder(camera, new Set()), port: 9 }]).replace(/udpsink host=127\.0\.0\.1 port=9 sync=false async=false/, "fakesink sync=false");
  const child = spawn("gst-launch-1.0", ["-q", ...launch.split(/\s+/)], { stdio: "ignore" });
  await sleep(3000);
  const pid = child.pid ?? 0;
  const [cpu = 0] = await cpuPercent([pid], CPU_SECONDS);
  const { rssMb } = await processFigures(pid);
  child.kill("SIGINT");
  return { cpu, rssMb };
}

async function main(): Promise<void> {
  if (PARTS.has("churn")) {
    await churn("plain");
    await churn("bus");
  }

  const broker = await Mosquitto.start();
  const [browser, server] = await Promise.all([Chromium.launch(), startConsoleServer(broker.port)]);
  const operator = await TestClient.connect(broker.url);
  const openViewer = (): Promise<Page> =>
    openHarness(browser, server, async (name, params) =>
      resultOf((await operator.request(`thea/v1/media-bench/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body),
    );

  // --- 2. first frame ---
  const cold: Marks[] = [];
  const warm: Marks[] = [];
  // Two pages for the whole run, as a doctor's tab stays open: opening a page starts a renderer
  // process, the bench's own cost, which would load this 2-core machine during the measurement.
  // They open before the agent starts, so its first session (which the bench prints apart) is
  // not timed while their renderers are still starting.
  const [first, second] = PARTS.has("frames") ? [await openViewer(), await openViewer()] : [];
  const online = operator.next("thea/v1/media-bench/status", (m) => (m.json() as { online: boolean }).online, 60_000);
  const agent = await AgentProcess.start({
    brokerUrl: broker.url,
    deviceId: "media-bench",
    command: process.env.MEDIA_AGENT_BIN,
    env: { THEA_LOG_LEVEL: process.env.MEDIA_AGENT_LOG ?? "warn" },
    extraYaml: [
      "media: { loopbackOnly: true }",
      "cameras:",
      `  - ${CAMERA_YAML}`,
    ].join("\n"),
  });
  await online;
  for (let round = 0; first && second && round < SESSIONS; round++) {
    await cameraIdle(first, operator);
    cold.push(await first.evaluate<Marks>(WATCH));
    // Warm: a second doctor joins a camera that has been streaming to the first for a second.
    await decoded(first, 30);
    warm.push(await second.evaluate<Marks>(WATCH));
    await second.evaluate("window.viewer.close()");
    await first.evaluate("window.viewer.close()");
  }
  await Promise.all([first?.close(), second?.close()]);
  const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;
  const describe = (runs: Marks[]) => {
    const step = (key: keyof Marks, p: number) => percentile(runs.map((run) => run[key]), p).toFixed(0);
    const fromOffer = (p: number) => percentile(runs.map((run) => run.frame - run.offer), p).toFixed(0);
    const steps = (p: number) => `offer sent ${step("offer", p)}, answered ${step("answer", p)}, connected ${step("connected", p)}, frame ${step("frame", p)}`;
    return [
      `webrtc.offer sent → first frame: p50 ${fromOffer(50)} ms, p95 ${fromOffer(95)} ms`,
      `    from the viewer's start (its own createOffer included), each step: p50 ${steps(50)}; p95 ${steps(95)}`,
    ].join("\n");
  };
  if (PARTS.has("frames")) {
    console.log(`first decoded frame in Chromium, 720p30 H.264, ${SESSIONS} sessions each (the browser sends its offer at once and trickles; two pages kept open):`);
    console.log(`  cold (camera idle; its pipeline starts):   ${describe(cold)}`);
    const [firstCold] = cold;
    if (firstCold) console.log(`    the first one after the agent started: ${(firstCold.frame - firstCold.offer).toFixed(0)} ms`);
    console.log(`  warm (camera streaming to another viewer for ≥1 s): ${describe(warm)}`);
  }
  if (process.env.MEDIA_AGENT_LOG) for (const line of agent.stdout.lines.filter((l) => /ice state|dtls state|viewer connected|offer|answer|pipeline playing|first packet/.test(l))) console.log(line);
  if (PARTS.has("cpu")) await cpuFigures(agent.pid, openViewer);
  if (PARTS.has("cycles")) await openCloseCycles(agent, openViewer);

  await operator.close();
  await agent.stop();
  await Promise.all([browser.close(), server.stop()]);
  await broker.stop();
  process.exit(0);
}

/** Resolves once the page's viewer has decoded `frames` frames. */
async function decoded(page: Page, frames: number): Promise<void> {
  await pageReaches<{ framesDecoded: number }>(page, `${frames} decoded frames`, "window.viewer.stats()", (stats) => stats.framesDecoded >= frames);
}

/** Resolves once the camera is idle again (its pipeline stopped): the next start is cold (`page` paces the asking). */
async function cameraIdle(page: Page, operator: TestClient): Promise<void> {
  type Sessions = { result?: { cameras?: Array<{ state: string }> } };
  const sessions = async () => (await operator.request("thea/v1/media-bench/cmd/media.sessions", "{}", { timeoutMs: 10_000 })).body as Sessions;
  await eventually(page, "the camera to be idle", sessions, (reply) => reply.result?.cameras?.every((camera) => camera.state === "idle") ?? false);
}

// --- 3. CPU and RSS, next to the encode alone ---
async function cpuFigures(agentPid: number, openViewer: () => Promise<Page>): Promise<void> {
  console.log(`CPU and RSS at 720p30, 2 Mbit/s (one core = 100 %; ${CPU_SECONDS} s windows):`);
  const [idleAgent = 0] = await cpuPercent([agentPid], CPU_SECONDS);
  console.log(`  agent, no viewer: ${idleAgent.toFixed(1)} %, RSS ${(await processFigures(agentPid)).rssMb} MB (no pipeline process)`);
  // The encode alone and one viewer take turns: this shared machine's speed drifts by ±10 % over
  // a minute, more than the difference being measured.
  const rounds: Array<{ alone: number; viewing: Viewing }> = [];
  for (let round = 0; round < CPU_ROUNDS; round++) {
    const alone = await encodeAlone();
    const page = await openViewer();
    await page.evaluate(WATCH);
    const viewing = await viewingCpu(agentPid);
    await page.evaluate("window.viewer.close()");
    await page.close();
    rounds.push({ alone: alone.cpu, viewing });
    console.log(
      `  round ${round + 1}: encode alone (gst-launch-1.0 … ! fakesink) ${alone.cpu.toFixed(1)} %, RSS ${alone.rssMb} MB; ` +
        `1 viewer: agent ${viewing.agent.toFixed(1)} % + pipeline process ${viewing.host.toFixed(1)} % = ${viewing.total.toFixed(1)} % ` +
        `(${(viewing.total / alone.cpu).toFixed(2)}×), RSS ${viewing.rss.join(" + ")} = ${rssTotal(viewing)} MB`,
    );
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const alone = mean(rounds.map((round) => round.alone));
  const one = mean(rounds.map((round) => round.viewing.total));
  const ratios = rounds.map((round) => round.viewing.total / round.alone);
  console.log(`  1 viewer, mean of ${rounds.length} rounds: ${one.toFixed(1)} % against ${alone.toFixed(1)} % alone = ${(one / alone).toFixed(2)}× (rounds ${ratios.map((r) => r.toFixed(2)).join(", ")})`);
  const rss = rounds.map((round) => rssTotal(round.viewing));
  console.log(`  target: CPU with one viewer ≤ 1.10× the encode alone: ${(one / alone).toFixed(2)}×`);
  const together = rounds.map((round) => round.viewing.together);
  console.log(
    `  target: agent + pipeline process ≤ 200 MB with one viewer: RSS sum ${rss.join(", ")} MB by round; ` +
      `resident pages of the two counted once ${together.join(", ")} MB (both map the same node binary and libraries, which an RSS sum counts twice)`,
  );

  const viewers: Page[] = [];
  while (viewers.length < 3) {
    const page = await openViewer();
    await page.evaluate(WATCH);
    viewers.push(page);
  }
  const three = await viewingCpu(agentPid);
  console.log(
    `  3 viewers: agent ${three.agent.toFixed(1)} % + pipeline process ${three.host.toFixed(1)} % = ${three.total.toFixed(1)} % ` +
      `(+${((three.total - one) / 2).toFixed(1)} % per extra viewer over the 1-viewer mean), RSS ${three.rss.join(" + ")} MB`,
  );
  console.log(`  target: ≤ 2 % of a core per extra viewer: ${((three.total - one) / 2).toFixed(1)} %`);
  for (const page of viewers) {
    await page.evaluate("window.viewer.close()");
    await page.close();
  }
}

const rssTotal = (viewing: Viewing) => Math.round(viewing.rss.reduce((sum, mb) => sum + mb, 0) * 10) / 10;

interface Viewing {
  agent: number;
  host: number;
  total: number;
  rss: number[];
  /** Physical pages resident in the agent or its pipeline process, each counted once, MB (NaN without root). */
  together: number;
}

/**
 * Resident pages of several processes, a page both map counted once: the page-frame numbers of
 * every resident page (/proc/<pid>/pagemap, bits 0–54; readable only by root) in one set.
 */
async function residentTogetherMb(pids: number[]): Promise<number> {
  const frames = new Set<number>();
  for (const pid of pids) {
    const maps = await readFile(`/proc/${pid}/maps`, "utf8");
    const pagemap = await open(`/proc/${pid}/pagemap`, "r");
    try {
      for (const line of maps.split("\n")) {
        const [range] = line.split(" ");
        const [from, to] = (range ?? "").split("-").map((hex) => BigInt(`0x${hex || "0"}`));
        if (from === undefined || to === undefined || to <= from || from >= 0x800000000000n) continue;
        const pages = Number((to - from) / 4096n);
        const entries = Buffer.alloc(pages * 8);
        await pagemap.read(entries, 0, entries.length, Number((from / 4096n) * 8n));
        for (let i = 0; i < pages; i++) {
          const high = entries.readUInt32LE(i * 8 + 4);
          const frame = (high & 0x7fffff) * 2 ** 32 + entries.readUInt32LE(i * 8);
          if (high & 0x80000000 && frame !== 0) frames.add(frame);
        }
      }
    } finally {
      await pagemap.close();
    }
  }
  return frames.size === 0 ? Number.NaN : Math.round((frames.size * 4096) / 1048576 * 10) / 10;
}

/** The agent's and its pipeline process's CPU over one window, once the encoder has settled. */
async function viewingCpu(agentPid: number): Promise<Viewing> {
  await sleep(3000);
  const host = await hostPid(agentPid);
  const pids = host === undefined ? [agentPid] : [agentPid, host];
  const [agent = 0, hostCpu = 0] = await cpuPercent(pids, CPU_SECONDS);
  const rss = (await Promise.all(pids.map(processFigures))).map((figures) => figures.rssMb);
  const together = await residentTogetherMb(pids);
  return { agent, host: hostCpu, total: agent + hostCpu, rss, together };
}

// --- 4. open/close cycles ---
async function openCloseCycles(agent: AgentProcess, openViewer: () => Promise<Page>): Promise<void> {
  const agentPid = agent.pid;
  const page = await openViewer();
  // A viewer with no picture within CYCLE_TIMEOUT_MS counts as a failed cycle and the run goes
  // on (the agent ends a session that never connects after media.sessionTimeoutSec).
  const failed: number[] = [];
  let cycles = 0;
  const cycle = async () => {
    cycles += 1;
    const pictured = await Promise.race([page.evaluate(WATCH).then(() => true), sleep(CYCLE_TIMEOUT_MS).then(() => false)]);
    if (!pictured) failed.push(cycles);
    await page.evaluate("window.viewer?.close()");
  };
  // Warm-up: code compiled, pools and caches at their working size, the heap grown to its pace.
  for (let done = 0; done < WARMUP; done++) await cycle();
  const before = await processFigures(agentPid);
  const trend: string[] = [];
  const every = Math.max(1, Math.round(CYCLES / 10));
  for (let done = 1; done <= CYCLES; done++) {
    await cycle();
    if (done % every === 0) trend.push(`${done}: ${(await processFigures(agentPid)).rssMb}`);
  }
  const after = await processFigures(agentPid);
  console.log(`${CYCLES} viewer open/close cycles after ${WARMUP} to warm up: agent RSS ${before.rssMb} → ${after.rssMb} MB (${trend.join(", ")} MB), of it heaps (RssAnon) ${before.anonMb} → ${after.anonMb} MB, open fds ${before.fds} → ${after.fds}`);
  console.log(`  target: growth ≤ 5 MB over 1,000 cycles after warm-up: ${(after.rssMb - before.rssMb).toFixed(1)} MB over ${CYCLES}`);
  if (failed.length > 0) {
    console.log(`  ${failed.length} cycles showed no picture within ${CYCLE_TIMEOUT_MS / 1000} s (cycles ${failed.slice(0, 20).join(", ")}); the agent's warnings:`);
    for (const line of agent.stdout.lines.filter((l) => /"level":(40|50|60)/.test(l)).slice(-20)) console.log(`    ${line}`);
  }
}

await main();
