/**
 * Live video end to end: a real headless Chromium, as the doctor's browser, watches a test
 * camera through the agent. The browser's offer goes over MQTT to the agent's webrtc.offer
 * command (the test relays it, as a hospital web app would), the agent answers with werift, and
 * the picture comes from a real GStreamer pipeline (videotestsrc → x264 → RTP). Media stays on
 * 127.0.0.1 (media.loopbackOnly).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TestClient, type ReceivedMessage } from "../../helpers/mqttClient.ts";
import { hostCandidatePort, LossyRelay, redirectAnswer } from "../../helpers/lossyRelay.ts";
import { TurnServer } from "../../helpers/turnServer.ts";
import { eventually, pageReaches, useBrowser } from "../../helpers/browserFixture.ts";
import type { Page } from "../../helpers/chromium.ts";
import type { ConsoleServer } from "../../../tools/console/server.ts";
import { openHarness, resultOf, startConsoleServer } from "../../helpers/consoleServer.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const chrome = useBrowser(fixture);

const CAMERA_YAML = [
  "media: { loopbackOnly: true }",
  "cameras:",
  "  - { id: cam1, source: { type: test, pattern: ball }, width: 640, height: 360, framerate: 30, maxViewers: 2 }",
].join("\n");

interface Stats {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  framesPerSecond: number;
  freezeCount: number;
  nackCount: number;
  packetsLost: number;
  codec?: string;
}

async function startAgent(
  cameraYaml = CAMERA_YAML,
): Promise<{ agent: AgentProcess; command: (name: string, params?: object) => Promise<unknown> }> {
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, extraYaml: cameraYaml });
  fixture.cleanup(() => agent.stop());
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
  const command = async (name: string, params: object = {}) =>
    (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body;
  return { agent, command };
}

type Command = (name: string, params?: object) => Promise<unknown>;

/**
 * A harness page whose viewer's signalling goes to the agent's commands (the answer may be
 * rewritten). Without `trickle`, the browser's candidates never reach the agent: the only way in is
 * the address in the answer.
 */
async function viewerPage(
  command: Command,
  rewriteAnswer: (sdp: string) => Promise<string> = async (sdp) => sdp,
  { trickle = true }: { trickle?: boolean } = {},
): Promise<Page> {
  const page = await openHarness(chrome.browser, chrome.server, async (name, params) => {
    if (name === "webrtc.candidate" && !trickle) return {};
    if (name === "webrtc.offer" && !trickle) params = withoutCandidates(params as { sdp: string });
    const result = resultOf(await command(name, params));
    if (name !== "webrtc.offer") return result;
    const { sessionId, sdp } = result as { sessionId: string; sdp: string };
    return { sessionId, sdp: await rewriteAnswer(sdp) };
  });
  fixture.cleanup(() => page.close());
  return page;
}

/** An offer without the candidates the browser may have gathered into it already. */
function withoutCandidates<Params extends { sdp: string }>(params: Params): Params {
  return { ...params, sdp: params.sdp.replace(/^a=candidate:.*\r?\n/gm, "") };
}

/** Starts watching cam1 in the harness page; `options` are more of watch()'s (as JSON). */
const watchWith = (options: object) => `(async () => {
  window.viewer = await watch({
    video: document.getElementById("video"),
    camera: "cam1",
    request: (name, params) => theaRequest(JSON.stringify({ name, params })),
    ...${JSON.stringify(options)},
  });
  return window.viewer.sessionId;
})()`;
const WATCH = watchWith({});

/** The pipeline host processes the agent runs (children running agent/media/host.ts). */
function pipelineHosts(agentPid: number): number[] {
  let out: string;
  try {
    out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(agentPid)], { encoding: "utf8" });
  } catch (error) {
    if ((error as { status?: number }).status === 1) return []; // ps found no child at all
    throw error;
  }
  return out
    .split("\n")
    .filter((line) => line.includes("media/host.ts"))
    .map((line) => Number.parseInt(line.trim(), 10));
}

