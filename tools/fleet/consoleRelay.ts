/**
 * The operator console on the fleet service's origin, for the box page's frame: the page at
 * /console/?device=ID, its scripts, and its MQTT over WebSocket at /console/mqtt, relayed to the
 * broker with the *service's* connection. The service's broker rights cover every box and their
 * desired state, so the relay enforces the roster itself (consoleRelayPolicy.ts) for the person
 * the client certificate names; the broker's ACL can no longer tell one person from another.
 *
 * Bounded: connections overall and per person, a packet's size, subscriptions per connection and
 * publishes per second (the policy). A roster reload ends the relays of a person whose boxes or
 * role changed, or who left it; their page reconnects under the new roster.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { DEVICE_ID_PATTERN } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { connectUpstream, relay, relayWebSockets, type BrokerUpstream } from "../console/relay.ts";
import type { Role } from "../roster/roles.ts";
import { sees } from "./access.ts";
import { consolePageResponse, consoleScript, type ConsolePageFiles } from "./consolePage.ts";
import { ConsolePolicy, type PolicyLimits } from "./consoleRelayPolicy.ts";
import { ConsoleGate } from "./consoleRelayGate.ts";
import { ConsoleUpstream } from "./consoleRelayUpstream.ts";
import type { Audience } from "./types/audience.ts";

/** A few people's box pages, each with one console. */
export const DEFAULT_MAX_CONSOLES = 16;
/** Two or three box pages open side by side; a fourth of the same person waits. */
export const DEFAULT_MAX_CONSOLES_PER_PERSON = 3;
/** Far above an SDP offer (a few kB), the largest packet the console sends; far below ws's 1 MiB. */
export const MAX_CONSOLE_PACKET_BYTES = 64 * 1024;
/**
 * The console subscribes to a handful of filters, and one more per viewing session; 32 leaves room
 * for a day of switching cameras without letting a page pile up filters on the broker.
 */
export const DEFAULT_POLICY_LIMITS: PolicyLimits = { maxSubscriptions: 32, publishBurst: 60, publishesPerSecond: 20 };
/** RFC 6455 §7.4.1: an endpoint received a message that violates its policy. */
const POLICY_VIOLATION = 1008;

/** Who is asking, as the fleet server knows them. */
export interface ConsoleAsker {
  readonly cn: string;
  readonly role: Role;
  sees(deviceId: string): boolean;
  /** Their part of the roster; none when the service acts without one. */
  readonly audience?: Audience;
}

/** A CN usable as one topic level (a roster's always is); otherwise the reply space has a neutral name. */
const TOPIC_LEVEL = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Who is asking the console: the roster's person; without a roster, nobody, unless the service
 * acts without one (a loopback demo): then anyone is a technician of every box.
 */
export function consoleAskerOf(audience: Audience | undefined, without: { rosterInForce: boolean; actWithoutRoster: boolean; peerCn: string | undefined }): ConsoleAsker | undefined {
  if (audience) return { cn: audience.cn, role: audience.role, sees: (deviceId) => sees(audience, deviceId), audience };
  if (without.rosterInForce || !without.actWithoutRoster) return undefined;
  const cn = without.peerCn !== undefined && TOPIC_LEVEL.test(without.peerCn) ? without.peerCn : "anyone";
  return { cn, role: "technician", sees: () => true };
}

/**
 * Where the relay connects: the service's own broker address and certificate (mqtt:// or
 * mqtts://, ports 1883 and 8883 by default as for MQTT, IANA's registrations for MQTT).
 */
export function consoleBrokerOf(url: string, tls: { cert?: Buffer; key?: Buffer; ca?: Buffer }): BrokerUpstream {
  const parsed = new URL(url);
  const secure = parsed.protocol === "mqtts:";
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? (secure ? 8883 : 1883) : Number(parsed.port);
  return secure ? { host, port, tls } : { host, port };
}

/** Whether an Origin header names this server: its scheme, and a host it answers to. */
export function ownOrigin(origin: string, scheme: "http:" | "https:", hostAllowed: (host: string) => boolean): boolean {
  try {
    const url = new URL(origin);
    return url.origin === origin && url.protocol === scheme && hostAllowed(url.host);
  } catch {
    return false; // not a URL at all: not this server
  }
}

export interface FleetConsoleOptions {
  /** The broker the relay connects to, with the service's certificate. */
  broker: BrokerUpstream;
  /** The service's CN on the broker: people's answers come under `reply/{serviceCn}/{their CN}/`. */
  serviceCn: string;
  maxConnections?: number;
  maxConnectionsPerPerson?: number;
  limits?: PolicyLimits;
}

interface OpenRelay {
  asker: ConsoleAsker;
  close(reason: string): void;
}

export class FleetConsole {
  readonly #options: FleetConsoleOptions | undefined;
  readonly #log: Logger | undefined;
  readonly #files: ConsolePageFiles;
  readonly #webSockets = relayWebSockets();
  readonly #open = new Set<OpenRelay>();
  /** Upgraded sockets are no longer the HTTP server's: stop() ends them. */
  readonly #sockets = new Set<Duplex>();

  constructor(options: { console: FleetConsoleOptions | undefined; files: ConsolePageFiles; log?: Logger }) {
    this.#options = options.console;
    this.#files = options.files;
    this.#log = options.log;
  }

  static claims(pathname: string): boolean {
    return pathname === "/console" || pathname.startsWith("/console/");
  }

