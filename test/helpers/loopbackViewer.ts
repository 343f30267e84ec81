/**
 * A doctor's viewer without a browser: a werift peer that watches a camera through the box's
 * webrtc.offer and connects over 127.0.0.1 (the box runs with media.loopbackOnly). Enough to
 * make a consultation live; the picture itself is checked in Chromium elsewhere.
 */
import { RTCPeerConnection } from "werift";
import { icePolicy } from "../../agent/media/icePolicy.ts";
import { configSchema } from "../../config/schema.ts";

/**
 * A werift peer on 127.0.0.1 under the box's own loopback ICE policy, so it asks no STUN server
 * either (werift would ask a public one). `transceivers` adds its media sections.
 */
export function loopbackPeer(transceivers: (pc: RTCPeerConnection) => void): RTCPeerConnection {
  const ice = icePolicy(configSchema.parse({ mqtt: { url: "mqtt://127.0.0.1" }, media: { loopbackOnly: true } }).media);
  const pc = new RTCPeerConnection({ iceServers: [], ...ice.peerConfig });
  transceivers(pc);
  ice.prepare(pc);
  return pc;
}

type Command = (name: string, params: object) => Promise<{ ok: boolean; result?: Record<string, unknown>; error?: unknown }>;

export async function watchOverLoopback(command: Command, camera: string): Promise<{ sessionId: string; close: () => Promise<void> }> {
  const viewer = loopbackPeer((pc) => pc.addTransceiver("video", { direction: "recvonly" }));
  const connected = new Promise<void>((resolve) => viewer.connectionStateChange.subscribe((state) => state === "connected" && resolve()));
  await viewer.setLocalDescription(await viewer.createOffer());
  const offered = await command("webrtc.offer", { camera, sdp: viewer.localDescription?.sdp ?? "" });
  if (!offered.ok || !offered.result) {
    await viewer.close();
    throw new Error(`webrtc.offer failed: ${JSON.stringify(offered)}`);
  }
  await viewer.setRemoteDescription({ type: "answer", sdp: String(offered.result.sdp) });
  await connected;
  return { sessionId: String(offered.result.sessionId), close: () => viewer.close() };
}
