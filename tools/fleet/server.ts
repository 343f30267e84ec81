/**
 * The fleet service's web side: the operator's page (page/) and a read-only JSON API over a
 * FleetView, on node:http, or node:https with client certificates when given a key pair and a CA.
 *
 * Hostile by default: bound to loopback, GET and HEAD only, a bounded request line and header
 * block, a cap on connections and on event streams, every bad input a 4xx with a JSON `error`.
 * Anything the operator's browser can reach, every page it opens can reach too: requests whose
 * Host is not one of the server's own names are refused (a DNS-rebinding page would send its own),
 * cross-site requests are refused, and no response carries CORS headers.
 *
 * With a roster (HTTPS only), the person a client certificate names sees the boxes of their sites
 * and nothing else (access.ts); a certificate the roster does not name gets 403 for everything.
 * Without one, any certificate from the CA sees the whole fleet.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import type { Roster } from "../roster/roster.ts";
import type { FleetMetrics } from "./metrics.ts";
import { apiDocumentAnswer, metricsAnswer, readApiDocument, type MachineAnswer } from "./serverMetrics.ts";
import { accessFromRoster, narrowedView, sameAudience, subjectCnOf, wholeView, type RosterAccess } from "./access.ts";
import type { FleetView } from "./model.ts";
import { deviceIdOf, fleetQueryOf, historyDaysOf, noParams, type Checked } from "./serverQuery.ts";
import { FleetStreams, type StreamReader } from "./serverStream.ts";
import { consoleAskerOf, FleetConsole, ownOrigin, type ConsoleAsker, type FleetConsoleOptions } from "./consoleRelay.ts";
import { readConsolePage } from "./consolePage.ts";
import { FleetActions, NOBODY, type ActionJournal, type Actor } from "./serverActions.ts";
import { isRolloutPath, type RolloutApi } from "./rollout/api.ts";
import type { BoxLink } from "./types/boxLink.ts";

export { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_PERSON, DEFAULT_STREAM_INTERVAL_MS, type StreamBatch } from "./serverStream.ts";

/** A few operators' tabs, each with its page, API calls and one event stream. */
export const DEFAULT_MAX_CONNECTIONS = 64;
/** Far past any filter the page builds; a longer request line gets 414. */
export const MAX_URL_LENGTH = 1024;
const DAY_MS = 86_400_000;

const PAGE_DIR = new URL("page/", import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/fleet.js": { file: "fleet.js", type: "text/javascript; charset=utf-8" },
  "/fleetTable.js": { file: "fleetTable.js", type: "text/javascript; charset=utf-8" },
  "/fleetWords.js": { file: "fleetWords.js", type: "text/javascript; charset=utf-8" },
  "/fleet.css": { file: "fleet.css", type: "text/css; charset=utf-8" },
  "/box.html": { file: "box.html", type: "text/html; charset=utf-8" },
  "/box.js": { file: "box.js", type: "text/javascript; charset=utf-8" },
  "/boxWords.js": { file: "boxWords.js", type: "text/javascript; charset=utf-8" },
  "/boxActions.js": { file: "boxActions.js", type: "text/javascript; charset=utf-8" },
  "/boxConfig.js": { file: "boxConfig.js", type: "text/javascript; charset=utf-8" },
  "/box.css": { file: "box.css", type: "text/css; charset=utf-8" },
  "/rollouts.html": { file: "rollouts.html", type: "text/html; charset=utf-8" },
  "/rollouts.js": { file: "rollouts.js", type: "text/javascript; charset=utf-8" },
  "/rolloutWords.js": { file: "rolloutWords.js", type: "text/javascript; charset=utf-8" },
  "/rollouts.css": { file: "rollouts.css", type: "text/css; charset=utf-8" },
};

/** No inline script or style anywhere, nothing from elsewhere, never framed. */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  // The box page frames the console, served on this origin (/console/).
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
const COMMON_HEADERS = {
  "content-security-policy": PAGE_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
};

