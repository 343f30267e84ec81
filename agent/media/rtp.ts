/**
 * The little RTP surgery the agent does on packets from the pipeline, on raw bytes (RFC 3550
 * header, RFC 6184 H.264 payload). Pure; no I/O.
 */

const STAP_A = 24;
const SPS = 7;
const PPS = 8;

/** Offset of the payload in an RTP packet, or undefined when the packet is too short. */
export function rtpPayloadOffset(packet: Uint8Array): number | undefined {
  if (packet.length < 12 || packet[0] === undefined || packet[0] >> 6 !== 2) return undefined;
  const csrcCount = packet[0] & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (packet[0] & 0x10) {
    // Header extension: 2 bytes profile, 2 bytes length in 32-bit words (RFC 3550 §5.3.1).
    const words = ((packet[offset + 2] ?? 0) << 8) | (packet[offset + 3] ?? 0);
    offset += 4 + 4 * words;
  }
  return offset < packet.length ? offset : undefined;
}

/** The packet's synchronisation source; a new one means a new pipeline (a restart) began sending. */
export function rtpSsrc(packet: Uint8Array): number | undefined {
  if (packet.length < 12) return undefined;
  return new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(8);
}

/** NAL unit types carried by an H.264 RTP payload (single NAL or STAP-A aggregate). */
export function h264NalTypes(packet: Uint8Array): number[] {
  const start = rtpPayloadOffset(packet);
  if (start === undefined) return [];
  const type = (packet[start] ?? 0) & 0x1f;
  if (type !== STAP_A) return [type];
  const types: number[] = [];
  // STAP-A: after its own header byte, [16-bit size][NAL] repeated (RFC 6184 §5.7.1).
  for (let at = start + 1; at + 2 < packet.length; ) {
    const size = ((packet[at] ?? 0) << 8) | (packet[at + 1] ?? 0);
    if (size === 0) break;
    types.push((packet[at + 2] ?? 0) & 0x1f);
    at += 2 + size;
  }
  return types;
}

/**
 * GStreamer 1.22's rtph264pay sends SPS/PPS after a forced keyframe as a packet of their own with
 * the marker bit set; Chromium takes that for the end of a (broken) frame, asks for another
 * keyframe and drops frames. Parameter sets never end a frame, so their marker is cleared here.
 * Returns whether the packet was changed (in place).
 */
export function clearParameterSetMarker(packet: Uint8Array): boolean {
  const marker = (packet[1] ?? 0) & 0x80;
  if (!marker) return false;
  const types = h264NalTypes(packet);
  if (types.length === 0 || !types.every((type) => type === SPS || type === PPS)) return false;
  packet[1] = (packet[1] ?? 0) & 0x7f;
  return true;
}
