/**
 * A doctor's viewer without a browser: a werift peer that watches a camera through the box's
 * webrtc.offer and connects over 127.0.0.1 (the box runs with media.loopbackOnly). Enough to
 * make a consultation live; the picture itself is checked in Chromium elsewhere.
 */
import { RTCPeerConnection } from "werift";

type Command = (name: string, params: object) => Promise<{ ok: boolean; result?: Record<string, unknown>; error?: unknown }>;

export async function watchOverLoopback(command: Command, camera: string): Promise<{ sessionId: string; close: () => Promise<void> }> {
  const viewer = new RTCPeerConnection({
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
    iceFilterCandidatePair: (pair) => pair.localCandidate.host.startsWith("127.") && pair.remoteCandidate.host.startsWith("127."),
  });
  viewer.addTransceiver("video", { direction: "recvonly" });
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