export interface FleetServerTls {
  cert: Buffer | string;
  key: Buffer | string;
  /** The CA whose client certificates are let in; every client must present one. */
  ca: Buffer | string;
}

export interface FleetServerOptions {
  view: FleetView;
  /** The service's hands on the boxes: operator actions and rollouts act through it (none: read-only). */
  link?: BoxLink;
  host?: string;
  port: number;
  /** HTTPS, with a client certificate from `ca` required of every connection. */
  tls?: FleetServerTls;
  /** Who sees which boxes, by their certificate's CN (needs `tls`); without it every certificate from the CA sees every box. */
  roster?: Roster;
  /** The console in the box page (/console/, consoleRelay.ts): the broker its relay connects to, with the service's certificate. */
  console?: FleetConsoleOptions;
  /** Host header values accepted besides the listening address and loopback names, port included (e.g. `fleet.example:8090`, `fleet.example:443`). */
  hosts?: readonly string[];
  maxConnections?: number;
  maxStreams?: number;
  /** With a roster: streams one person may hold open. */
  maxStreamsPerPerson?: number;
  maxQueuedBytes?: number;
  streamIntervalMs?: number;
  /** Served at /metrics (serverMetrics.ts says to whom); without it /metrics is 404. */
  metrics?: FleetMetrics;
  log?: Logger;
  /** Where every action is recorded, in the box's history. */
  journal?: ActionJournal;
  /** Without a roster, every client acts as a technician of every box (loopback demos only). */
  actWithoutRoster?: boolean;
  /** Staged rollouts' routes (/api/rollouts…, rollout/api.ts), which take POSTs with checks of their own. */
  rollouts?: Pick<RolloutApi, "serve">;
}

type Answer = { status: number; body: unknown };

export class FleetServer {
  readonly #server: Server;
  readonly #options: FleetServerOptions;
  readonly #streams: FleetStreams;
  readonly #assets = new Map<string, Buffer>();
  readonly #apiDocument = readApiDocument();
  readonly #whole: StreamReader;
  /** Swapped whole by setRoster: a request reads one roster or the other, never a mixture. */
  #access: RosterAccess | undefined;
  #console: FleetConsole | undefined;
  readonly #actions: FleetActions;

