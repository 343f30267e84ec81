/**
 * First frame from a real viewer (issue 17): printed beside its targets, not asserted.
 *
 * Unlike bench/media.ts (pages kept open, viewer.js with video and audio, `loopbackOnly`), each
 * session here is what a hospital's own web app would do: a fresh page, a plain RTCPeerConnection
 * with one receive-only video transceiver, and either a complete offer (sent once the browser has
 * gathered) or a trickled one (sent at once, its candidates following as webrtc.candidate). The
 * agent gathers on every interface (`loopbackOnly: false`).
 *
 * Each run takes FIRST_FRAME_SESSIONS (20) cold sessions (the camera idle before each) and as many
 * warm ones (the camera already streaming to a viewer kept open), for each offer kind in
 * FIRST_FRAME_OFFER (complete, trickle, or both: the default), and prints p50 and p95 of offer
 * sent → first decoded frame beside the targets, with each session's timeline in milliseconds
 * from the page's start: the page's steps (offer sent, answer, ICE and DTLS connected, first RTP
 * packet (the track unmuting), first frame decoded) and the agent's debug lines (DTLS state, pipeline
 * playing, first packet from the camera and to the viewer).
 *
 * FIRST_FRAME_NET chooses where the two meet:
 * - `host` (default): agent and Chromium on this machine's own network (the box gathers on every
 *   interface of the machine, which the browser reaches: no pair fails);
 * - `multihomed`: the agent in a network namespace with three interfaces of which one reaches the
 *   viewer (test/helpers/multiHomedBox.ts), Chromium in another; every other pair fails silently.
 * FIRST_FRAME_LOOPBACK=1 sets `loopbackOnly` instead; FIRST_FRAME_PAGE=reuse keeps one page open
 * (a new peer connection in it per session); FIRST_FRAME_PAUSE_MS (0) waits between sessions;
 * FIRST_FRAME_QUIET=1 leaves out the per-session agent lines; FIRST_FRAME_WERIFT_LOG=FILE writes werift's
 * own debug output there (DEBUG=werift*: each ICE check, nomination and DTLS step, timestamped).
 *
 * Conditions that keep it from a real clinic: browser and agent on one machine (a shared 2-core one:
 * absolute figures are noisy), Chromium with the test flags (host addresses, no mDNS names).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AgentProcess, THEA_BIN } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { TestClient } from "../test/helpers/mqttClient.ts";
import { MultiHomedBox } from "../test/helpers/multiHomedBox.ts";
import { freePort } from "../test/helpers/ports.ts";
import { resultOf } from "../test/helpers/consoleServer.ts";

const SESSIONS = Number(process.env.FIRST_FRAME_SESSIONS ?? 20);
const PAUSE_MS = Number(process.env.FIRST_FRAME_PAUSE_MS ?? 0);
const LOOPBACK = process.env.FIRST_FRAME_LOOPBACK === "1";
const QUIET = process.env.FIRST_FRAME_QUIET === "1";
const NET = process.env.FIRST_FRAME_NET === "multihomed" ? "multihomed" : "host";
type OfferKind = "complete" | "trickle";
const OFFERS: OfferKind[] = process.env.FIRST_FRAME_OFFER === "complete" ? ["complete"] : process.env.FIRST_FRAME_OFFER === "trickle" ? ["trickle"] : ["complete", "trickle"];
/** fresh: a new page per session (as the issue); reuse: one page, a new peer connection per session. */
const PAGE = process.env.FIRST_FRAME_PAGE === "reuse" ? "reuse" : "fresh";
/** A file for werift's own debug output (every ICE check and DTLS step), to see what a session waited for. */
const WERIFT_LOG = process.env.FIRST_FRAME_WERIFT_LOG;
const DEVICE = "first-frame";
const CAMERA_YAML = "{ id: cam1, source: { type: test, pattern: ball }, width: 1280, height: 720, framerate: 30, maxViewers: 8, bitrateKbps: { min: 2000, start: 2000, max: 2000 } }";
const TARGETS = { coldP50: 350, coldP95: 600, warmP50: 200 };
/** bench/media.ts's last recorded figures (docs/media.md): viewer.js, trickled, pages kept open, loopbackOnly. */
const MEDIA_BENCH = "cold p50 171–195 ms / p95 211–263 ms, warm p50 106–120 ms / p95 128–142 ms (40 sessions, four runs)";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The page: a plain peer connection, an offer of the given kind, and when (Date.now()) each step
 * happened. A trickling page sends the candidates it found before the answer once it knows the
 * session, and each later one at once. (The box's own candidates are all in its answer: it has
 * no STUN server here and waits for its host candidates, so it trickles none.)
 */
