/**
 * `thea fleet serve --broker mqtt[s]://HOST:PORT [--cert FILE --key FILE] [--ca FILE]
 * --data-dir DIR | --store postgres://USER@HOST/DB [--listen HOST:PORT] [--origin URL]...
 * [--web-cert FILE --web-key FILE --web-ca FILE [--roster FILE]]`: the fleet service. It keeps
 * the fleet's state in DIR/fleet.db (SQLite) or in PostgreSQL, follows the
 * boxes through the broker with its own certificate, and serves the page and API (server.ts)
 * until SIGTERM or SIGINT. With a roster, each person sees the boxes of their sites (access.ts);
 * SIGHUP reads the roster again.
 *
 * The fleet's core (store, fleet, ingest) is passed in as factories (FleetCore), so this file
 * composes and orders them without depending on how each is built; tools/fleet/main.ts passes
 * the real ones.
 */
import { X509Certificate } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pino } from "pino";
import { parseEndpoint } from "../../drivers/net/tcpLink.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import type { FleetView } from "./model.ts";
import { FleetMetrics, metricsSourcesOf, rolloutProgressOf } from "./metrics.ts";
import { RosterError, type Roster } from "../roster/roster.ts";
import { readRoster, RosterReloader, type RosterReload } from "./rosterReload.ts";
import { FleetServer, type FleetServerTls } from "./server.ts";
import { consoleBrokerOf } from "./consoleRelay.ts";
import type { ActionJournal } from "./serverActions.ts";
import { startRollouts } from "./rollout/service.ts";
import { openSqliteRolloutStore } from "./rollout/sqliteStore.ts";
import { openPgRolloutStore } from "./rollout/pgStore.ts";
import type { RolloutStore } from "./rollout/store.ts";
import type { BoxLink } from "./types/boxLink.ts";
import { stopSignal } from "../../lib/stopSignal.ts";

export const USAGE =
  "usage: thea fleet serve --broker mqtt://HOST:PORT | mqtts://HOST:PORT [--cert FILE --key FILE] [--ca FILE]\n" +
  "         --data-dir DIR | --store postgres://USER@HOST[:PORT]/DATABASE [--listen HOST:PORT] [--origin URL]... [--web-cert FILE --web-key FILE --web-ca FILE [--roster FILE]]\n" +
  "         (default listen 127.0.0.1:8090; --origin: an address the page is opened at besides the listening one;\n" +
  "         --roster: each person sees the boxes of their sites, by their certificate's CN, read again on SIGHUP;\n" +
  "         --store: PostgreSQL instead of SQLite in --data-dir; its password from PGPASSWORD or PGPASSFILE, never the URL;\n" +
  "         without it any certificate from --web-ca sees every box;\n" +
  "         --act-without-roster: on loopback without a roster, every client acts as a technician, for demos)\n";
export const DEFAULT_LISTEN = "127.0.0.1:8090";

/** What serve needs of the store: that it can be closed once everything using it has stopped. */
export interface ClosableStore {
  close(): void | Promise<void>;
}

export interface IngestSettings<Fleet> {
  url: string;
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  fleet: Fleet;
  log: Logger;
}

export interface LinkSettings {
  url: string;
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  /** The service certificate's CN (the broker lets it read answers under `reply/{CN}/` only); "thea-fleet" without one. */
  requesterId: string;
  log: Logger;
}

