/**
 * What one credential can make the box's media do, on the real agent and mosquitto: an offer
 * asking for hundreds of transports, a flood of offers, a flood of candidates, candidates that
 * point at the box itself, and sessions that never connect. Each is refused with an answer
 * (invalid-params or too-many-viewers), at once, without werift opening anything for it; a
 * viewer already watching goes on. Viewers are werift peers on 127.0.0.1 (loopbackViewer.ts).
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RTCPeerConnection } from "werift";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { loopbackPeer } from "../../helpers/loopbackViewer.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();

interface Answer {
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}
type Command = (name: string, params?: object) => Promise<Answer>;

const cameraYaml = (media: string) =>
  [`media: ${media}`, "cameras:", "  - { id: cam1, source: { type: test }, codec: vp8, width: 320, height: 240, maxViewers: 4 }"].join("\n");

async function startAgent(media: string): Promise<{ agent: AgentProcess; command: Command }> {
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, extraYaml: cameraYaml(media) });
  fixture.cleanup(() => agent.stop());
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
  const command: Command = async (name, params = {}) =>
    (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body as Answer;
  return { agent, command };
}

/** The agent's open file descriptors (sockets included). */
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** A viewer's offer as werift makes it (one bundled video section), without gathering. */
async function plainOffer(): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("video", { direction: "recvonly" });
  const { sdp } = await pc.createOffer();
  await pc.close();
  return sdp;
}

/** The same offer with its video section repeated `sections` times and no BUNDLE group (~430 bytes each). */
function unbundled(offer: string, sections: number): string {
  const start = offer.indexOf("m=");
  const session = offer.slice(0, start).replace(/^a=group:BUNDLE.*\r\n/m, "");
  const section = offer.slice(start);
  return session + Array.from({ length: sections }, (_, mid) => section.replace(/^a=mid:0$/m, `a=mid:${mid}`)).join("");
}

/** Sends an offer and times the answer, printing it (the refusals should take milliseconds). */
async function timedOffer(command: Command, what: string, sdp: string): Promise<Answer> {
  const started = performance.now();
  const answer = await command("webrtc.offer", { camera: "cam1", sdp });
  console.log(`${what} (${sdp.length} chars): ${answer.ok ? "answered" : answer.error?.code} in ${Math.round(performance.now() - started)} ms`);
  return answer;
}

/** A viewer that watches and connects; resolves with a way to wait for its next RTP packets. */
async function watchingViewer(command: Command): Promise<{ sessionId: string; packets: (count: number) => Promise<void>; close: () => Promise<void> }> {
  const viewer = loopbackPeer((pc) => pc.addTransceiver("video", { direction: "recvonly" }));
  fixture.cleanup(() => viewer.close());
  let received = 0;
  viewer.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => (received += 1)));
  const connected = new Promise<void>((resolve) => viewer.connectionStateChange.subscribe((state) => state === "connected" && resolve()));
  await viewer.setLocalDescription(await viewer.createOffer());
  const offered = await command("webrtc.offer", { camera: "cam1", sdp: viewer.localDescription?.sdp ?? "" });
  if (!offered.ok || !offered.result) throw new Error(`webrtc.offer failed: ${JSON.stringify(offered)}`);
  await viewer.setRemoteDescription({ type: "answer", sdp: String(offered.result.sdp) });
  await connected;
  const packets = (count: number) => {
    const target = received + count;
    return waitFor<void>(() => `${count} more RTP packets (${received} of ${target})`, 20_000, (done) => {
      const timer = setInterval(() => received >= target && done(), 50);
      return () => clearInterval(timer);
    });
  };
  return { sessionId: String(offered.result.sessionId), packets, close: () => viewer.close() };
}

