/**
 * The ICE policy on real werift peer connections: with no STUN server in the config the box asks
 * none (werift on its own falls back to a public one), and a configured one is used. The STUN
 * server here is a real coturn on loopback. And ICE ends at the viewer's nomination: candidates
 * that come later are not checked before the box reports connected.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createSocket } from "node:dgram";
import { MediaStreamTrack, RTCPeerConnection, type RTCIceCandidatePairStats, type RTCIceCandidateStats, type RTCStats } from "werift";
import { configSchema } from "../../../config/schema.ts";
import { icePolicy, type IcePolicy } from "../../../agent/media/icePolicy.ts";
import { loopbackPeer } from "../../helpers/loopbackViewer.ts";
import { TurnServer } from "../../helpers/turnServer.ts";

const closing: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});

function policy(media: object): IcePolicy {
  return icePolicy(configSchema.parse({ mqtt: { url: "mqtt://127.0.0.1" }, media }).media);
}

/** The box's side of a session as ViewerSession makes it: answers a viewer's offer, gathering. */
async function answer(ice: IcePolicy, viewer = loopbackPeer((pc) => pc.addTransceiver("video", { direction: "recvonly" })), trickled = false): Promise<RTCPeerConnection> {
  const box = new RTCPeerConnection({ iceServers: ice.iceServers, ...ice.peerConfig });
  closing.push(() => viewer.close(), () => box.close());
  await viewer.setLocalDescription(await viewer.createOffer());
  box.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
  const offer = viewer.localDescription!;
  // A trickling viewer's offer: its candidates still to come (none here: its checks show it).
  const sdp = trickled ? offer.sdp.split("\r\n").filter((line) => !/^a=(candidate:|end-of-candidates)/.test(line)).join("\r\n") : offer.sdp;
  await box.setRemoteDescription({ type: "offer", sdp });
  ice.prepare(box);
  await box.setLocalDescription(await box.createAnswer());
  return box;
}

describe("icePolicy", () => {
  it("asks no STUN server when the config names none, and gathers host candidates only", async () => {
    const box = await answer(policy({ loopbackOnly: true }));
    expect(box.iceTransports.map((transport) => transport.connection.stunServer)).toEqual([undefined]);
    expect(box.localDescription?.sdp).toMatch(/typ host/);
    expect(box.localDescription?.sdp).not.toMatch(/typ srflx/);
  });

  it("uses the STUN server the config names: its server-reflexive candidate is in the answer", async () => {
    const stun = await TurnServer.start();
    closing.push(() => stun.stop());
    const box = await answer(policy({ loopbackOnly: true, iceServers: [{ urls: `stun:127.0.0.1:${stun.port}` }] }));
    expect(box.iceTransports.map((transport) => transport.connection.stunServer)).toEqual([["127.0.0.1", stun.port]]);
    expect(box.localDescription?.sdp).toMatch(/typ srflx raddr 127\.0\.0\.1/);
  });

  it("reports connected once the viewer's pair is nominated, without checking the candidates that came after it", async () => {
    const viewer = loopbackPeer((pc) => pc.addTransceiver("video", { direction: "recvonly" }));
    const box = await answer(policy({ loopbackOnly: true }), viewer, true);
    const connected = new Promise<void>((resolve) => box.iceConnectionStateChange.subscribe((state) => state === "connected" && resolve()));
    // Ports where nothing answers (bound, then closed): a viewer's late candidates that lead nowhere.
    const deadPorts = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const socket = createSocket("udp4");
        await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
        const { port } = socket.address();
        await new Promise<void>((resolve) => socket.close(resolve));
        return port;
      }),
    );
    // The late candidates arrive right after the nomination (checked at every turn of the event
    // loop: werift nominates on a packet, and its check loop runs on a 20 ms timer, so they always
    // come between the two).
    const [transport] = box.iceTransports;
    if (!transport) throw new Error("the box has no ICE transport");
    const lateCandidates = new Promise<void>((resolve) => {
      const poll = () => {
        if (transport.connection.nominated === undefined) return void setImmediate(poll);
        for (const [index, port] of deadPorts.entries()) {
          void box.addIceCandidate({ candidate: `candidate:late${index} 1 udp 2113937151 127.0.0.1 ${port} typ host`, sdpMid: "0", sdpMLineIndex: 0 });
        }
        resolve();
      };
      poll();
    });
    await viewer.setRemoteDescription(box.localDescription!);
    await lateCandidates;
    await connected;
    const stats = [...(await box.getStats()).values()];
    const ports = new Map(stats.flatMap((entry) => (isStats<RTCIceCandidateStats>(entry, "remote-candidate") ? [[entry.id, entry.port] as const] : [])));
    const late = stats.filter((entry) => isStats<RTCIceCandidatePairStats>(entry, "candidate-pair") && deadPorts.includes(ports.get(entry.remoteCandidateId) ?? 0));
    expect(late).toHaveLength(deadPorts.length);
    expect(late.map((pair) => (pair as RTCIceCandidatePairStats).requestsSent)).toEqual(deadPorts.map(() => 0));
  });
});

function isStats<T extends RTCStats>(entry: RTCStats, type: T["type"]): entry is T {
  return entry.type === type;
}
