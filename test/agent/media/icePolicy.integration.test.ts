/**
 * The ICE policy on real werift peer connections: with no STUN server in the config the box asks
 * none (werift on its own falls back to a public one), and a configured one is used. The STUN
 * server here is a real coturn on loopback.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MediaStreamTrack, RTCPeerConnection } from "werift";
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
async function answer(ice: IcePolicy): Promise<RTCPeerConnection> {
  const viewer = loopbackPeer((pc) => pc.addTransceiver("video", { direction: "recvonly" }));
  const box = new RTCPeerConnection({ iceServers: ice.iceServers, ...ice.peerConfig });
  closing.push(() => viewer.close(), () => box.close());
  await viewer.setLocalDescription(await viewer.createOffer());
  box.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
  await box.setRemoteDescription(viewer.localDescription!);
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
});
