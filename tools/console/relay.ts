/**
 * One WebSocket client ↔ one connection to the broker (plain TCP, or TLS with the operator's own
 * certificate); MQTT bytes pass through unchanged. Each side is paused while the other cannot take
 * more, so what one connection holds in memory is bounded by the streams' buffers and one frame.
 */
import { connect as connectTcp, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as connectTls } from "node:tls";
import { encodeFrame, OPCODE, WsFrameDecoder } from "./wsFrames.ts";

/** Far above any MQTT packet the viewer sends (an SDP offer is a few kB). */
const MAX_FRAME_BYTES = 1024 * 1024;

/** Where the relay connects: fixed by whoever started it, never by a page. */
export interface BrokerUpstream {
  host: string;
  port: number;
  /** mqtts: TLS to the broker, checked against `ca` (else the system's CAs), with this client certificate. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export function connectUpstream(broker: BrokerUpstream): Socket {
  if (!broker.tls) return connectTcp({ port: broker.port, host: broker.host, noDelay: true });
  const { ca, cert, key } = broker.tls;
  // SNI takes a name only (RFC 6066 §3); the certificate is still checked against an IP address.
  const servername = /^[\d.]+$|:/.test(broker.host) ? undefined : broker.host;
  const socket = connectTls({ port: broker.port, host: broker.host, servername, ca, cert, key });
  socket.setNoDelay(true);
  return socket;
}

export interface RelayEvents {
  /** Once, when either side has ended (the connection no longer counts against the cap). */
  onClosed: () => void;
  onUpstreamError: (error: Error) => void;
}

/** Bridges an upgraded WebSocket `socket` to `upstream` until either side ends; `head` is what came with the upgrade. */
export function relay(socket: Duplex, upstream: Duplex, head: Buffer, events: RelayEvents): void {
  // Byte for byte in both directions, each write as it comes: Nagle would hold a small MQTT
  // packet for the other side's delayed ACK (session.ts says why that matters).
  if (socket instanceof Socket) socket.setNoDelay(true);
  const decoder = new WsFrameDecoder(MAX_FRAME_BYTES);
  let closed = false;
  const closeBoth = () => {
    if (!closed) events.onClosed();
    closed = true;
    if (socket.writable) socket.end(encodeFrame(OPCODE.close));
    upstream.destroy();
  };
  const fromBrowser = (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      closeBoth(); // oversized or unmasked: not a browser speaking MQTT
      return;
    }
    for (const frame of frames) {
      if (frame.opcode === OPCODE.close) return closeBoth();
      if (frame.opcode === OPCODE.ping) {
        // §5.5: a control frame carries 125 bytes at most. A browser that pings and never reads
        // the pongs is read no further until it does.
        if (frame.payload.length > 125) return closeBoth();
        if (!socket.write(encodeFrame(OPCODE.pong, frame.payload))) pauseUntilDrained(socket, socket);
      } else if (frame.opcode <= OPCODE.binary && !upstream.write(frame.payload)) pauseUntilDrained(socket, upstream);
    }
  };
  if (head.length > 0) fromBrowser(head);
  socket.on("data", fromBrowser);
  upstream.on("data", (chunk: Buffer) => {
    if (socket.writable && !socket.write(encodeFrame(OPCODE.binary, chunk))) pauseUntilDrained(upstream, socket);
  });
  upstream.on("close", closeBoth);
  upstream.on("error", (error) => {
    events.onUpstreamError(error);
    closeBoth();
  });
  // The HTTP server's sockets allow half-open connections: a browser that goes away without a
  // close frame only ends its side, and the relay must end too, or it holds a slot for ever.
  socket.on("end", closeBoth);
  socket.on("close", closeBoth);
  socket.on("error", closeBoth);
}

/** Stops reading `from` until `to` has written out what it holds. */
function pauseUntilDrained(from: Duplex, to: Duplex): void {
  if (from.isPaused()) return;
  from.pause();
  to.once("drain", () => from.resume());
}
