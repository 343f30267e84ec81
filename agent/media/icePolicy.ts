/**
 * Which ICE servers and addresses the WebRTC sessions use, from config. By default every
 * interface takes part and no server is contacted that the config does not name. `loopbackOnly`
 * confines media to 127.0.0.1, for a viewer on the box itself: the local demo and the tests.
 */
import { readFileSync } from "node:fs";
import type { PeerConfig, RTCPeerConnection } from "werift";
import type { Config } from "../../config/schema.ts";

export interface IcePolicy {
  iceServers: Config["media"]["iceServers"];
  peerConfig: Partial<PeerConfig>;
  /** Whether a candidate (its `candidate:…` line) may be used or advertised. */
  allows(candidate: string): boolean;
  /** Call before the connection gathers (setLocalDescription): what its config cannot say. */
  prepare(pc: RTCPeerConnection): void;
}

export function icePolicy(media: Config["media"]): IcePolicy {
  const common: Partial<PeerConfig> = {
    iceTransportPolicy: media.iceTransportPolicy,
    // turns: is verified against the system's CAs, or this one (a network's own TURN server).
    ...(media.turnTlsCa !== undefined && { turnTlsOptions: { ca: readFileSync(media.turnTlsCa) } }),
  };
  const prepare = hasStunServer(media.iceServers) ? () => undefined : withoutFallbackStun;
  if (!media.loopbackOnly) {
    return { iceServers: media.iceServers, peerConfig: common, allows: () => true, prepare };
  }
  return {
    iceServers: media.iceServers,
    prepare,
    peerConfig: {
      ...common,
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceUseIpv6: false,
      iceFilterCandidatePair: (pair) => isLoopback(pair.localCandidate.host) && isLoopback(pair.remoteCandidate.host),
    },
    allows: (candidate) => isLoopback(candidateAddress(candidate) ?? ""),
  };
}

function hasStunServer(servers: Config["media"]["iceServers"]): boolean {
  return servers.some((server) => [server.urls].flat().some((url) => url.startsWith("stun:")));
}

/**
 * werift asks stun.l.google.com:19302 whenever no STUN server is configured, `iceServers: []`
 * included (werift-webrtc issue #691): each viewing session would reach a public server from the
 * clinic's network, and on a network without that route the gathering waits up to 5 s for it
 * (seen in ~1 in 30 answers here). Its connections are told they have no STUN server.
 */
function withoutFallbackStun(pc: RTCPeerConnection): void {
  for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
}

/** The SDP with the `a=candidate` lines the policy does not allow left out. */
export function restrictCandidates(sdp: string, policy: IcePolicy): string {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || policy.allows(line.slice(2)))
    .join("\r\n");
}

/** The connection address of an ICE candidate line (RFC 8839 §5.1: the fifth field). */
export function candidateAddress(candidate: string): string | undefined {
  return candidate.replace(/^a=/, "").split(" ")[4];
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.");
}
