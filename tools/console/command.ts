/**
 * `thea console --broker mqtt[s]://HOST:PORT [--cert FILE --key FILE] [--ca FILE] [--listen HOST:PORT]
 * [--origin URL] [--max-connections N]`: serves the operator console and relays its MQTT over
 * WebSocket to that broker (over TLS with the operator's own certificate for mqtts://), then prints
 * the address to open, which carries this start's secret token.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { parseEndpoint } from "../../drivers/net/tcpLink.ts";
import { createLogger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { DEFAULT_MAX_CONNECTIONS, ConsoleServer, type BrokerUpstream, type ConsoleServerOptions } from "./server.ts";
import { stopSignal } from "../../lib/stopSignal.ts";

const USAGE =
  "usage: thea console --broker mqtt://HOST:PORT | mqtts://HOST:PORT [--cert FILE --key FILE] [--ca FILE]\n" +
  `         [--listen HOST:PORT] [--origin URL]... [--max-connections N]   (default listen 127.0.0.1:8080, ${DEFAULT_MAX_CONNECTIONS} connections; 1 with --cert)\n`;

export interface ConsoleArgs {
  broker: string | undefined;
  listen: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
  origin?: string[] | undefined;
  maxConnections?: string | undefined;
}

export async function consoleCommand(args: ConsoleArgs): Promise<number> {
  const settings = await settingsOf(args);
  if (typeof settings === "string") {
    process.stderr.write(`thea console: ${settings}\n${USAGE}`);
    return 2;
  }
  // Log lines go to stderr; stdout says only where to go.
  const log = createLogger({ level: "info", destination: pino.destination(2) }).child({ ns: "console" });
  const server = await ConsoleServer.start({ ...settings, log });
  const page = server.url(`/?device=DEVICE-ID&camera=CAMERA-ID${requesterParam(settings.broker)}`);
  const certificate = args.cert === undefined ? "" : ` with ${args.cert}`;
  // Listening before the address is printed: whoever reads it may stop the console at once (lib/stopSignal.ts).
  const stopped = stopSignal();
  process.stdout.write(
    `console: open ${page}\n` +
      `(the token in that address is new at each start: keep it to yourself. MQTT over WebSocket at /mqtt is relayed to ${args.broker}${certificate}; Ctrl-C stops)\n`,
  );
  await stopped;
  await server.stop();
  return 0;
}

type ServerSettings = Pick<ConsoleServerOptions, "host" | "port" | "broker" | "origins" | "maxConnections">;

/** The server's settings from the command line, or what is wrong with it. */
async function settingsOf(args: ConsoleArgs): Promise<ServerSettings | string> {
  const broker = brokerEndpoint(args.broker);
  const listen = parseEndpoint(args.listen ?? "127.0.0.1:8080");
  // With a certificate, the kit's broker holds one connection per certificate (docs/deploy): a
  // second tab would take the first one's place, the first would reconnect and take it back, and
  // so on for ever. One at a time: the tab already open keeps working, a second one is refused.
  const maxConnections = Number(args.maxConnections ?? (args.cert === undefined ? DEFAULT_MAX_CONNECTIONS : 1));
  const origins = args.origin ?? [];
  if (!broker || !listen) return "--broker must be mqtt://HOST:PORT or mqtts://HOST:PORT, --listen HOST:PORT";
  if (!Number.isInteger(maxConnections) || maxConnections < 1) return "--max-connections must be a whole number of 1 or more";
  if (!origins.every(isHttpOrigin)) return "--origin must be an http:// or https:// origin, such as http://console.clinic.example:8080";
  const files = { ca: args.ca, cert: args.cert, key: args.key };
  const named = Object.entries(files).filter((entry): entry is [keyof typeof files, string] => entry[1] !== undefined);
  if (!broker.tls && named.length > 0) return "--cert, --key and --ca are for an mqtts:// broker";
  if ((files.cert === undefined) !== (files.key === undefined)) return "--cert and --key go together (the operator's certificate and its key)";
  const settings = { host: listen.host, port: listen.port, broker, origins, maxConnections };
  if (!broker.tls) return settings;
  const tls: NonNullable<BrokerUpstream["tls"]> = {};
  for (const [name, file] of named) {
    try {
      tls[name] = await readFile(file);
    } catch (error) {
      return `cannot read --${name} ${file}: ${messageOf(error)}`;
    }
  }
  return { ...settings, broker: { ...broker, tls } };
}

/**
 * On the kit's broker a person reads answers only under `reply/{their certificate CN}/` (docs/deploy):
 * the page must ask for them there, so the address names the operator's CN as its requester.
 */
function requesterParam(broker: BrokerUpstream | undefined): string {
  const cert = broker?.tls?.cert;
  if (cert === undefined) return "";
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(cert).subject)?.[1];
  return cn === undefined ? "" : `&requester=${encodeURIComponent(cn)}`;
}

function brokerEndpoint(url: string | undefined): BrokerUpstream | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "mqtt:" && parsed.protocol !== "mqtts:") return undefined;
    const tls = parsed.protocol === "mqtts:";
    // URL keeps IPv6 hosts in brackets; net.connect wants them bare.
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(parsed.port || (tls ? 8883 : 1883)), ...(tls && { tls: {} }) };
  } catch {
    return undefined;
  }
}

function isHttpOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text.replace(/\/$/, "");
  } catch {
    return false;
  }
}
