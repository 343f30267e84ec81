/**
 * Serves the operator console page (viewer/ and mqtt.js's browser bundle) over HTTP, and bridges MQTT over
 * WebSocket at /mqtt to a broker's plain TCP port, for a broker without a WebSocket listener
 * (Debian 12's mosquitto cannot open one). For a technician's laptop, the demo and the tests; a
 * hospital would point the page at its broker's own wss:// listener instead.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { acceptKey, encodeFrame, OPCODE, WsFrameDecoder } from "./wsFrames.ts";

const ROOT = new URL("../../", import.meta.url);
const FILES: Record<string, { file: URL; type: string }> = {
  "/": { file: new URL("viewer/index.html", ROOT), type: "text/html; charset=utf-8" },
  "/index.html": { file: new URL("viewer/index.html", ROOT), type: "text/html; charset=utf-8" },
  "/viewer.js": { file: new URL("viewer/viewer.js", ROOT), type: "text/javascript" },
  "/console.js": { file: new URL("viewer/console.js", ROOT), type: "text/javascript" },
  "/mqtt.esm.js": { file: new URL("node_modules/mqtt/dist/mqtt.esm.js", ROOT), type: "text/javascript" },
};

/** Far above any MQTT packet the viewer sends (an SDP offer is a few kB). */
const MAX_FRAME_BYTES = 1024 * 1024;

export interface ViewerServerOptions {
  host: string;
  port: number;
  /** The broker's plain MQTT port the /mqtt bridge connects to; none disables the bridge. */
  broker: { host: string; port: number } | undefined;
  /** More pages, by route (the tests' harness). */
  pages?: Record<string, string>;
}

export class ViewerServer {
  readonly #server: Server;
  readonly #options: ViewerServerOptions;
  /** Upgraded connections are no longer the HTTP server's; stop() ends them itself. */
  readonly #bridged = new Set<Duplex>();

  private constructor(server: Server, options: ViewerServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async start(options: ViewerServerOptions): Promise<ViewerServer> {
    const server = createServer((request, response) => {
      const route = new URL(request.url ?? "/", "http://localhost").pathname;
      const page = options.pages?.[route];
      if (page !== undefined) {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
        return;
      }
      const entry = FILES[route];
      if (!entry) {
        response.writeHead(404).end();
        return;
      }
      readFile(fileURLToPath(entry.file)).then(
        (body) => response.writeHead(200, { "content-type": entry.type, "cache-control": "no-cache" }).end(body),
        () => response.writeHead(500).end(),
      );
    });
    const viewer = new ViewerServer(server, options);
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => viewer.#bridge(request, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, resolve);
    });
    return viewer;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  url(route = "/"): string {
    return `http://${this.#options.host}:${this.port}${route}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.#bridged) socket.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** One WebSocket client ↔ one TCP connection to the broker; MQTT bytes pass through unchanged. */
  #bridge(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { broker } = this.#options;
    const key = request.headers["sec-websocket-key"];
    const route = new URL(request.url ?? "/", "http://localhost").pathname;
    if (route !== "/mqtt" || !broker || typeof key !== "string") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
      return;
    }
    const offered = (request.headers["sec-websocket-protocol"] ?? "").split(",").map((name) => name.trim());
    const accept = acceptKey(key);
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
        `sec-websocket-accept: ${accept}\r\n` +
        (offered.includes("mqtt") ? "sec-websocket-protocol: mqtt\r\n" : "") +
        "\r\n",
    );
    this.#bridged.add(socket);
    socket.once("close", () => this.#bridged.delete(socket));
    // Byte for byte in both directions, each write as it comes: Nagle would hold a small MQTT
    // packet for the other side's delayed ACK (session.ts says why that matters).
    if (socket instanceof Socket) socket.setNoDelay(true);
    const upstream = connect({ port: broker.port, host: broker.host, noDelay: true });
    const decoder = new WsFrameDecoder(MAX_FRAME_BYTES);
    const closeBoth = () => {
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
        if (frame.opcode === OPCODE.ping) socket.write(encodeFrame(OPCODE.pong, frame.payload));
        else if (frame.opcode <= OPCODE.binary) upstream.write(frame.payload); // data and continuations
      }
    };
    if (head.length > 0) fromBrowser(head);
    socket.on("data", fromBrowser);
    upstream.on("data", (chunk: Buffer) => socket.writable && socket.write(encodeFrame(OPCODE.binary, chunk)));
    upstream.on("close", closeBoth);
    upstream.on("error", closeBoth);
    socket.on("close", () => upstream.destroy());
    socket.on("error", () => upstream.destroy());
  }
}