const session = (offer: OfferKind) => `(async () => {
  const trickle = ${offer === "trickle"};
  const marks = { start: Date.now() };
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  pc.oniceconnectionstatechange = () => pc.iceConnectionState === "connected" && (marks.ice ??= Date.now());
  pc.onconnectionstatechange = () => pc.connectionState === "connected" && (marks.dtls ??= Date.now());
  const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(Date.now())));
  let sessionId;
  const early = [];
  marks.trickled = 0;
  const sendCandidate = (candidate) => { marks.trickled += 1; theaCandidate(JSON.stringify({ sessionId, candidate })); };
  pc.onicecandidate = ({ candidate }) => {
    if (!trickle || !candidate) return;
    if (sessionId) sendCandidate(candidate.toJSON());
    else early.push(candidate.toJSON());
  };
  await pc.setLocalDescription(await pc.createOffer());
  if (!trickle) {
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    });
  }
  marks.offer = Date.now();
  const offerSdp = pc.localDescription.sdp;
  marks.offerCandidates = offerSdp.split("\\r\\n").filter((line) => line.startsWith("a=candidate:")).length;
  const answer = JSON.parse(await theaRequest(JSON.stringify({ camera: "cam1", sdp: offerSdp })));
  marks.answer = Date.now();
  marks.sessionId = sessionId = answer.sessionId;
  marks.answerCandidates = answer.sdp.split("\\r\\n").filter((line) => line.startsWith("a=candidate:")).length;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  for (const candidate of early.splice(0)) sendCandidate(candidate);
  // The first packet: the track unmutes when its first RTP packet arrives (WebRTC 1.0 §4.4.1.6,
  // "receiving media"). Polling getStats every few ms, as this bench did, loads the page's
  // renderer while the pipeline starts on the same two cores.
  const track = pc.getReceivers()[0].track;
  await Promise.race([
    new Promise((resolve) => (track.muted ? (track.onunmute = resolve) : resolve())),
    new Promise((resolve) => setTimeout(resolve, 10000)),
  ]);
  if (!track.muted) marks.packet = Date.now();
  marks.frame = await Promise.race([firstFrame, new Promise((resolve) => setTimeout(() => resolve(undefined), 10000))]);
  const report = await pc.getStats();
  marks.pairsChecked = 0;
  for (const entry of report.values()) {
    if (entry.type === "inbound-rtp" && entry.kind === "video") Object.assign(marks, { pliCount: entry.pliCount, keyFramesDecoded: entry.keyFramesDecoded });
    if (entry.type === "candidate-pair" && entry.requestsSent > 0) marks.pairsChecked += 1;
    if (entry.type === "candidate-pair" && entry.nominated && entry.state === "succeeded") {
      const local = report.get(entry.localCandidateId);
      const remote = report.get(entry.remoteCandidateId);
      marks.pair = local?.address + " ⇄ " + remote?.address;
    }
  }
  if (!window.keep) pc.close();
  return marks;
})()`;