export interface StartStop {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** Where the fleet's state is kept: a SQLite file (the default), or a PostgreSQL database two instances may share. */
export type StoreLocation = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

/** The fleet's core, as factories (tools/fleet/main.ts passes fleet.ts, the stores and ingest.ts). */
export interface FleetCore<Store extends ClosableStore, Fleet extends FleetView & StartStop & Partial<ActionJournal>> {
  openStore(location: StoreLocation, log: Logger): Store | Promise<Store>;
  newFleet(options: { store: Store }): Fleet;
  newIngest(settings: IngestSettings<Fleet>): StartStop;
  /** The service's hands on the boxes (commands, desired state, reports): mqttBoxLink.ts. */
  newLink(settings: LinkSettings): BoxLink & StartStop;
}

export interface FleetServeArgs {
  broker?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
  listen?: string | undefined;
  origin?: string[] | undefined;
  dataDir?: string | undefined;
  store?: string | undefined;
  webCert?: string | undefined;
  webKey?: string | undefined;
  webCa?: string | undefined;
  roster?: string | undefined;
  actWithoutRoster?: boolean | undefined;
}

interface Settings {
  url: string;
  mqttTls: { cert?: Buffer; key?: Buffer; ca?: Buffer };
  host: string;
  port: number;
  hosts: string[];
  store: StoreLocation;
  webTls: FleetServerTls | undefined;
  /** The roster's file and what it said at start. */
  roster: { file: string; roster: Roster } | undefined;
  actWithoutRoster: boolean;
}

export interface ServeContext {
  log?: Logger;
  /** Resolves when the service is to stop; SIGTERM or SIGINT by default. */
  until?: Promise<void>;
  /** Told the page's address once it serves. */
  onListening?: (url: string) => void;
  /** Calls `reload` whenever the roster is to be read again; returns how to stop. SIGHUP by default. */
  reloadSignal?: (reload: () => void) => () => void;
  /** Told each reload's outcome (the log says it too). */
  onRosterReload?: (outcome: RosterReload) => void;
}

export type { RosterReload } from "./rosterReload.ts";

export async function fleetServeCommand<Store extends ClosableStore, Fleet extends FleetView & StartStop & Partial<ActionJournal>>(
  args: FleetServeArgs,
  core: FleetCore<Store, Fleet>,
  context: ServeContext = {},
): Promise<number> {
  const settings = await settingsOf(args);
  if (typeof settings === "string") {
    process.stderr.write(`thea fleet serve: ${settings}\n${USAGE}`);
    return 2;
  }
  if (settings instanceof RosterError) {
    process.stderr.write(`thea fleet serve: --roster ${args.roster ?? ""}: ${settings.message}\n`);
    return 2;
  }
  // Listening for SIGTERM before anything starts: a signal that came before Node had a listener
  // would take the default action and kill the service without closing its store.
  const until = context.until ?? stopSignal();
  // JSON lines on stderr, as the agent logs; journald takes them under systemd.
  const log = context.log ?? createLogger({ level: "info", destination: pino.destination(2) }).child({ ns: "fleet" });
  if (settings.store.kind === "sqlite") await mkdir(path.dirname(settings.store.file), { recursive: true, mode: 0o750 });
  const store = await core.openStore(settings.store, log);
  const stops: Array<() => void | Promise<void>> = [() => store.close()];
  const reloader = settings.roster && new RosterReloader({ file: settings.roster.file, log: log.child({ ns: "fleet:roster" }), ...(context.onRosterReload && { onReload: context.onRosterReload }) });
  // Listening before the server exists: SIGHUP's default action would end the service. A reload
  // asked for meanwhile is carried out once the server serves.
  if (reloader) stops.push((context.reloadSignal ?? hangUpSignal)(() => reloader.request()));
  try {
    const fleet = core.newFleet({ store });
    // The fleet loads what the store kept before the ingest brings anything newer.
    await fleet.start();
    stops.push(() => fleet.stop());
    const ingest = core.newIngest({ url: settings.url, ...settings.mqttTls, fleet, log: log.child({ ns: "fleet:ingest" }) });
    await ingest.start();
    stops.push(() => ingest.stop());
    const link = core.newLink({ url: settings.url, ...settings.mqttTls, requesterId: requesterOf(settings.mqttTls.cert), log: log.child({ ns: "fleet:link" }) });
    await link.start();
    stops.push(() => link.stop());
    // Staged rollouts take up what a previous run left unfinished once the link reaches the broker
    // (meanwhile creating one answers 503). A rollout store that cannot be opened must not take the
    // fleet page away from the night shift.
    const rollouts = await startRollouts({ openStore: rolloutStoreOf(settings.store, log), link, view: fleet, log: log.child({ ns: "fleet:rollout" }) }).catch((error: unknown) => {
      log.error({ err: messageOf(error) }, "staged rollouts are not available");
    });
    if (rollouts) stops.push(() => rollouts.stop());
    const server = await FleetServer.start({
      view: fleet,
      link,
      ...(rollouts && { rollouts: rollouts.api }),
      host: settings.host,
      port: settings.port,
      hosts: settings.hosts,
      metrics: new FleetMetrics({ view: fleet, ...metricsSourcesOf({ fleet, ingest }), ...(rollouts && { rollouts: rolloutProgressOf(rollouts.engine) }) }),
      ...(settings.webTls && { tls: settings.webTls }),
      ...(settings.roster && { roster: settings.roster.roster }),
      // The console in the box page relays to the same broker, as the service (consoleRelay.ts).
      console: { broker: consoleBrokerOf(settings.url, settings.mqttTls), serviceCn: requesterOf(settings.mqttTls.cert) },
      log: log.child({ ns: "fleet:server" }),
      // Actions go into the box's history beside its events, when the fleet keeps one.
      ...(fleet.record && { journal: { record: (entry) => fleet.record?.(entry) } }),
      actWithoutRoster: settings.actWithoutRoster,
    });
    stops.push(() => server.stop());
    if (reloader && settings.roster) {
      reloader.attach(server);
      log.info({ roster: settings.roster.file, people: settings.roster.roster.people.length }, "access by roster");
    } else if (settings.webTls) {
      log.warn("no --roster: any certificate from --web-ca sees every box");
    }
    if (settings.actWithoutRoster) log.warn("--act-without-roster: every client may act on every box as a technician");
    log.info({ url: server.url, broker: settings.url, store: settings.store.kind === "sqlite" ? settings.store.file : settings.store.url }, "fleet service serving");
    context.onListening?.(server.url);
    await until;
    log.info("fleet service stopping");
    return 0;
  } finally {
    // Reverse order: no request reads a fleet whose ingest stopped, nothing writes a closed store.
    for (const stop of stops.reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((error: unknown) => log.error({ err: messageOf(error) }, "a part of the fleet service failed to stop"));
    }
  }
}

/** Where rollouts are kept: beside the fleet's SQLite file, or in its PostgreSQL database (one instance drives them: rollout/shared.ts). */
function rolloutStoreOf(store: StoreLocation, log: Logger): () => Promise<RolloutStore> {
  if (store.kind === "sqlite") return async () => openSqliteRolloutStore(path.join(path.dirname(store.file), "rollouts.db"));
  return () => openPgRolloutStore({ url: store.url, log });
}

/** The CN of the service's own certificate: the requester its answers come back to. */
function requesterOf(cert: Buffer | undefined): string {
  if (cert === undefined) return "thea-fleet";
  try {
    return /(?:^|\n)CN=([^\n/+#]+)/.exec(new X509Certificate(cert).subject)?.[1] ?? "thea-fleet";
  } catch {
    return "thea-fleet"; // not a certificate: the broker refuses the connection and the log says so
  }
}

function hangUpSignal(reload: () => void): () => void {
  process.on("SIGHUP", reload);
  return () => void process.off("SIGHUP", reload);
}

/** The settings from the command line, or what is wrong with it (the roster's problems all listed). */
async function settingsOf(args: FleetServeArgs): Promise<Settings | string | RosterError> {
  const url = brokerUrl(args.broker);
  const listen = parseEndpoint(args.listen ?? DEFAULT_LISTEN);
  if (url === undefined) return "--broker must be mqtt://HOST:PORT or mqtts://HOST:PORT";
  if (!listen) return "--listen must be HOST:PORT";
  if (args.actWithoutRoster && args.roster !== undefined) return "--act-without-roster and --roster exclude each other: with a roster, each person acts as the roster says";
  if (args.actWithoutRoster && !isLoopback(listen.host)) return "--act-without-roster makes every client a technician: only on a loopback --listen address";
  const hosts = (args.origin ?? []).map(hostOf);
  if (hosts.some((host) => host === undefined)) return "--origin must be an http:// or https:// origin, such as https://fleet.hospital.example:8090";
  const store = storeOf(args);
  if (typeof store === "string") return store;
  if ((args.cert === undefined) !== (args.key === undefined)) return "--cert and --key go together (the fleet service's certificate and its key)";
  if (!url.startsWith("mqtts:") && [args.cert, args.key, args.ca].some((file) => file !== undefined)) return "--cert, --key and --ca are for an mqtts:// broker";
  const web = [args.webCert, args.webKey, args.webCa];
  if (web.some((file) => file !== undefined) && !web.every((file) => file !== undefined)) {
    return "--web-cert, --web-key and --web-ca go together: HTTPS, with a client certificate from --web-ca required of every browser";
  }
  if (args.roster !== undefined && args.webCa === undefined) {
    return "--roster needs --web-cert, --web-key and --web-ca: a person is known by their client certificate, which only HTTPS carries";
  }
  const files = await readAll({ cert: args.cert, key: args.key, ca: args.ca, "web-cert": args.webCert, "web-key": args.webKey, "web-ca": args.webCa });
  if (typeof files === "string") return files;
  const mqttTls = { ...(files.cert && { cert: files.cert }), ...(files.key && { key: files.key }), ...(files.ca && { ca: files.ca }) };
  const webCert = files["web-cert"];
  const webKey = files["web-key"];
  const webCa = files["web-ca"];
  const webTls = webCert && webKey && webCa ? { cert: webCert, key: webKey, ca: webCa } : undefined;
  let roster: Settings["roster"];
  if (args.roster !== undefined) {
    const file = path.resolve(args.roster);
    const read = await readRoster(file);
    if (read instanceof RosterError) return read;
    roster = { file, roster: read };
  }
  return { url, mqttTls, host: listen.host, port: listen.port, hosts: hosts.filter((host) => host !== undefined), store, webTls, roster, actWithoutRoster: args.actWithoutRoster ?? false };
}

function storeOf(args: FleetServeArgs): StoreLocation | string {
  const dataDir = args.dataDir === "" ? undefined : args.dataDir;
  if (args.store === undefined) {
    if (dataDir === undefined) return "--data-dir DIR is needed (the fleet's state is kept in DIR/fleet.db), or --store postgres://…";
    return { kind: "sqlite", file: path.join(path.resolve(dataDir), "fleet.db") };
  }
  if (dataDir !== undefined) return "--data-dir and --store are one or the other: SQLite in DIR, or PostgreSQL";
  // Read by hand, not by URL: a socket's form, postgres://USER@/DATABASE?host=/run/postgresql,
  // has no host, which WHATWG URL refuses for a scheme it does not know.
  const parts = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?[^/?#]*(\/[^?#]*)?/.exec(args.store);
  if (!parts) return "--store must be a postgres:// URL: postgres://USER@HOST[:PORT]/DATABASE, or ?host=/run/postgresql for a socket (SQLite is --data-dir DIR)";
  // A command line is readable by every user of the machine (ps, /proc/PID/cmdline) and lands in logs.
  if (parts[1]?.includes(":")) return "--store must not carry a password: put it in PGPASSWORD or a password file named by PGPASSFILE (libpq's ~/.pgpass format)";
  if ((parts[2] ?? "").length <= 1) return "--store must name the database: postgres://USER@HOST/DATABASE";
  return { kind: "postgres", url: args.store };
}

async function readAll(files: Record<string, string | undefined>): Promise<Record<string, Buffer | undefined> | string> {
  const read: Record<string, Buffer | undefined> = {};
  for (const [name, file] of Object.entries(files)) {
    if (file === undefined) continue;
    try {
      read[name] = await readFile(file);
    } catch (error) {
      return `cannot read --${name} ${file}: ${messageOf(error)}`;
    }
  }
  return read;
}

function brokerUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const url = new URL(text);
    return (url.protocol === "mqtt:" || url.protocol === "mqtts:") && url.hostname !== "" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The Host header a browser sends for a page at `origin` (the port always written, as the server compares). */
function hostOf(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== origin.replace(/\/$/, "")) return undefined;
    return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
