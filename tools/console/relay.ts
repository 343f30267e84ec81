/**
 * One WebSocket client ↔ one connection to the broker (plain TCP, or TLS with the operator's own
 * certificate); MQTT bytes pass through unchanged. The WebSocket protocol (RFC 6455: framing,
 * masking, control frames, the closing handshake) is the `ws` package's. Each side is paused while
 * the other cannot take more, so what one connection holds in memory is bounded by the streams'
 * buffers and one message. Nagle is off on both sockets (ws turns it off on the browser's): it
 * would hold a small MQTT packet for the other side's delayed ACK (agent/mqtt/connection.ts).
 */
import { connect as connectTcp, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as connectTls } from "node:tls";
import { WebSocket, WebSocketServer, type ServerOptions } from "ws";

/** Far above any MQTT packet the viewer sends (an SDP offer is a few kB). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * What the relay hands the browser's socket before it stops reading the side that sends it: a
 * stream's default high-water mark, the point at which the socket's own write() says "wait".
 */
const BROWSER_HIGH_WATER_BYTES = 16 * 1024;

/**
 * How long a closing handshake the relay started (the broker's side ended) may take before the
 * socket is cut: a browser answers a close frame at once (RFC 6455 §5.5.1), and a client that does
 * not is not kept (ws's own default waits 30 s).
 */
const CLOSE_TIMEOUT_MS = 1000;

/**
 * The WebSockets the relay accepts: a message of 1 MiB at most (larger ends the connection with
 * 1009, RFC 6455 §7.4.1), no compression (MQTT packets are small, and inflating is where a small
 * frame becomes a large buffer), pongs answered by the relay itself so that it can stop reading a
 * browser that never reads them, and the `mqtt` subprotocol chosen when offered (MQTT 5.0 §6).
 * Upgrades are handed to it one by one (`handleUpgrade`) once the server's own checks passed.
 */
export function relayWebSockets(): WebSocketServer {
  // closeTimeout is ws's (8.23) but not yet in @types/ws (8.18): typed here, passed as ServerOptions.
  const options: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    autoPong: false,
    handleProtocols: (offered) => (offered.has("mqtt") ? "mqtt" : false),
    closeTimeout: CLOSE_TIMEOUT_MS,
  };
  return new WebSocketServer(options);
}

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

/** Bridges an accepted WebSocket `browser` to `upstream` until either side ends. */
export function relay(browser: WebSocket, upstream: Duplex, events: RelayEvents): void {
  let closed = false;
  const closeBoth = () => {
    if (!closed) events.onClosed();
    closed = true;
    // A close frame with no code, as before; ws ends the socket once the browser answers it.
    if (browser.readyState === WebSocket.OPEN) browser.close();
    upstream.destroy();
  };
  const toBrowser = new BrowserQueue(browser);
  browser.on("message", (data) => {
    if (closed) return; // what a closing browser still sends has nowhere to go
    if (!upstream.write(bytesOf(data))) pauseBrowserUntil(browser, (resume) => upstream.once("drain", resume));
  });
  browser.on("ping", (data) => {
    // Control frames of over 125 bytes (§5.5) never get here: ws ends such a connection (1002).
    // A browser that pings and never reads the pongs is read no further until it does.
    if (toBrowser.pong(data)) pauseBrowserUntil(browser, (resume) => toBrowser.onceDrained(resume));
  });
  upstream.on("data", (chunk: Buffer) => {
    if (toBrowser.send(chunk) && !upstream.isPaused()) {
      upstream.pause();
      toBrowser.onceDrained(() => upstream.resume());
    }
  });
  upstream.on("close", closeBoth);
  upstream.on("error", (error) => {
    events.onUpstreamError(error);
    closeBoth();
  });
  // ws emits "close" once the socket has closed, however it ended: a closing handshake, a tab that
  // went away without one (the socket's end), a message over the limit or an unmasked frame
  // ("error" first, then ws closes the connection with the code of §7.4.1).
  browser.on("close", closeBoth);
  browser.on("error", closeBoth);
}

/**
 * What the relay has handed to the browser's socket and is not yet written out. ws does not say
 * when its socket drains, but calls back once each frame is written: the count of bytes still
 * waiting is the socket's buffer, seen from here.
 */
class BrowserQueue {
  readonly #browser: WebSocket;
  #waiting = 0;
  #drained: Array<() => void> = [];

  constructor(browser: WebSocket) {
    this.#browser = browser;
  }

  /** Sends `chunk` as a binary message; true when the sender should wait for `onceDrained`. */
  send(chunk: Buffer): boolean {
    if (this.#browser.readyState !== WebSocket.OPEN) return false;
    this.#browser.send(chunk, { binary: true }, this.#written(chunk.length));
    return this.#full();
  }

  /** Answers a ping; true when the browser should be read no further until `onceDrained`. */
  pong(data: Buffer): boolean {
    if (this.#browser.readyState !== WebSocket.OPEN) return false;
    this.#browser.pong(data, false, this.#written(data.length));
    return this.#full();
  }

  onceDrained(listener: () => void): void {
    if (this.#waiting === 0) listener();
    else this.#drained.push(listener);
  }

  #full(): boolean {
    return this.#waiting >= BROWSER_HIGH_WATER_BYTES;
  }

  /** Counts `bytes` as waiting until ws has written them out (or failed to: the socket is gone). */
  #written(bytes: number): () => void {
    this.#waiting += bytes;
    return () => {
      this.#waiting -= bytes;
      if (this.#waiting === 0) for (const listener of this.#drained.splice(0)) listener();
    };
  }
}

/** Stops reading the browser until `until` calls back; once, however many reasons there are. */
function pauseBrowserUntil(browser: WebSocket, until: (resume: () => void) => void): void {
  if (browser.isPaused) return;
  browser.pause();
  until(() => browser.resume());
}

/** A message's bytes: ws gives a Buffer for binaryType "nodebuffer" (its default). */
function bytesOf(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