interface PageMarks {
  start: number;
  offer: number;
  answer: number;
  ice?: number;
  dtls?: number;
  packet?: number;
  frame?: number;
  sessionId: string;
  offerCandidates: number;
  answerCandidates: number;
  trickled: number;
  pliCount?: number;
  pairsChecked: number;
  pair?: string;
}

interface LogLine {
  time: string;
  msg: string;
  session?: string;
  camera?: string;
  [key: string]: unknown;
}

/** When (ms from the page's start) the agent's steps happened, from its debug log. */
interface AgentSteps {
  pipelineStart?: number;
  dtls?: number;
  playing?: number;
  firstPacket?: number;
}

/** The agent's debug lines about this session (and its camera's pipeline and keyframes). */
function agentTimeline(lines: string[], marks: PageMarks): { lines: string[]; steps: AgentSteps } {
  const parsed = lines.flatMap((line): Array<LogLine & { at: number }> => {
    try {
      const entry = JSON.parse(line) as LogLine;
      return [{ ...entry, at: Date.parse(entry.time) }];
    } catch {
      return [];
    }
  });
  const end = (marks.frame ?? marks.start + 10_000) + 50;
  const relevant = parsed.filter(
    (line) =>
      line.at >= marks.start &&
      line.at <= end &&
      (line.session === marks.sessionId || /keyframe|pipeline playing|starting pipeline/.test(line.msg)),
  );
  const steps: AgentSteps = {};
  const first = (msg: string, test: (line: LogLine) => boolean = () => true) => {
    const found = relevant.find((line) => line.msg === msg && test(line));
    return found === undefined ? undefined : found.at - marks.start;
  };
  steps.pipelineStart = first("starting pipeline");
  steps.playing = first("pipeline playing");
  steps.dtls = first("dtls state", (line) => line.dtls === "connected");
  steps.firstPacket = first("first packet to the viewer");
  const shown = relevant.map((line) => {
    const { at, time: _time, msg, level: _level, pid: _pid, hostname: _host, ns: _ns, session: _session, camera: _camera, launch: _launch, app: _app, ...rest } = line;
    return `      agent +${at - marks.start} ${msg} ${JSON.stringify(rest)}`;
  });
  return { lines: shown, steps };
}

/** Nearest-rank percentile (p in 0–100) of the known values, or undefined when there are none. */
function percentile(values: Array<number | undefined>, p: number): number | undefined {
  const known = values.filter((value): value is number => value !== undefined).sort((a, b) => a - b);
  if (known.length === 0) return undefined;
  return known[Math.max(0, Math.ceil((p / 100) * known.length) - 1)];
}
const shown = (value: number | undefined) => (value === undefined ? "—" : String(value));

/** Where the agent and the browser run, and how the agent reaches the broker. */
interface Network {
  agentCommand: string | undefined;
  agentBrokerUrl: string;
  chromium: string | undefined;
  describe: string;
  stop(): Promise<void>;
}

