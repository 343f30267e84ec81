/**
 * First frame from a real viewer (issue 17): printed, not asserted.
 *
 * Unlike bench/media.ts (two pages kept open, viewer.js's trickled offer with video and audio,
 * `loopbackOnly`), each session here is what a hospital's own web app would do: a fresh page, a
 * plain RTCPeerConnection with one receive-only video transceiver, and a complete offer (sent once
 * the browser has gathered). The agent gathers on every interface (`loopbackOnly: false`) unless
 * FIRST_FRAME_LOOPBACK=1. The camera is idle before each session (a cold start).
 *
 * Each session's timeline, in wall-clock milliseconds from the page's start: the page's own steps
 * (offer sent, answer, ICE and DTLS connected, first RTP packet received, first frame decoded) and
 * the agent's debug log (DTLS state, connected, keyframe forced, first packet from the camera and
 * to the viewer). Conditions that keep it from being a real clinic: browser and agent on one
 * machine (the browser's candidates reach every interface of the box), Chromium with the test
 * flags (no mDNS host names), a shared 2-core machine (absolute figures are noisy).
 *
 * FIRST_FRAME_SESSIONS (10), FIRST_FRAME_PAUSE_MS (0) between sessions, FIRST_FRAME_PAGE=reuse keeps
 * one page open (a new peer connection in it per session) to tell the fresh page's own start apart.
 */
import { Chromium } from "../test/helpers/chromium.ts";
import { AgentProcess } from "../test/helpers/agentProcess.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { TestClient } from "../test/helpers/mqttClient.ts";
import { resultOf } from "../test/helpers/viewerServer.ts";

