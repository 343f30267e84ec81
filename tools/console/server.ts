/**
 * Serves the operator console page (viewer/ and mqtt.js's browser bundle) over HTTP, and relays
 * MQTT over WebSocket at /mqtt to one broker fixed when it starts (plain TCP, or TLS with the
 * operator's own certificate), for a broker without a WebSocket listener (Debian 12's mosquitto
 * cannot open one). For an operator's or technician's own machine, the demo and the tests.
 *
 * Anything the operator's browser can reach, every web page it opens can reach too. So the page
 * and the relay need the secret token made at each start (in the address `thea console` prints),
 * the relay takes WebSockets only from pages of its own origin, and it holds a bounded number.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../lib/log.ts";
import { CONSOLE_PAGE, CONSOLE_SCRIPTS, type ConsoleFile } from "./assets.ts";
import { newConsoleToken, originAllowed, originOf, tokenMatches, tokenOf } from "./access.ts";
import { connectUpstream, relay, relayWebSockets, type BrokerUpstream } from "./relay.ts";

export type { BrokerUpstream } from "./relay.ts";

/** The page itself: only with the token. */
const PAGES: Record<string, ConsoleFile> = { "/": CONSOLE_PAGE, "/index.html": CONSOLE_PAGE };
/** The scripts it loads: the project's public code, served to anyone (a module import carries no query). */
const SCRIPTS: Record<string, ConsoleFile> = Object.fromEntries(Object.entries(CONSOLE_SCRIPTS).map(([name, file]) => [`/${name}`, file]));

/** A few operators' tabs; well under what a broker or this process notices. */
export const DEFAULT_MAX_CONNECTIONS = 16;

export interface ConsoleServerOptions {
  host: string;
  port: number;
  /** The broker the /mqtt relay connects to; none disables the relay. */
  broker: BrokerUpstream | undefined;
  /** The secret the page and the relay require; a new random one when omitted (the normal case). */
  token?: string;
  /** Origins besides the server's own (`http://host:port`) whose pages may open /mqtt, e.g. a DNS name for it. */
  origins?: readonly string[];
  /** Concurrent WebSocket connections at most; more are refused (503) before any broker connection. */
  maxConnections?: number;
  /** More pages, by route (the tests' harness); they need the token like the console page. */
  pages?: Record<string, string>;
  log?: Logger;
}

export class ConsoleServer {
  readonly #server: Server;
  /** Takes over an upgrade once #upgrade's checks passed: the WebSocket handshake and protocol. */
  readonly #webSockets = relayWebSockets();
  readonly #options: ConsoleServerOptions;
  readonly #token: string;
  /** Upgraded connections are no longer the HTTP server's; stop() ends them itself. */
  readonly #bridged = new Set<Duplex>();
  /** Connections being relayed, for the cap: one stops counting as soon as either side ends. */
  #relaying = 0;

  private constructor(server: Server, options: ConsoleServerOptions) {
    this.#server = server;
    this.#options = options;
    this.#token = options.token ?? newConsoleToken();
  }

  static async start(options: ConsoleServerOptions): Promise<ConsoleServer> {
    const server = createServer();
    const consoleServer = new ConsoleServer(server, options);
    server.on("request", (request: IncomingMessage, response: ServerResponse) => consoleServer.#serve(request, response));
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => consoleServer.#upgrade(request, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, resolve);
    });
    return consoleServer;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  /** `http://host:port`, the origin the console's pages have. */
  get origin(): string {
    return originOf(this.#options.host, this.port);
  }

  /** The address of `route` (which may carry a query) with the token added: what an operator opens. */
  url(route = "/"): string {
    const url = new URL(route, this.origin);
    url.searchParams.set("token", this.#token);
    return url.href;
  }

  async stop(): Promise<void> {
    for (const socket of this.#bridged) socket.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(request: IncomingMessage, response: ServerResponse): void {
    const route = new URL(request.url ?? "/", "http://localhost").pathname;
    const script = SCRIPTS[route];
    if (script) return void this.#send(response, script);
    const page = this.#options.pages?.[route];
    const file = PAGES[route];
    if (page === undefined && !file) return void response.writeHead(404).end();
    if (!tokenMatches(this.#token, tokenOf(request.url))) {
      this.#options.log?.warn({ route, remote: request.socket.remoteAddress }, "refused the console page: no or wrong token");
      return void response.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end("this console needs the token: open the address thea console printed when it started\n");
    }
    // The address holds the token: no Referer carries it away, and no other page may frame this one.
    const headers = { "referrer-policy": "no-referrer", "content-security-policy": "frame-ancestors 'none'", "cache-control": "no-store" };
    if (page !== undefined) return void response.writeHead(200, { ...headers, "content-type": "text/html; charset=utf-8" }).end(page);
    if (file) this.#send(response, file, headers);
  }

  #send(response: ServerResponse, entry: { file: URL; type: string }, headers: Record<string, string> = { "cache-control": "no-cache" }): void {
    readFile(fileURLToPath(entry.file)).then(
      (body) => response.writeHead(200, { ...headers, "content-type": entry.type }).end(body),
      () => response.writeHead(500).end(),
    );
  }

  /** Checks a WebSocket upgrade at /mqtt and, if it passes, relays it to the broker. */
  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { broker, log } = this.#options;
    const key = request.headers["sec-websocket-key"];
    const route = new URL(request.url ?? "/", "http://localhost").pathname;
    const refuse = (status: string, why: string) => {
      log?.warn({ origin: request.headers.origin, remote: request.socket.remoteAddress, why }, "refused a WebSocket");
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (route !== "/mqtt" || !broker || typeof key !== "string") return refuse("404 Not Found", "not the relay");
    const allowed = [this.origin, ...(this.#options.origins ?? []).map((origin) => new URL(origin).origin)];
    if (!originAllowed(request.headers.origin, allowed)) return refuse("403 Forbidden", "a page of another origin");
    if (!tokenMatches(this.#token, tokenOf(request.url))) return refuse("403 Forbidden", "no or wrong token");
    const max = this.#options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (this.#relaying >= max) return refuse("503 Service Unavailable", `${max} connections already`);
    this.#bridged.add(socket);
    // The slot is taken before the handshake and given back once: when either side of the relay
    // ends, or when the socket closes without a WebSocket (ws refused a malformed handshake, 400).
    this.#relaying++;
    let counted = true;
    const release = () => {
      if (counted) this.#relaying--;
      counted = false;
    };
    socket.once("close", () => {
      this.#bridged.delete(socket);
      release();
    });
    this.#webSockets.handleUpgrade(request, socket, head, (browser) => {
      relay(browser, connectUpstream(broker), {
        onClosed: release,
        onUpstreamError: (error) => log?.warn({ err: error.message, broker: `${broker.host}:${broker.port}` }, "relay: broker connection failed"),
      });
    });
  }
}