/** The largest 16-bit sample in a WAV file so far (0 when it holds none yet). */
async function peakOfWav(file: string): Promise<number> {
  const bytes = await readFile(file).catch(() => Buffer.alloc(0));
  let peak = 0;
  for (let at = 44; at + 1 < bytes.length; at += 2) peak = Math.max(peak, Math.abs(bytes.readInt16LE(at)));
  return peak;
}

/**
 * A fresh client armed for one event type. (The file's shared watcher, by then subscribed to
 * hundreds of reply topics, has been seen to miss a non-retained event a fresh client received.)
 */
async function eventWatch(agent: AgentProcess, type: string): Promise<{ message: Promise<ReceivedMessage> }> {
  const client = await TestClient.connect(fixture.broker.url);
  fixture.cleanup(() => client.close());
  return client.armed(`thea/v1/${agent.deviceId}/event`, (m) => (m.json() as { type: string }).type === type);
}

/**
 * A harness page whose media to and from the agent passes through a LossyRelay, and only through it:
 * were the browser's own candidates trickled to the agent, the agent's checks to them would give the
 * browser a second, direct path (a peer-reflexive pair) that it switches to when the relay is cut.
 */
async function viewerBehindRelay(command: Command): Promise<{ page: Page; relay: () => LossyRelay }> {
  let relay: LossyRelay | undefined;
  const page = await viewerPage(
    command,
    async (sdp) => {
      const started = await LossyRelay.start(hostCandidatePort(sdp));
      relay = started;
      fixture.cleanup(() => started.close());
      return redirectAnswer(sdp, started.port);
    },
    { trickle: false },
  );
  return {
    page,
    relay: () => {
      if (!relay) throw new Error("the answer did not pass through the relay");
      return relay;
    },
  };
}

function framesDecoded(page: Page, atLeast: number): Promise<Stats> {
  return pageReaches<Stats>(page, `${atLeast} decoded frames`, "window.viewer.stats()", (stats) => stats.framesDecoded >= atLeast);
}