const SESSIONS = Number(process.env.FIRST_FRAME_SESSIONS ?? 10);
const PAUSE_MS = Number(process.env.FIRST_FRAME_PAUSE_MS ?? 0);
const LOOPBACK = process.env.FIRST_FRAME_LOOPBACK === "1";
/** fresh: a new page per session (as the issue); reuse: one page, a new peer connection per session. */
const PAGE = process.env.FIRST_FRAME_PAGE === "reuse" ? "reuse" : "fresh";
const CAMERA_YAML = "{ id: cam1, source: { type: test, pattern: ball }, width: 1280, height: 720, framerate: 30, maxViewers: 8, bitrateKbps: { min: 2000, start: 2000, max: 2000 } }";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The page: a plain peer connection, a complete offer, and when (Date.now()) each step happened. */
const SESSION = `(async () => {
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
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
  });
  marks.offer = Date.now();
  const offerSdp = pc.localDescription.sdp;
  marks.offerCandidates = offerSdp.split("\\r\\n").filter((line) => line.startsWith("a=candidate:")).length;
  const answer = JSON.parse(await theaRequest(JSON.stringify({ camera: "cam1", sdp: offerSdp })));
  marks.answer = Date.now();
  marks.sessionId = answer.sessionId;
  marks.answerCandidates = answer.sdp.split("\\r\\n").filter((line) => line.startsWith("a=candidate:")).length;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  // The first packet, as the browser's stats see it (polled: stats say when, not the event).
  while (marks.packet === undefined && Date.now() - marks.start < 10000) {
    const report = await pc.getStats();
    for (const entry of report.values()) {
      if (entry.type === "inbound-rtp" && entry.kind === "video" && entry.packetsReceived > 0) marks.packet = Date.now();
    }
    if (marks.packet === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  marks.frame = await Promise.race([firstFrame, new Promise((resolve) => setTimeout(() => resolve(undefined), 10000))]);
  const report = await pc.getStats();
  for (const entry of report.values()) {
    if (entry.type === "inbound-rtp" && entry.kind === "video") Object.assign(marks, { pliCount: entry.pliCount, keyFramesDecoded: entry.keyFramesDecoded, firPackets: entry.firCount });
    if (entry.type === "candidate-pair" && entry.nominated && entry.state === "succeeded") {
      const local = report.get(entry.localCandidateId);
      const remote = report.get(entry.remoteCandidateId);
      marks.pair = local?.address + " ⇄ " + remote?.address;
    }
  }
  pc.close();
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
  pliCount?: number;
  keyFramesDecoded?: number;
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

async function main(): Promise<void> {
  const broker = await Mosquitto.start();
  const browser = await Chromium.launch();
  const operator = await TestClient.connect(broker.url);
  const online = operator.next("thea/v1/first-frame/status", (m) => (m.json() as { online: boolean }).online, 60_000);
  const agent = await AgentProcess.start({
    brokerUrl: broker.url,
    deviceId: "first-frame",
    env: { THEA_LOG_LEVEL: "debug" },
    extraYaml: [`media: { loopbackOnly: ${LOOPBACK} }`, "cameras:", `  - ${CAMERA_YAML}`].join("\n"),
  });
  await online;
  const request = async (name: string, params: object) =>
    resultOf((await operator.request(`thea/v1/first-frame/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body);

  console.log(
    `first frame from ${PAGE === "fresh" ? "a fresh page" : "one page kept open"} per session, complete offer, one recvonly video transceiver, ` +
      `loopbackOnly ${LOOPBACK}, ${SESSIONS} cold sessions (times in ms from the page's start):`,
  );
  const rows: Array<{ marks: PageMarks; agent: AgentSteps }> = [];
  const openPage = async () => {
    const page = await browser.open("about:blank");
    await page.expose("theaRequest", async (body) => JSON.stringify(await request("webrtc.offer", JSON.parse(body) as object)));
    return page;
  };
  const kept = PAGE === "reuse" ? await openPage() : undefined;
  for (let round = 0; round < SESSIONS; round++) {
    await cameraIdle(request);
    if (PAUSE_MS > 0) await sleep(PAUSE_MS);
    const page = kept ?? (await openPage());
    const marks = await page.evaluate<PageMarks>(SESSION);
    if (!kept) await page.close();
    await request("webrtc.close", { sessionId: marks.sessionId }).catch(() => undefined);
    const timeline = agentTimeline(agent.stdout.lines, marks);
    rows.push({ marks, agent: timeline.steps });
    const at = (value: number | undefined) => (value === undefined ? "—" : String(value - marks.start));
    console.log(
      `  session ${round + 1}: offer ${at(marks.offer)} (${marks.offerCandidates} candidates), answer ${at(marks.answer)} (${marks.answerCandidates}), ` +
        `ice ${at(marks.ice)}, dtls ${at(marks.dtls)}, first packet in stats ${at(marks.packet)}, first frame ${at(marks.frame)}; ` +
        `PLIs ${marks.pliCount ?? "—"}, pair ${marks.pair ?? "—"}`,
    );
    for (const line of timeline.lines) console.log(line);
  }
  await kept?.close();
  const median = (values: Array<number | undefined>) => {
    const known = values.filter((value): value is number => value !== undefined).sort((a, b) => a - b);
    return known.length === 0 ? "—" : String(known[Math.floor(known.length / 2)]);
  };
  const page = (from: keyof PageMarks, to: keyof PageMarks) =>
    median(rows.map(({ marks }) => (typeof marks[from] === "number" && typeof marks[to] === "number" ? (marks[to] as number) - (marks[from] as number) : undefined)));
  const agentGap = (from: keyof AgentSteps, to: keyof AgentSteps) =>
    median(rows.map(({ agent: steps }) => (steps[from] !== undefined && steps[to] !== undefined ? (steps[to] as number) - (steps[from] as number) : undefined)));
  console.log(
    `  medians, page: offer sent → first frame ${page("offer", "frame")} ms (page start → first frame ${page("start", "frame")}); ` +
      `answer ${page("offer", "answer")}, ice ${page("offer", "ice")}, dtls ${page("offer", "dtls")} after the offer`,
  );
  console.log(
    `  medians, agent: DTLS connected → first packet to the viewer ${agentGap("dtls", "firstPacket")} ms; ` +
      `pipeline started → playing ${agentGap("pipelineStart", "playing")}, playing → first packet ${agentGap("playing", "firstPacket")}, ` +
      `DTLS connected before the pipeline played in ${rows.filter(({ agent: steps }) => steps.dtls !== undefined && steps.playing !== undefined && steps.dtls < steps.playing).length} of ${rows.length}`,
  );
  console.log(`  medians, first packet sent → first frame in the page ${median(rows.map(({ marks, agent: steps }) => (marks.frame !== undefined && steps.firstPacket !== undefined ? marks.frame - marks.start - steps.firstPacket : undefined)))} ms`);

  await operator.close();
  await agent.stop();
  await browser.close();
  await broker.stop();
  process.exit(0);
}

/** Resolves once the camera is idle (its pipeline stopped), so the next session starts it cold. */
async function cameraIdle(request: (name: string, params: object) => Promise<unknown>): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const sessions = (await request("media.sessions", {})) as { cameras?: Array<{ state: string }> };
    if (sessions.cameras?.every((camera) => camera.state === "idle")) return;
    await sleep(50);
  }
  throw new Error("the camera did not go idle");
}

await main();
