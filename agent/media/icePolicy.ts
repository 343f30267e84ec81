/**
 * Which ICE servers and addresses the WebRTC sessions use, from config. By default every
 * interface takes part and no server is contacted that the config does not name. `loopbackOnly`
 * confines media to 127.0.0.1, for a viewer on the box itself: the local demo and the tests.
 * Otherwise a viewer's candidates on the box's own loopback or on link-local addresses are
 * refused: the box's connectivity checks would go to its own services or to the clinic's link
 * (169.254.169.254 and the like) at a remote party's word.
 */
import { BlockList, isIP } from "node:net";
import { readFileSync } from "node:fs";
import type { PeerConfig, RTCPeerConnection } from "werift";
import type { Config } from "../../config/schema.ts";

export interface IcePolicy {
  iceServers: Config["media"]["iceServers"];
  peerConfig: Partial<PeerConfig>;
  /** Whether a candidate (its `candidate:…` line) may be used or advertised. */
  allows(candidate: string): boolean;
  /** Why a viewer's candidate may not be used, or undefined when it may. */
  remoteRefusal(candidate: string): string | undefined;
  /**
   * Call before the connection gathers (setLocalDescription): what its config cannot say (no
   * fallback STUN server), and ICE ending at the viewer's nomination.
   */
  prepare(pc: RTCPeerConnection): void;
}

export function icePolicy(media: Config["media"]): IcePolicy {
  const common: Partial<PeerConfig> = {
    iceTransportPolicy: media.iceTransportPolicy,
    // turns: is verified against the system's CAs, or this one (a network's own TURN server).
    ...(media.turnTlsCa !== undefined && { turnTlsOptions: { ca: readFileSync(media.turnTlsCa) } }),
  };
  const askStun = hasStunServer(media.iceServers);
  const prepare = (pc: RTCPeerConnection) => {
    endChecksOnceNominated(pc);
    if (!askStun) withoutFallbackStun(pc);
  };
  if (!media.loopbackOnly) {
    return {
      iceServers: media.iceServers,
      // A viewer's mDNS name (RFC 8839 §5.1, as browsers hide host addresses) is resolved by
      // werift only when it pairs it: the pair is checked again then.
      peerConfig: { ...common, iceFilterCandidatePair: (pair) => !isOwnOrLinkLocal(pair.remoteCandidate.host) },
      allows: () => true,
      remoteRefusal: remoteRefusal,
      prepare,
    };
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
    remoteRefusal: (candidate) => (isLoopback(candidateAddress(candidate) ?? "") ? undefined : "not on 127.0.0.1 (media.loopbackOnly)"),
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

/** The part of werift's ICE connection its check loop runs on (not in werift's public types). */
interface CheckLoop {
  nominated?: unknown;
  schedulingChecks(): boolean;
}

/**
 * werift reports ICE connected, and only then starts DTLS, when its check loop (one check
 * started every 20 ms) stops, and it stops only once no pair is left waiting — even after the
 * viewer has nominated a pair and the box's own check on it has succeeded. Pairs formed after the
 * nomination are then all checked first: every candidate a viewer trickles late, paired with every
 * interface of the box, most of which cannot reach it on a box with Ethernet, Wi-Fi and a modem.
 * bench/firstFrame.ts saw ICE held 60–350 ms after the nomination that way (docs/media.md). Once a
 * pair is nominated for every component, ICE processing is over (RFC 8445 §8.1.2), so the loop is
 * told to stop there; the remaining checks would not be used.
 */
function endChecksOnceNominated(pc: RTCPeerConnection): void {
  for (const transport of pc.iceTransports) {
    const loop = transport.connection as unknown as CheckLoop;
    const scheduleNext = loop.schedulingChecks.bind(loop);
    loop.schedulingChecks = () => loop.nominated === undefined && scheduleNext();
  }
}

/** The SDP with the `a=candidate` lines the policy does not allow left out. */
export function restrictCandidates(sdp: string, policy: IcePolicy): string {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || policy.allows(line.slice(2)))
    .join("\r\n");
}

/** The viewer's SDP with the `a=candidate` lines the policy refuses left out. */
export function withoutRefusedCandidates(sdp: string, policy: IcePolicy): string {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || policy.remoteRefusal(line.slice(2)) === undefined)
    .join("\r\n");
}

/** The connection address of an ICE candidate line (RFC 8839 §5.1: the fifth field). */
export function candidateAddress(candidate: string): string | undefined {
  return candidate.replace(/^a=/, "").split(" ")[4];
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.");
}

/** Browsers' mDNS host names: one label and .local (draft-ietf-mmusic-mdns-ice-candidates §3.1.1). */
const MDNS_NAME = /^[A-Za-z0-9-]{1,63}\.local$/;

function remoteRefusal(candidate: string): string | undefined {
  const address = candidateAddress(candidate);
  if (address === undefined) return undefined; // werift refuses what it cannot parse
  if (isIP(address) === 0) return MDNS_NAME.test(address) ? undefined : `address "${address.slice(0, 64)}" is neither an IP address nor an mDNS name`;
  return isOwnOrLinkLocal(address) ? `address ${address} is loopback, unspecified or link-local` : undefined;
}

/**
 * Loopback (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3), "this network" and unspecified (RFC 1122
 * §3.2.1.3), and link-local (RFC 3927, RFC 4291 §2.5.6) addresses.
 */
const OWN_OR_LINK_LOCAL = new BlockList();
OWN_OR_LINK_LOCAL.addSubnet("127.0.0.0", 8, "ipv4");
OWN_OR_LINK_LOCAL.addSubnet("0.0.0.0", 8, "ipv4");
OWN_OR_LINK_LOCAL.addSubnet("169.254.0.0", 16, "ipv4");
OWN_OR_LINK_LOCAL.addAddress("::1", "ipv6");
OWN_OR_LINK_LOCAL.addAddress("::", "ipv6");
OWN_OR_LINK_LOCAL.addSubnet("fe80::", 10, "ipv6");

/** IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2) are judged as the IPv4 address they carry. */
export function isOwnOrLinkLocal(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined || isIP(address) === 4) return OWN_OR_LINK_LOCAL.check(mapped ?? address, "ipv4");
  return isIP(address) === 6 && OWN_OR_LINK_LOCAL.check(address, "ipv6");
}