describe("bounded offers and sessions", () => {
  it("refuses an offer asking for many unbundled sections at once, and opens nothing for it", async () => {
    const { agent, command } = await startAgent("{ loopbackOnly: true }");
    const offer = await plainOffer();
    expect((await command("ping")).ok).toBe(true);
    const before = openFiles(agent.pid);

    // The reported one (as many sections as fit in 60 kB), one of 20 sections, and eight of the first at once.
    const reported = Math.floor(60_000 / unbundled(offer, 1).length);
    const single = [await timedOffer(command, `${reported} unbundled sections`, unbundled(offer, reported)), await timedOffer(command, "20 unbundled sections", unbundled(offer, 20))];
    const flood = await Promise.all(Array.from({ length: 8 }, (_, n) => timedOffer(command, `flood ${n}`, unbundled(offer, reported))));
    const opened = openFiles(agent.pid) - before;
    console.log(`descriptors opened by the agent for them: ${opened}`);

    expect([...single, ...flood].map((answer) => answer.error?.code)).toEqual(Array(10).fill("invalid-params"));
    // Nothing was opened (a few descriptors of slack for the agent's own comings and goings).
    expect(opened).toBeLessThanOrEqual(5);
    expect(await command("media.sessions")).toMatchObject({ ok: true, result: { sessions: [], cameras: [{ state: "idle", viewers: 0 }] } });
    expect((await command("ping")).ok).toBe(true);
  });

  it("refuses a flood of offers beyond the connecting cap, candidates beyond the limit, and does not count sessions that never connect", async () => {
    const { agent, command } = await startAgent("{ loopbackOnly: true, sessionTimeoutSec: 120 }");
    const viewer = await watchingViewer(command);
    await viewer.packets(10);

    // Eight offers at once, none of which will connect: media.maxConnectingPerCamera (2) are taken.
    const offer = await plainOffer();
    const flood = await Promise.all(Array.from({ length: 8 }, (_, n) => timedOffer(command, `offer ${n} of a flood`, offer)));
    const codes = flood.map((answer) => (answer.ok ? "ok" : answer.error?.code));
    expect(codes.filter((code) => code === "ok")).toHaveLength(2);
    expect(codes.filter((code) => code === "too-many-viewers")).toHaveLength(6);
    await viewer.packets(30); // the doctor already watching is not disturbed

    // A connecting session takes at most 32 candidates, trickled or in its offer.
    const pending = String(flood.find((answer) => answer.ok)?.result?.sessionId);
    const trickle = (n: number) =>
      command("webrtc.candidate", { sessionId: pending, candidate: { candidate: `candidate:${n} 1 udp 2122260223 127.0.0.1 ${40_000 + n} typ host`, sdpMid: "0", sdpMLineIndex: 0 } });
    for (let n = 0; n < 32; n += 1) expect(await trickle(n)).toMatchObject({ ok: true });
    expect(await trickle(32)).toMatchObject({ ok: false, error: { code: "invalid-params", message: expect.stringContaining("32 candidates") } });

    // Only the connected viewer is a consultation; with it gone, the two connecting sessions hold nothing off.
    expect(await command("agent.restart")).toMatchObject({ ok: false, error: { code: "consultation-live", message: expect.stringContaining("1 viewer session(s)") } });
    expect(await command("webrtc.close", { sessionId: viewer.sessionId })).toMatchObject({ ok: true });
    const left = (await command("media.sessions")).result?.sessions as Array<{ connectedAt?: string }>;
    expect(left).toHaveLength(2);
    expect(left.every((session) => session.connectedAt === undefined)).toBe(true);
    expect(await command("agent.restart")).toMatchObject({ ok: true, result: { restarting: true } });
    await agent.waitForExit(15_000);
  });

  it("refuses a viewer's candidates on loopback, link-local or named addresses unless media is confined to loopback", async () => {
    const { command } = await startAgent("{ loopbackOnly: false }");
    const offered = await timedOffer(command, "an offer to a box on every interface", await plainOffer());
    expect(offered).toMatchObject({ ok: true });
    const sessionId = String(offered.result?.sessionId);
    const trickle = (address: string) =>
      command("webrtc.candidate", { sessionId, candidate: { candidate: `candidate:1 1 udp 2122260223 ${address} 50000 typ host`, sdpMid: "0", sdpMLineIndex: 0 } });
    for (const address of ["127.0.0.1", "169.254.169.254", "fe80::1", "::1", "localhost"]) {
      expect(await trickle(address), address).toMatchObject({ ok: false, error: { code: "invalid-params" } });
    }
    expect(await trickle("192.0.2.10")).toMatchObject({ ok: true });
    expect(await command("webrtc.close", { sessionId })).toMatchObject({ ok: true });
  });
});