async function network(broker: Mosquitto): Promise<Network> {
  if (NET === "host") {
    return { agentCommand: undefined, agentBrokerUrl: broker.url, chromium: undefined, describe: "agent and browser on this machine's own interfaces", stop: async () => undefined };
  }
  const box = await MultiHomedBox.create();
  // The broker stays on this machine's loopback; the box reaches it through a Unix socket
  // (socat on either side), the one way between namespaces that involves no address.
  const socket = path.join(await mkdtemp(path.join(tmpdir(), "thea-ff-")), "broker.sock");
  const outside = spawn("socat", [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${broker.port},nodelay`], { stdio: "ignore" });
  const port = await freePort();
  const inside = spawn("ip", ["netns", "exec", box.namespace("box"), "socat", `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,nodelay`, `UNIX-CONNECT:${socket}`], { stdio: "ignore" });
  await sleep(300); // socat listens within a few ms; nothing to wait on from outside the namespace
  const kill = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill())));
  return {
    agentCommand: await box.runner("box", THEA_BIN),
    agentBrokerUrl: `mqtt://127.0.0.1:${port}`,
    chromium: await box.runner("viewer", process.env.CHROMIUM ?? "/usr/bin/chromium"),
    describe:
      `a multi-homed box (namespaces): box lan ${box.box.lan} ⇄ viewer lan ${box.viewer.lan} works; box wifi ${box.box.wifi} and modem ${box.box.modem}, ` +
      `and the viewer's other ${box.viewer.other}, reach nothing (silent drops)`,
    stop: async () => {
      await kill(inside);
      await kill(outside);
      await box.remove();
    },
  };
}

/**
 * Commands as a web app sends them: subscribed once to its reply topic, then each request one
 * QoS 1 publish (TestClient.request subscribes again for every request, a broker round trip more
 * before each offer).
 */
async function requester(operator: TestClient): Promise<(name: string, params: object) => Promise<unknown>> {
  const replyTopic = `thea/v1/${DEVICE}/reply/first-frame-bench`;
  const waiting = new Map<string, (body: unknown) => void>();
  operator.client.on("message", (topic, payload, packet) => {
    const key = packet.properties?.correlationData?.toString("hex");
    if (topic !== replyTopic || key === undefined) return;
    waiting.get(key)?.(JSON.parse(payload.toString()) as unknown);
    waiting.delete(key);
  });
  await operator.client.subscribeAsync(replyTopic, { qos: 1 });
  return async (name, params) => {
    const correlationData = randomBytes(8);
    const answered = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no answer in 30 s`)), 30_000);
      waiting.set(correlationData.toString("hex"), (body) => (clearTimeout(timer), resolve(body)));
    });
    await operator.publish(`thea/v1/${DEVICE}/cmd/${name}`, JSON.stringify(params), { qos: 1, properties: { responseTopic: replyTopic, correlationData } });
    return resultOf(await answered);
  };
}

interface Row {
  marks: PageMarks;
  agent: AgentSteps;
}

/** What to undo when the bench ends, however it ends (newest first). */
const cleanups: Array<() => Promise<unknown>> = [];

async function main(): Promise<void> {
  const startLoad = loadavg()[0]?.toFixed(1);
  const broker = await Mosquitto.start();
  cleanups.unshift(() => broker.stop());
  const net = await network(broker);
  cleanups.unshift(() => net.stop());
  if (net.chromium !== undefined) process.env.CHROMIUM = net.chromium;
  // Imported here: the helper reads CHROMIUM when it loads.
  const { Chromium } = await import("../test/helpers/chromium.ts");
  const browser = await Chromium.launch();
  cleanups.unshift(() => browser.close());
  const operator = await TestClient.connect(broker.url);
  cleanups.unshift(() => operator.close());
  const online = operator.next(`thea/v1/${DEVICE}/status`, (m) => (m.json() as { online: boolean }).online, 60_000);
  const agent = await AgentProcess.start({
    brokerUrl: net.agentBrokerUrl,
    deviceId: DEVICE,
    ...(net.agentCommand !== undefined && { command: net.agentCommand }),
    env: { THEA_LOG_LEVEL: "debug", ...(WERIFT_LOG !== undefined && { DEBUG: "werift*" }) },
    extraYaml: [`media: { loopbackOnly: ${LOOPBACK} }`, "cameras:", `  - ${CAMERA_YAML}`].join("\n"),
  });
  cleanups.unshift(() => agent.stop());
  await online;
  const request = await requester(operator);
  const openPage = async () => {
    const page = await browser.open("about:blank");
    await page.expose("theaRequest", async (body) => JSON.stringify(await request("webrtc.offer", JSON.parse(body) as object)));
    await page.expose("theaCandidate", async (body) => request("webrtc.candidate", JSON.parse(body) as object).catch((error: unknown) => console.log(`    candidate refused: ${String(error)}`)));
    return page;
  };

  console.log(
    `first frame from ${PAGE === "fresh" ? "a fresh page" : "one page kept open"} per session, one recvonly video transceiver, loopbackOnly ${LOOPBACK}, ` +
      `${net.describe}; ${SESSIONS} cold and ${SESSIONS} warm sessions per offer kind (times in ms from the page's start)`,
  );
  const results: Array<{ offer: OfferKind; cold: Row[]; warm: Row[] }> = [];
  for (const offer of OFFERS) {
    const kept = PAGE === "reuse" ? await openPage() : undefined;
    /** One session in a page of its own (or the kept one), closed after its first frame. */
    const once = async (label: string): Promise<Row> => {
      const page = kept ?? (await openPage());
      const marks = await page.evaluate<PageMarks>(session(offer));
      if (!kept) await page.close();
      await request("webrtc.close", { sessionId: marks.sessionId }).catch(() => undefined);
      const timeline = agentTimeline(agent.stdout.lines, marks);
      const at = (value: number | undefined) => (value === undefined ? "—" : String(value - marks.start));
      console.log(
        `  ${label}: offer ${at(marks.offer)} (${marks.offerCandidates} candidates${offer === "trickle" ? `, ${marks.trickled} trickled` : ""}), answer ${at(marks.answer)} (${marks.answerCandidates}), ` +
          `ice ${at(marks.ice)}, dtls ${at(marks.dtls)}, first packet (unmute) ${at(marks.packet)}, first frame ${at(marks.frame)}; ` +
          `PLIs ${marks.pliCount ?? "—"}, pairs checked by the browser ${marks.pairsChecked}, pair ${marks.pair ?? "—"}`,
      );
      if (!QUIET) for (const line of timeline.lines) console.log(line);
      return { marks, agent: timeline.steps };
    };

    console.log(`${offer} offer, cold (the camera idle before each session):`);
    const cold: Row[] = [];
    for (let round = 0; round < SESSIONS; round++) {
      await cameraIdle(request);
      if (PAUSE_MS > 0) await sleep(PAUSE_MS);
      cold.push(await once(`cold ${round + 1}`));
    }
    await kept?.close();

    console.log(`${offer} offer, warm (the camera streaming to a viewer kept open in a page of its own):`);
    await cameraIdle(request);
    const holder = await openPage();
    await holder.evaluate("window.keep = true");
    const held = await holder.evaluate<PageMarks>(session("complete"));
    if (held.frame === undefined) throw new Error("the viewer kept open saw no frame");
    const warm: Row[] = [];
    const keptWarm = PAGE === "reuse" ? await openPage() : undefined;
    for (let round = 0; round < SESSIONS; round++) {
      if (PAUSE_MS > 0) await sleep(PAUSE_MS);
      if (keptWarm) {
        const marks = await keptWarm.evaluate<PageMarks>(session(offer));
        await request("webrtc.close", { sessionId: marks.sessionId }).catch(() => undefined);
        warm.push({ marks, agent: agentTimeline(agent.stdout.lines, marks).steps });
      } else warm.push(await once(`warm ${round + 1}`));
    }
    await keptWarm?.close();
    await holder.close();
    await request("webrtc.close", { sessionId: held.sessionId }).catch(() => undefined);
    summarise(offer, "cold", cold);
    summarise(offer, "warm", warm);
    results.push({ offer, cold, warm });
  }

  console.log(`\nfirst frame from a real viewer (${net.describe}; shared 2-core machine, figures noisy; load average at the start ${startLoad}, now ${loadavg()[0]?.toFixed(1)}):`);
  for (const { offer, cold, warm } of results) {
    const figure = (rows: Row[], p: number) => percentile(rows.map(({ marks }) => gap(marks, "offer", "frame")), p);
    const missed = (rows: Row[]) => rows.filter(({ marks }) => marks.frame === undefined).length;
    console.log(
      `  ${offer.padEnd(8)} offer sent → first frame: cold p50 ${shown(figure(cold, 50))} ms (target ≤ ${TARGETS.coldP50}), p95 ${shown(figure(cold, 95))} ms (target ≤ ${TARGETS.coldP95}); ` +
        `warm p50 ${shown(figure(warm, 50))} ms (target ≤ ${TARGETS.warmP50}), p95 ${shown(figure(warm, 95))} ms; ` +
        `${cold.length} + ${warm.length} sessions${missed(cold) + missed(warm) > 0 ? `, ${missed(cold) + missed(warm)} without a frame in 10 s` : ""}`,
    );
  }
  console.log(`  bench/media.ts beside them (its last recorded figures): ${MEDIA_BENCH}`);

  await agent.stop();
  if (WERIFT_LOG !== undefined) await writeFile(WERIFT_LOG, agent.stderr.text);
}

function gap(marks: PageMarks, from: keyof PageMarks, to: keyof PageMarks): number | undefined {
  const a = marks[from];
  const b = marks[to];
  return typeof a === "number" && typeof b === "number" ? b - a : undefined;
}

/** Each step's p50/p95 over one set of sessions. */
function summarise(offer: OfferKind, temperature: string, rows: Row[]): void {
  const both = (values: Array<number | undefined>) => `${shown(percentile(values, 50))}/${shown(percentile(values, 95))}`;
  const page = (from: keyof PageMarks, to: keyof PageMarks) => both(rows.map(({ marks }) => gap(marks, from, to)));
  const agentGap = (from: keyof AgentSteps, to: keyof AgentSteps) =>
    both(rows.map(({ agent: steps }) => (steps[from] !== undefined && steps[to] !== undefined ? (steps[to] as number) - (steps[from] as number) : undefined)));
  console.log(
    `  ${offer} ${temperature}, p50/p95 over ${rows.length}: offer sent → first frame ${page("offer", "frame")} ms (page start → first frame ${page("start", "frame")}, ` +
      `→ offer sent ${page("start", "offer")}); after the offer: answer ${page("offer", "answer")}, ice ${page("offer", "ice")}, dtls ${page("offer", "dtls")}, first frame ${page("offer", "frame")}`,
  );
  console.log(
    `    agent: DTLS connected → first packet to the viewer ${agentGap("dtls", "firstPacket")} ms; pipeline started → playing ${agentGap("pipelineStart", "playing")}, ` +
      `playing → first packet ${agentGap("playing", "firstPacket")}; DTLS before the pipeline played in ` +
      `${rows.filter(({ agent: steps }) => steps.dtls !== undefined && steps.playing !== undefined && steps.dtls < steps.playing).length} of ${rows.length}; ` +
      `first packet sent → first frame in the page ${both(rows.map(({ marks, agent: steps }) => (marks.frame !== undefined && steps.firstPacket !== undefined ? marks.frame - marks.start - steps.firstPacket : undefined)))}`,
  );
}

/**
 * Resolves once the camera is idle (its pipeline stopped), so the next session starts it cold. A
 * session left open (its page gone before its close was answered, on a loaded machine) is closed,
 * and said so.
 */
async function cameraIdle(request: (name: string, params: object) => Promise<unknown>): Promise<void> {
  for (let tries = 0; tries < 600; tries++) {
    const state = (await request("media.sessions", {})) as { sessions?: Array<{ sessionId: string; state: string }>; cameras?: Array<{ state: string }> };
    if (state.cameras?.every((camera) => camera.state === "idle")) return;
    if (tries === 100) {
      for (const left of state.sessions ?? []) {
        console.log(`    closing a session left open (${left.state})`);
        await request("webrtc.close", { sessionId: left.sessionId }).catch(() => undefined);
      }
    }
    await sleep(50);
  }
  throw new Error("the camera did not go idle");
}

try {
  await main();
} finally {
  for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.log(`cleaning up: ${String(error)}`));
}
process.exit(0);