  private constructor(server: Server, options: FleetServerOptions) {
    this.#server = server;
    this.#options = options;
    this.#whole = { key: "*", view: wholeView(options.view) };
    this.#access = options.roster && accessFromRoster(options.roster);
    this.#streams = new FleetStreams({
      view: options.view,
      ...(options.streamIntervalMs !== undefined && { intervalMs: options.streamIntervalMs }),
      ...(options.maxStreams !== undefined && { maxStreams: options.maxStreams }),
      ...(options.maxStreamsPerPerson !== undefined && { maxStreamsPerPerson: options.maxStreamsPerPerson }),
      ...(options.maxQueuedBytes !== undefined && { maxQueuedBytes: options.maxQueuedBytes }),
      ...(options.log && { log: options.log }),
    });
    this.#actions = new FleetActions({ link: options.link, journal: options.journal, originAllowed: (origin) => this.#originAllowed(origin), log: options.log?.child({ ns: "fleet:actions" }) });
  }

  static async start(options: FleetServerOptions): Promise<FleetServer> {
    // Over plain HTTP there is no certificate to name anyone: a roster would be a lie.
    if (options.roster && !options.tls) throw new Error("a roster needs HTTPS with client certificates (tls)");
    const limits = { maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 };
    const server = options.tls
      ? createHttpsServer({ ...limits, ...options.tls, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2" })
      : createHttpServer(limits);
    // Past the cap Node closes a new connection at once, before reading a byte of it.
    server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const fleetServer = new FleetServer(server, options);
    for (const name of new Set(Object.values(ASSETS).map((asset) => asset.file))) {
      fleetServer.#assets.set(name, readFileSync(new URL(name, PAGE_DIR)));
    }
    fleetServer.#console = new FleetConsole({ console: options.console, files: readConsolePage(), ...(options.log && { log: options.log.child({ ns: "fleet:console" }) }) });
    server.on("request", (request: IncomingMessage, response: ServerResponse) => fleetServer.#serve(request, response));
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => fleetServer.#upgrade(request, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host ?? "127.0.0.1", resolve);
    });
    fleetServer.#streams.start();
    return fleetServer;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  /** The page's address. */
  get url(): string {
    const host = this.#options.host ?? "127.0.0.1";
    return `${this.#options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${this.port}/`;
  }

  /** Event streams open now; `streams.events` tells of a slow one dropped. */
  get streams(): Pick<FleetStreams, "open" | "events"> {
    return this.#streams;
  }

  /**
   * Replaces the roster (a reload): the next request is answered by the new one. An open event
   * stream whose reader now sees other boxes, or nothing, is ended; the page reconnects under
   * the new roster and loads its list again. Answers how many streams were ended.
   */
  setRoster(roster: Roster): number {
    if (!this.#options.tls) throw new Error("a roster needs HTTPS with client certificates (tls)");
    const access = accessFromRoster(roster);
    this.#access = access;
    this.#console?.rosterChanged((audience) => sameAudience(audience, access.audienceOf(audience.cn)));
    return this.#streams.end((reader) => reader.audience === undefined || !sameAudience(reader.audience, access.audienceOf(reader.audience.cn)));
  }

  async stop(): Promise<void> {
    this.#streams.stop();
    this.#console?.stop();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(request: IncomingMessage, response: ServerResponse): void {
    for (const [name, value] of Object.entries(COMMON_HEADERS)) response.setHeader(name, value);
    if (this.#options.rollouts && isRolloutPath(request.url)) {
      if (!this.#hostAllowed(request.headers.host)) return this.#json(response, { status: 421, body: { error: "not a name of this server" } });
      const reader = this.#readerOf(request);
      // Rolling out changes boxes: as for the box page's actions, someone must be named.
      if (reader && request.method === "POST" && this.#actorOf(reader) === undefined) return this.#json(response, { status: 403, body: { error: NOBODY } });
      return void this.#options.rollouts.serve(request, response, reader && { ...reader, acts: this.#actorOf(reader) !== undefined });
    }
    const refused = this.#refusal(request);
    if (refused) {
      this.#options.log?.warn({ method: request.method, remote: request.socket.remoteAddress, status: refused.status }, "refused a request");
      if (refused.status === 405) response.setHeader("allow", FleetActions.takesPost(request.url?.split("?")[0] ?? "") ? "GET, HEAD, POST" : "GET, HEAD");
      return this.#json(response, refused);
    }
    const reader = this.#readerOf(request);
    if (reader === undefined) {
      const cn = this.#peerCn(request);
      this.#options.log?.warn({ remote: request.socket.remoteAddress, cn: cn?.slice(0, 64) ?? null }, "refused a certificate the roster does not name");
      // Nothing of the fleet in it: not its name, not whether the path or box exists.
      return this.#json(response, { status: 403, body: { error: "this certificate is not on the fleet service's roster" } });
    }
    const url = new URL(request.url ?? "/", "http://fleet.invalid");
    if (FleetConsole.claims(url.pathname)) return this.#console?.serve(response, url.pathname, url.searchParams.get("device"), this.#askerOf(request, reader));
    const asset = ASSETS[url.pathname];
    if (asset) {
      response.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" });
      return void response.end(this.#assets.get(asset.file));
    }
    // Browsers ask for it on every page; no icon, and no 404 in the operator's console.
    if (url.pathname === "/favicon.ico") return void response.writeHead(204).end();
    if (url.pathname === "/api/openapi.json") return this.#machine(response, apiDocumentAnswer(this.#apiDocument, url.searchParams));
    if (url.pathname === "/metrics") {
      const crossSite = request.headers["sec-fetch-site"] === "cross-site";
      const acceptEncoding = request.headers["accept-encoding"] ?? "";
      return void metricsAnswer(this.#options.metrics, reader, { params: url.searchParams, crossSite, acceptEncoding }, this.#options.log).then(
        (answer) => this.#machine(response, answer),
        (error: unknown) => {
          this.#options.log?.error({ err: messageOf(error) }, "a scrape of /metrics failed");
          this.#json(response, { status: 500, body: { error: "the scrape failed; see the service's log" } });
        },
      );
    }
    if (url.pathname === "/api/stream") return this.#stream(request, response, url.searchParams, reader);
    if (FleetActions.claims(url.pathname)) return void this.#actions.serve(request, response, url, reader.view, this.#actorOf(reader));
    this.#api(url, reader.view).then((answer) => this.#json(response, answer), (error: unknown) => this.#json(response, this.#failure(error)));
  }

  /** Whose view answers this request: the whole fleet without a roster, the person's with one, undefined for nobody. */
  #readerOf(request: IncomingMessage): StreamReader | undefined {
    const access = this.#access;
    if (access === undefined) return this.#whole;
    const cn = this.#peerCn(request);
    const audience = cn === undefined ? undefined : access.audienceOf(cn);
    return audience && { key: audience.cn, view: narrowedView(this.#options.view, audience), audience };
  }

  /** The console's WebSocket (consoleRelay.ts): the address, Host and person checked as for any request. */
  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if ((request.url ?? "").length > MAX_URL_LENGTH || !this.#hostAllowed(request.headers.host)) {
      return void socket.end("HTTP/1.1 421 Misdirected Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    }
    const reader = this.#readerOf(request);
    this.#console?.upgrade(request, socket, head, reader && this.#askerOf(request, reader), (origin) => this.#originAllowed(origin));
  }

  #askerOf(request: IncomingMessage, reader: StreamReader): ConsoleAsker | undefined {
    const without = { rosterInForce: this.#access !== undefined, actWithoutRoster: this.#options.actWithoutRoster === true, peerCn: this.#peerCn(request) };
    return consoleAskerOf(reader.audience, without);
  }

  /** Who may act: the roster's person; without a roster, nobody unless actWithoutRoster makes everyone a technician. */
  #actorOf(reader: StreamReader): Actor | undefined {
    if (reader.audience) return { person: reader.audience.cn, cn: reader.audience.cn, role: reader.audience.role };
    return this.#access === undefined && this.#options.actWithoutRoster ? { person: "*", cn: null, role: "technician" } : undefined;
  }

  /** An Origin header naming this server: its scheme, and a host it answers to. */
  #originAllowed(origin: string): boolean {
    return ownOrigin(origin, this.#options.tls ? "https:" : "http:", (host) => this.#hostAllowed(host));
  }


  /** The CN of the client certificate the TLS handshake verified against the CA, if any. */
  #peerCn(request: IncomingMessage): string | undefined {
    const socket = request.socket;
    if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
    return subjectCnOf(socket.getPeerCertificate().subject);
  }

  /** What is wrong with a request before its path is looked at, if anything. */
  #refusal(request: IncomingMessage): Answer | undefined {
    const post = request.method === "POST" && FleetActions.takesPost((request.url ?? "").split("?")[0] ?? "");
    if (request.method !== "GET" && request.method !== "HEAD" && !post) return { status: 405, body: { error: "only GET and HEAD" } };
    if ((request.url ?? "").length > MAX_URL_LENGTH) return { status: 414, body: { error: `the address is longer than ${MAX_URL_LENGTH} characters` } };
    if (!this.#hostAllowed(request.headers.host)) return { status: 421, body: { error: "not a name of this server" } };
    // Browsers send Sec-Fetch-Site (Fetch Metadata): a page of another site has no business with
    // the API. (Following a link to the page itself is fine: that is how an operator gets here.)
    const api = (request.url ?? "").startsWith("/api/");
    if (api && request.headers["sec-fetch-site"] === "cross-site") return { status: 403, body: { error: "cross-site requests to the API are refused" } };
    return undefined;
  }

  #hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    const port = this.port;
    const listen = this.#options.host ?? "127.0.0.1";
    const names = [listen.includes(":") ? `[${listen}]` : listen, "localhost", "127.0.0.1", "[::1]"].map((name) => `${name}:${port}`);
    // A browser leaves the scheme's default port out of Host (RFC 9110 §7.2).
    const withPort = /:\d+$/.test(host) ? host : `${host}:${this.#options.tls ? 443 : 80}`;
    return [...names, ...(this.#options.hosts ?? [])].includes(withPort.toLowerCase());
  }

  async #api(url: URL, view: FleetView): Promise<Answer> {
    const parts = url.pathname.split("/");
    // ["", "api", "boxes", id?, "history"?]
    if (parts[1] !== "api" || parts.length > 5) return notFound(url.pathname);
    if (parts[2] === "counts" && parts.length === 3) return answer(noParams(url.searchParams), () => view.counts());
    if (parts[2] !== "boxes") return notFound(url.pathname);
    if (parts.length === 3) return answer(fleetQueryOf(url.searchParams), (query) => ({ rows: view.list(query) }));
    const id = deviceIdOf(parts[3] ?? "");
    if (!id.ok) return { status: 400, body: { error: id.error } };
    if (parts.length === 4) {
      const params = noParams(url.searchParams);
      if (!params.ok) return { status: 400, body: { error: params.error } };
      const row = view.box(id.value);
      return row ? { status: 200, body: row } : { status: 404, body: { error: `no box ${id.value}` } };
    }
    if (parts[4] !== "history") return notFound(url.pathname);
    const days = historyDaysOf(url.searchParams);
    if (!days.ok) return { status: 400, body: { error: days.error } };
    if (!view.box(id.value)) return { status: 404, body: { error: `no box ${id.value}` } };
    return { status: 200, body: { deviceId: id.value, days: days.value, entries: await view.history(id.value, Date.now() - days.value * DAY_MS) } };
  }

  /** A store that cannot be read (PostgreSQL down) is the server's failure, said as one. */
  #failure(error: unknown): Answer {
    this.#options.log?.error({ err: messageOf(error) }, "a request failed");
    return { status: 500, body: { error: "the fleet's store could not be read; try again" } };
  }

  #stream(request: IncomingMessage, response: ServerResponse, params: URLSearchParams, reader: StreamReader): void {
    const checked = noParams(params);
    if (!checked.ok) return this.#json(response, { status: 400, body: { error: checked.error } });
    if (request.method === "HEAD") return void response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" }).end();
    const accepted = this.#streams.accept(response, reader);
    if (accepted === "accepted") return;
    this.#options.log?.warn({ remote: request.socket.remoteAddress, cn: reader.audience?.cn, open: this.#streams.open, cap: accepted }, "refused an event stream: at the cap");
    const error = accepted === "person-full" ? "too many event streams open with this certificate; close a tab" : "too many event streams open; close a tab";
    this.#json(response, { status: 503, body: { error } });
  }

  #machine(response: ServerResponse, { status, type, body, encoding }: MachineAnswer): void {
    response.writeHead(status, { "content-type": type, "cache-control": "no-store", ...(encoding && { "content-encoding": encoding, vary: "accept-encoding" }) });
    response.end(body);
  }

  #json(response: ServerResponse, { status, body }: Answer): void {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    response.end(JSON.stringify(body));
  }
}

function answer<T>(checked: Checked<T>, read: (value: T) => unknown): Answer {
  return checked.ok ? { status: 200, body: read(checked.value) } : { status: 400, body: { error: checked.error } };
}

function notFound(pathname: string): Answer {
  return { status: 404, body: { error: `no such path: ${pathname.slice(0, 64)}` } };
}