describe("watching a camera in a real browser", () => {
  it("shows the camera's picture, shares one encode between viewers, and stops it when they leave", async () => {
    const { agent, command } = await startAgent();
    expect(await command("media.sessions")).toMatchObject({ ok: true, result: { sessions: [], cameras: [{ id: "cam1", state: "idle" }] } });

    const answers: string[] = [];
    const page = await viewerPage(command, async (sdp) => (answers.push(sdp), sdp));
    const sessionId = await page.evaluate<string>(WATCH);
    // The box is the DTLS server: the browser's hello starts the handshake at once (docs/media.md).
    expect(answers[0]).toMatch(/^a=setup:passive\r?$/m);
    await framesDecoded(page, 30);
    // Two seconds on, the browser's own figures: the configured size, ~30 fps, no freezes.
    const stats = await framesDecoded(page, 90);
    expect(stats).toMatchObject({ frameWidth: 640, frameHeight: 360, codec: "video/H264", freezeCount: 0 });
    expect(stats.framesPerSecond).toBeGreaterThanOrEqual(25);

    const live = (await command("media.sessions")) as { result: { sessions: unknown[]; cameras: unknown[] } };
    expect(live.result.sessions).toEqual([expect.objectContaining({ sessionId, camera: "cam1", state: "connected" })]);
    expect(live.result.cameras).toEqual([expect.objectContaining({ id: "cam1", state: "playing", viewers: 1, encoder: "x264enc" })]);

    // A second viewer shares the encode: one pipeline process, two sessions.
    const second = await viewerPage(command);
    await second.evaluate(WATCH);
    await framesDecoded(second, 30);
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [{}, {}], cameras: [{ viewers: 2, restarts: 0 }] } });
    expect(pipelineHosts(agent.pid)).toHaveLength(1);
    await second.evaluate("window.viewer.close()");

    await page.evaluate("window.viewer.close()");
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ id: "cam1", state: "idle", viewers: 0 }] } });
    expect(pipelineHosts(agent.pid)).toEqual([]);
  });

  it("streams VP8 for a camera set to it", async () => {
    const { command } = await startAgent(CAMERA_YAML.replace("maxViewers: 2 }", "maxViewers: 2, codec: vp8 }"));
    const page = await viewerPage(command);
    await page.evaluate(WATCH);
    expect(await framesDecoded(page, 15)).toMatchObject({ codec: "video/VP8", frameWidth: 640, frameHeight: 360 });
    expect(await command("media.sessions")).toMatchObject({ result: { cameras: [{ encoder: "vp8enc", state: "playing" }] } });
    await page.evaluate("window.viewer.close()");
  });

  it("gives a viewer that only takes VP8 its own encode of an H.264 camera, without cutting off the H.264 viewer", async () => {
    const { agent, command } = await startAgent();
    const h264 = await viewerPage(command);
    await h264.evaluate(WATCH);
    await framesDecoded(h264, 15);
    const vp8 = await viewerPage(command);
    await vp8.evaluate(watchWith({ videoCodecs: ["video/VP8"] }));
    expect(await framesDecoded(vp8, 30)).toMatchObject({ codec: "video/VP8", frameWidth: 640, frameHeight: 360 });
    // The first viewer goes on (the pipeline was relaunched with a second encoder) in H.264.
    const before = (await framesDecoded(h264, 1)).framesDecoded;
    expect(await framesDecoded(h264, before + 30)).toMatchObject({ codec: "video/H264" });
    expect(await command("media.sessions")).toMatchObject({
      result: { sessions: expect.arrayContaining([expect.objectContaining({ codec: "h264" }), expect.objectContaining({ codec: "vp8" })]), cameras: [{ encoding: ["h264", "vp8"], viewers: 2 }] },
    });
    expect(pipelineHosts(agent.pid)).toHaveLength(1); // one picture source, two encoders
    await vp8.evaluate("window.viewer.close()");
    await h264.evaluate("window.viewer.close()");
  });

  it("sends the camera's sound as Opus with the picture", async () => {
    const { command } = await startAgent(
      ["media: { loopbackOnly: true }", "cameras:", "  - { id: cam1, source: { type: test }, width: 320, height: 240, audio: { source: { type: test } } }"].join("\n"),
    );
    const page = await viewerPage(command);
    await page.evaluate(WATCH);
    await framesDecoded(page, 10);
    const audio = await pageReaches<{ packetsReceived: number; codec: string } | null>(
      page,
      "half a second of Opus frames",
      "window.viewer.audioStats()",
      (stats) => (stats?.packetsReceived ?? 0) >= 25,
    );
    expect(audio?.codec).toBe("audio/opus");
    await page.evaluate("window.viewer.close()");
  });

  it("takes a snapshot of an idle camera, and of one being watched, as JPEGs a browser decodes", async () => {
    const { agent, command } = await startAgent();
    const page = await viewerPage(command);
    const decode = (jpegBase64: string) =>
      page.evaluate<number[]>(`new Promise((resolve, reject) => {
        const image = new Image();
        image.onload = () => resolve([image.naturalWidth, image.naturalHeight]);
        image.onerror = () => reject(new Error("not a JPEG the browser can decode"));
        image.src = "data:image/jpeg;base64,${jpegBase64}";
      })`);
    type Snapshot = { result: { contentType: string; width: number; height: number; jpegBase64: string } };

    const idle = (await command("camera.snapshot", { camera: "cam1" })) as Snapshot;
    expect(idle.result).toMatchObject({ contentType: "image/jpeg", width: 640, height: 360 });
    expect(await decode(idle.result.jpegBase64)).toEqual([640, 360]);
    expect(await command("media.sessions")).toMatchObject({ result: { cameras: [{ state: "idle", viewers: 0 }] } });
    expect(pipelineHosts(agent.pid)).toEqual([]); // started for the snapshot, stopped after

    await page.evaluate(WATCH);
    const watched = await framesDecoded(page, 10);
    const during = (await command("camera.snapshot", { camera: "cam1" })) as Snapshot;
    expect(await decode(during.result.jpegBase64)).toEqual([640, 360]);
    expect((await framesDecoded(page, watched.framesDecoded + 10)).framesDecoded).toBeGreaterThan(watched.framesDecoded);
    await page.evaluate("window.viewer.close()");
  });

  it("plays the doctor's microphone on the clinic's speaker (talk-back), one talker at a time", async () => {
    const wav = path.join(await mkdtemp(path.join(tmpdir(), "thea-talkback-")), "speaker.wav");
    const { agent, command } = await startAgent(
      CAMERA_YAML.replace("maxViewers: 2 }", `maxViewers: 2, audio: { source: { type: test } }, talkback: { sink: { type: wav, path: "${wav}" } } }`),
    );
    const doctor = await viewerPage(command);
    await doctor.evaluate(watchWith({ talkback: true }));
    await framesDecoded(doctor, 10);
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [{ talking: true }] } });
    // Chromium's fake microphone beeps: the speaker's file fills with sound that is not silence.
    const loudest = await eventually(doctor, "the doctor's voice in the speaker's file", () => peakOfWav(wav), (peak) => peak > 1000);
    expect(loudest).toBeGreaterThan(1000);

    const colleague = await viewerPage(command);
    await colleague.evaluate(watchWith({ talkback: true }));
    await agent.waitForLog("talk-back: another viewer has the speaker");

    await colleague.evaluate("window.viewer.close()");
    await doctor.evaluate("window.viewer.close()");
    expect(pipelineHosts(agent.pid)).toEqual([]); // the speaker's pipeline stopped with its talker
  });

  it("survives its pipeline process being killed: reports it, restarts it, and the picture comes back", async () => {
    const { agent, command } = await startAgent();
    const page = await viewerPage(command);
    await page.evaluate(WATCH);
    const before = await framesDecoded(page, 15);
    const [host] = pipelineHosts(agent.pid);
    expect(host).toBeGreaterThan(0);

    const reported = (await eventWatch(agent, "camera.failed")).message;
    process.kill(host ?? 0, "SIGKILL");
    expect((await reported).json()).toMatchObject({ camera: "cam1", reason: expect.stringContaining("SIGKILL") });

    const after = await framesDecoded(page, before.framesDecoded + 30);
    expect(after.frameWidth).toBe(640);
    expect(await command("media.sessions")).toMatchObject({ result: { cameras: [{ state: "playing", restarts: 1, viewers: 1 }] } });
    await page.evaluate("window.viewer.close()");
    expect(pipelineHosts(agent.pid)).toEqual([]);
  });

  it("reports a camera whose device is missing, and keeps serving commands", async () => {
    const { agent, command } = await startAgent(
      ["media: { loopbackOnly: true }", "cameras:", '  - { id: cam1, source: { type: v4l2, device: "/dev/video-missing" } }'].join("\n"),
    );
    const page = await viewerPage(command);
    const reported = (await eventWatch(agent, "camera.failed")).message;
    await page.evaluate(WATCH);
    expect((await reported).json()).toMatchObject({ camera: "cam1", reason: expect.stringContaining("camera device /dev/video-missing is not there") });
    expect(await command("ping")).toMatchObject({ ok: true });
    expect(await command("camera.snapshot", { camera: "cam1" })).toMatchObject({
      ok: false,
      error: { code: "media-failed", message: expect.stringContaining("/dev/video-missing is not there") },
    });
    expect(await command("media.sessions")).toMatchObject({ result: { cameras: [{ lastError: expect.stringContaining("video-missing") }] } });
    await page.evaluate("window.viewer.close()");
  });

  it("works from the viewer page itself: MQTT over WebSocket, the picture, and its last will when the tab goes", async () => {
    const { agent } = await startAgent();
    const own = await startConsoleServer(fixture.broker.port); // stopped below, mid-view
    fixture.cleanup(() => own.stop());
    const broker = `ws://127.0.0.1:${own.port}/mqtt`;
    const page = await chrome.browser.open(own.url(`/?broker=${encodeURIComponent(broker)}&device=${agent.deviceId}&camera=cam1`));
    fixture.cleanup(() => page.close());
    const stats = await pageReaches<Stats | null>(page, "the viewer page's picture", "window.theaViewer?.stats() ?? null", (s) => (s?.framesDecoded ?? 0) >= 10);
    expect(stats).toMatchObject({ frameWidth: 640, frameHeight: 360 });
    expect(await page.evaluate<string>("document.getElementById('state').textContent")).toBe("connected");

    // The tab's network vanishes: the WebSocket is cut without MQTT DISCONNECT, so the broker
    // publishes the page's will and the box ends the session.
    const closed = agent.waitForLog("the viewer's MQTT client went away");
    await own.stop(); // takes every bridged connection down with it
    await closed;
  });

  it("ends the session when the viewer's MQTT client vanishes (its last will)", async () => {
    const { agent, command } = await startAgent();
    const viewerId = "doctor-7";
    const gone = { topic: `thea/v1/${agent.deviceId}/webrtc/viewers/${viewerId}/gone`, payload: Buffer.alloc(0), qos: 1 as const };
    const viewerClient = await TestClient.connect(fixture.broker.url, { will: gone, reconnectPeriod: 0 });
    const viaViewer: Command = async (name, params = {}) =>
      (await viewerClient.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(name === "webrtc.offer" ? { ...params, viewerId } : params))).body;
    const page = await viewerPage(viaViewer);
    await page.evaluate(WATCH);
    await framesDecoded(page, 10);

    const closed = agent.waitForLog("the viewer's MQTT client went away");
    viewerClient.client.stream.destroy(); // the browser's tab crashed or its network went away
    await closed;
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ state: "idle", viewers: 0 }] } });
    expect(pipelineHosts(agent.pid)).toEqual([]);
  });

  it("raises the encoder's bitrate while the viewer reports no loss, up to the camera's max", async () => {
    const { command } = await startAgent(
      [
        "media: { loopbackOnly: true }",
        "cameras:",
        "  - { id: cam1, source: { type: test }, width: 320, height: 240, bitrateKbps: { min: 200, start: 300, max: 400 } }",
      ].join("\n"),
    );
    const page = await viewerPage(command);
    await page.evaluate(WATCH);
    await framesDecoded(page, 10);
    type Sessions = { result: { cameras: Array<{ bitrateKbps: number }>; sessions: Array<{ estimateKbps?: number }> } };
    // Chromium reports ~0 % loss on loopback each second; the law grows the rate 5 % per report.
    const reached = await eventually(
      page,
      "the bitrate to reach the camera's max",
      async () => (await command("media.sessions")) as Sessions,
      (sessions) => sessions.result.cameras[0]?.bitrateKbps === 400,
    );
    expect(reached.result.sessions[0]?.estimateKbps).toBeGreaterThanOrEqual(400);
    await page.evaluate("window.viewer.close()");
  });

  it.each(["udp", "tcp", "tls"] as const)("relays the media through a TURN server (%s) when both ends must use relays", async (transport) => {
    const turn = await TurnServer.start({ tls: transport === "tls" });
    fixture.cleanup(() => turn.stop());
    const { agent, command } = await startAgent(
      [
        "media:",
        "  loopbackOnly: true",
        "  iceTransportPolicy: relay",
        ...(turn.caPath ? [`  turnTlsCa: "${turn.caPath}"`] : []),
        `  iceServers: [{ urls: "${turn.url(transport)}", username: ${turn.username}, credential: ${turn.credential} }]`,
        "cameras:",
        "  - { id: cam1, source: { type: test }, width: 320, height: 240 }",
      ].join("\n"),
    );
    const page = await viewerPage(command);
    // The browser relays too: it offers no loopback candidates of its own, and a hospital behind
    // a strict firewall would be configured the same way.
    const browserIce = { urls: turn.url("udp"), username: turn.username, credential: turn.credential };
    await page.evaluate(watchWith({ iceServers: [browserIce], iceTransportPolicy: "relay" }));
    await framesDecoded(page, 10);
    const remote = await page.evaluate<{ candidateType: string; protocol: string }>(`(async () => {
      const stats = [...(await window.viewer.pc.getStats()).values()];
      const pair = stats.find((entry) => entry.type === "candidate-pair" && entry.nominated && entry.state === "succeeded");
      return stats.find((entry) => entry.id === pair.remoteCandidateId);
    })()`);
    expect(remote.candidateType).toBe("relay"); // the box's side of the path is its TURN allocation
    expect(turn.allocations).toBeGreaterThan(0);
    expect(agent.stdout.text).not.toContain(turn.credential);
    await page.evaluate("window.viewer.close()");
  });

  it("ends a session whose browser closed its side without a word", async () => {
    const { agent, command } = await startAgent();
    const page = await viewerPage(command);
    await page.evaluate(WATCH);
    await framesDecoded(page, 10);
    const closed = agent.waitForLog("viewing session closed");
    await page.evaluate("window.viewer.pc.close()"); // no webrtc.close, as when a tab is closed
    expect(await closed).toContain("the viewer closed the connection");
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ state: "idle" }] } });
  });

  it("ends a session that never connects, after media.sessionTimeoutSec", async () => {
    const { agent, command } = await startAgent(CAMERA_YAML.replace("media: { loopbackOnly: true }", "media: { loopbackOnly: true, sessionTimeoutSec: 5 }"));
    const page = await viewerPage(command);
    // An offer whose answer is never applied: the browser never starts ICE.
    await page.evaluate(`(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver("video", { direction: "recvonly" });
      await pc.setLocalDescription(await pc.createOffer());
      await theaRequest(JSON.stringify({ name: "webrtc.offer", params: { camera: "cam1", sdp: pc.localDescription.sdp } }));
    })()`);
    const pending = (await command("media.sessions")) as { result: { sessions: Array<{ connectedAt?: string }> } };
    expect(pending.result.sessions).toHaveLength(1);
    expect(pending.result.sessions[0]?.connectedAt).toBeUndefined();
    expect(await agent.waitForLog("viewing session closed", 15_000)).toContain("did not connect in time");
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ state: "idle", viewers: 0 }] } });
  });

  it("over a lossy link: the browser asks for resends, the bitrate steps down, and the picture recovers", async () => {
    const { command } = await startAgent(
      ["media: { loopbackOnly: true }", "cameras:", "  - { id: cam1, source: { type: test, pattern: ball }, width: 640, height: 360, bitrateKbps: { min: 200, start: 1500, max: 2500 } }"].join("\n"),
    );
    const { page, relay: relayed } = await viewerBehindRelay(command);
    await page.evaluate(WATCH);
    const before = await framesDecoded(page, 30);
    const relay = relayed();
    type Sessions = { result: { cameras: Array<{ bitrateKbps: number }> } };

    relay.dropRate = 0.4; // a very poor link: resends repair much of it, what is left is over 10 %
    // The browser notices first (on a loaded machine its own estimate may lower the rate before any loss).
    // packetsLost falls again as resends arrive (it counts what is still missing), so a loss seen once counts.
    let lossSeen = false;
    await eventually(
      page,
      "the browser to see loss and ask for resends",
      () => page.evaluate<Stats>("window.viewer.stats()"),
      (stats) => (lossSeen ||= stats.packetsLost > 0) && stats.nackCount > 0,
      45_000,
    );
    // Each step waits for receiver reports over a loaded machine's event loop: allow for a slow one.
    const stepped = await eventually(page, "the bitrate to step down", async () => (await command("media.sessions")) as Sessions, (s) => (s.result.cameras[0]?.bitrateKbps ?? 1500) <= 1000, 45_000);
    expect(stepped.result.cameras[0]?.bitrateKbps).toBeGreaterThanOrEqual(200);
    const lossy = await page.evaluate<Stats>("window.viewer.stats()");
    expect(lossy.nackCount).toBeGreaterThan(0); // the browser asked for what it missed
    expect(lossSeen).toBe(true);
    expect(relay.dropped).toBeGreaterThan(0);

    relay.dropRate = 0;
    const after = await framesDecoded(page, lossy.framesDecoded + 60);
    expect(after.framesDecoded).toBeGreaterThan(before.framesDecoded);
    await page.evaluate("window.viewer.close()");
  }, 75_000);

  it("ends the session when ICE fails: the link goes silent and consent expires", async () => {
    const { agent, command } = await startAgent();
    const { page, relay } = await viewerBehindRelay(command);
    await page.evaluate(WATCH);
    await framesDecoded(page, 10);
    const closed = agent.waitForLog("viewing session closed", 50_000);
    relay().cut = true;
    expect(await closed).toMatch(/connection (failed|closed)/);
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ state: "idle" }] } });
  }, 70_000);

  it("publishes the box's candidates found while answering on the trickle topic, in the shape a browser takes", async () => {
    const turn = await TurnServer.start();
    fixture.cleanup(() => turn.stop());
    const { agent, command } = await startAgent(
      [
        "media:",
        "  loopbackOnly: true",
        "  iceTransportPolicy: relay",
        "  answerGatherMs: 0 # answer at once: the relay allocation finishes while the answer is on its way",
        `  iceServers: [{ urls: "${turn.url("udp")}", username: ${turn.username}, credential: ${turn.credential} }]`,
        "cameras:",
        "  - { id: cam1, source: { type: test }, width: 320, height: 240 }",
      ].join("\n"),
    );
    // The viewer's side of the trickle topic, as the console subscribes to it: every candidate the
    // box publishes is handed to the page's peer connection once it exists.
    const trickled: unknown[] = [];
    const listener = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => listener.close());
    listener.client.on("message", (topic, payload) => topic.endsWith("/candidate") && trickled.push(JSON.parse(payload.toString())));
    await listener.client.subscribeAsync(`thea/v1/${agent.deviceId}/webrtc/+/candidate`, { qos: 1 });

    const page = await viewerPage(command);
    const browserIce = { urls: turn.url("udp"), username: turn.username, credential: turn.credential };
    await page.evaluate(watchWith({ iceServers: [browserIce], iceTransportPolicy: "relay" }));
    const relayed = await eventually(page, "a relay candidate trickled", async () => trickled.length, (count) => count > 0);
    expect(relayed).toBeGreaterThan(0);
    expect(trickled[0]).toMatchObject({ candidate: expect.stringContaining("typ relay") });
    for (const candidate of trickled) await page.evaluate(`window.viewer.pc.addIceCandidate(${JSON.stringify(candidate)})`);
    await framesDecoded(page, 10);
  });

  it("refuses a viewer beyond the camera's maxViewers", async () => {
    const { command } = await startAgent(
      ["media: { loopbackOnly: true }", "cameras:", "  - { id: cam1, source: { type: test }, width: 320, height: 240, maxViewers: 1 }"].join("\n"),
    );
    const first = await viewerPage(command);
    await first.evaluate(WATCH);
    const second = await viewerPage(command);
    await expect(second.evaluate(WATCH)).rejects.toThrow(/too-many-viewers/);
    await first.evaluate("window.viewer.close()");
  });

  it("refuses what it cannot serve with clear errors", async () => {
    const { command } = await startAgent();
    expect(await command("webrtc.offer", { camera: "attic", sdp: "v=0" })).toMatchObject({ ok: false, error: { code: "unknown-camera" } });
    expect(await command("webrtc.offer", { camera: "cam1", sdp: "not an offer" })).toMatchObject({ ok: false, error: { code: "invalid-params" } });
    expect(await command("webrtc.offer", { camera: "cam1" })).toMatchObject({ ok: false, error: { code: "invalid-params" } });
    expect(await command("webrtc.close", { sessionId: "4b0c8f7e-3f5e-4d7a-9d8e-2c1f0a9b8c7d" })).toMatchObject({
      ok: false,
      error: { code: "unknown-session" },
    });
    // Nothing was left running by the refused offers.
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [], cameras: [{ state: "idle", viewers: 0 }] } });
  });
});