  get open(): number {
    return this.#open.size;
  }

  /** The page for one box of theirs, with the requester it must ask answers for, or a script. */
  serve(response: ServerResponse, pathname: string, device: string | null, asker: ConsoleAsker | undefined): void {
    const script = consoleScript(this.#files, pathname);
    if (script) {
      response.writeHead(200, { "content-type": script.type, "cache-control": "no-cache" });
      return void response.end(script.body);
    }
    if (pathname !== "/console/") return plain(response, 404, "no such page");
    if (asker === undefined) return plain(response, 403, "the console needs a roster that names you (or a service run with --act-without-roster)");
    if (this.#options === undefined) return plain(response, 503, "the console is not set up on this fleet service");
    if (device === null || !DEVICE_ID_PATTERN.test(device)) return plain(response, 400, "the console needs ?device=ID, a box's id");
    // As the API answers: a box outside their sites is as absent as one that does not exist.
    if (!asker.sees(device)) return plain(response, 404, `no box ${device}`);
    const page = consolePageResponse(this.#files, `${this.#options.serviceCn}/${asker.cn}`);
    for (const [name, value] of Object.entries(page.headers)) response.setHeader(name, value);
    // The page's own policy replaces X-Frame-Options' DENY: the box page (same origin) frames it.
    response.removeHeader("x-frame-options");
    response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    response.end(page.body);
  }

  /**
   * A WebSocket upgrade at /console/mqtt whose Host the server has checked. `originAllowed` says
   * whether the page that opens it is the server's own.
   */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, asker: ConsoleAsker | undefined, originAllowed: (origin: string) => boolean): void {
    const refuse = (status: string, why: string) => {
      this.#log?.warn({ cn: asker?.cn ?? null, origin: request.headers.origin, remote: request.socket.remoteAddress, why }, "refused a console WebSocket");
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    const options = this.#options;
    const pathname = new URL(request.url ?? "/", "http://fleet.invalid").pathname;
    if (pathname !== "/console/mqtt" || options === undefined) return refuse("404 Not Found", "not the console relay");
    const origin = request.headers.origin;
    // A browser always sends Origin on a WebSocket handshake (RFC 6455 §4.1); a tool sends none.
    if (origin !== undefined && !originAllowed(origin)) return refuse("403 Forbidden", "a page of another origin");
    if (asker === undefined) return refuse("403 Forbidden", "nobody named: no roster, or not on it");
    if (asker.role === "backend") return refuse("403 Forbidden", "a backend has no console");
    const max = options.maxConnections ?? DEFAULT_MAX_CONSOLES;
    const perPerson = options.maxConnectionsPerPerson ?? DEFAULT_MAX_CONSOLES_PER_PERSON;
    if (this.#open.size >= max) return refuse("503 Service Unavailable", `${max} consoles already`);
    if ([...this.#open].filter((open) => open.asker.cn === asker.cn).length >= perPerson) return refuse("503 Service Unavailable", `${perPerson} consoles of this person already`);
    const entry: OpenRelay = { asker, close: () => socket.destroy() };
    this.#open.add(entry);
    this.#sockets.add(socket);
    socket.once("close", () => {
      this.#open.delete(entry);
      this.#sockets.delete(socket);
    });
    this.#webSockets.handleUpgrade(request, socket, head, (browser) => this.#relay(browser, entry, { ...asker, role: asker.role === "technician" ? "technician" : "operator" }, options));
  }

  /** Ends the relays of people whose access `stillSame` says changed (a roster reload); answers how many. */
  rosterChanged(stillSame: (audience: Audience) => boolean): number {
    const changed = [...this.#open].filter((open) => open.asker.audience !== undefined && !stillSame(open.asker.audience));
    for (const open of changed) open.close("your access changed: reconnecting");
    if (changed.length > 0) this.#log?.info({ ended: changed.length }, "console relays ended by a roster reload");
    return changed.length;
  }

  stop(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #relay(browser: WebSocket, entry: OpenRelay, asker: ConsoleAsker & { role: "operator" | "technician" }, options: FleetConsoleOptions): void {
    const log = this.#log?.child({ cn: asker.cn });
    const close = (reason: string) => {
      // A close frame's reason is at most 123 bytes (RFC 6455 §5.5); the log keeps the whole of it.
      if (browser.readyState === browser.OPEN) browser.close(POLICY_VIOLATION, Buffer.from(reason).subarray(0, 123).toString());
    };
    entry.close = (reason) => {
      close(reason);
      upstream.destroy();
    };
    const policy = new ConsolePolicy({
      grant: { serviceCn: options.serviceCn, personCn: asker.cn, role: asker.role, sees: (deviceId) => asker.sees(deviceId) },
      limits: options.limits ?? DEFAULT_POLICY_LIMITS,
      clientId: `thea-fleet-console-${randomUUID()}`,
    });
    const upstream = new ConsoleUpstream({
      socket: connectUpstream(options.broker),
      gate: new ConsoleGate({ policy, maxPacketBytes: MAX_CONSOLE_PACKET_BYTES }),
      onRefused: (reason) => {
        log?.warn({ reason }, "console relay: refused a packet, connection closed");
        close(`refused: ${reason}`);
      },
    });
    relay(browser, upstream, {
      onClosed: () => this.#open.delete(entry),
      onUpstreamError: (error) => log?.warn({ err: error.message }, "console relay: broker connection failed"),
    });
  }
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  response.end(`${text}\n`);
}
