/**
 * Live video figures (bench/README in the README): printed, not asserted.
 *
 * 1. Pipeline churn in one process: RSS after repeated create/play/stop of a gstreamer-superficial
 *    pipeline — the evidence for running each camera's pipeline in a child process.
 * 2. Time from a viewer's offer to its first decoded frame in headless Chromium, with the camera
 *    idle (cold: the pipeline starts) and already streaming to another viewer (warm).
 * 3. CPU of the agent and of the pipeline process at 720p30 H.264 with 0, 1, 2 and 3 viewers.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { Chromium, type Page } from "../test/helpers/chromium.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { TestClient } from "../test/helpers/mqttClient.ts";
import { startViewerServer } from "../test/helpers/viewerServer.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHURN_CYCLES = Number(process.env.MEDIA_CHURN_CYCLES ?? 200);

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
    if (args.includes("media/host.ts")) return Number(child);
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

async function main(): Promise<void> {
  await churn("plain");
  await churn("bus");

  const broker = await Mosquitto.start();
  const [browser, server] = await Promise.all([Chromium.launch(), startViewerServer(broker.port)]);
  const agent = await AgentProcess.start({
    brokerUrl: broker.url,
    deviceId: "media-bench",
    env: { THEA_LOG_LEVEL: "warn" },
    extraYaml: [
      "media: { loopbackOnly: true }",
      "cameras:",
      "  - { id: cam1, source: { type: test, pattern: ball }, width: 1280, height: 720, framerate: 30, maxViewers: 8 }",
    ].join("\n"),
  });
  const operator = await TestClient.connect(broker.url);
  await operator.next("thea/v1/media-bench/status", (m) => (m.json() as { online: boolean }).online);
  const request = async (body: string) => {
    const { name, params } = JSON.parse(body) as { name: string; params: object };
    const answer = (await operator.request(`thea/v1/media-bench/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body as {
      ok: boolean;
      result?: unknown;
      error?: { message: string };
    };
    if (!answer.ok) throw new Error(answer.error?.message);
    return answer.result;
  };
  const openViewer = async (): Promise<Page> => {
    const page = await browser.open(server.url("/harness.html"));
    await page.expose("theaRequest", request);
    await page.evaluate(`(async () => { while (!window.harnessReady) await new Promise((r) => setTimeout(r, 20)); })()`);
    return page;
  };

  const cold: Marks[] = [];
  const warm: Marks[] = [];
  for (let round = 0; round < 5; round++) {
    const first = await openViewer();
    cold.push(await first.evaluate<Marks>(WATCH));
    const second = await openViewer();
    warm.push(await second.evaluate<Marks>(WATCH));
    await second.evaluate("window.viewer.close()");
    await first.evaluate("window.viewer.close()");
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const describe = (runs: Marks[]) => {
    const step = (key: keyof Marks) => median(runs.map((run) => run[key])).toFixed(0);
    return `offer sent ${step("offer")} ms, answered ${step("answer")} ms, connected ${step("connected")} ms, first frame ${step("frame")} ms`;
  };
  console.log("viewer start → first decoded frame in Chromium (720p30 H.264, medians of 5, the browser gathers first):");
  console.log(`  cold (camera idle; its pipeline starts):  ${describe(cold)}`);
  console.log(`  warm (camera streaming to another viewer): ${describe(warm)}`);

  const [idleAgent = 0] = await cpuPercent([agent.pid], 5);
  console.log(`CPU at 720p30 (one core = 100 %): idle, no viewer: agent ${idleAgent.toFixed(1)} %, no pipeline process`);
  const viewers: Page[] = [];
  for (let count = 1; count <= 3; count++) {
    const page = await openViewer();
    await page.evaluate(WATCH);
    viewers.push(page);
    await sleep(3000); // let the encoder settle on its bitrate
    const host = await hostPid(agent.pid);
    const [agentCpu = 0, hostCpu = 0] = await cpuPercent(host === undefined ? [agent.pid] : [agent.pid, host], 10);
    console.log(`  ${count} viewer${count > 1 ? "s" : ""}: agent (werift send path) ${agentCpu.toFixed(1)} %, pipeline process (capture + x264) ${hostCpu.toFixed(1)} %`);
  }
  for (const page of viewers) await page.evaluate("window.viewer.close()");

  await operator.close();
  await agent.stop();
  await Promise.all([browser.close(), server.stop()]);
  await broker.stop();
  process.exit(0);
}

await main();
