import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys whose values never reach a log line, a reported config or a diagnostics bundle. */
const SECRET_KEYS = ["password", "passphrase", "secret", "token", "credential", "privateKey"] as const;
const SECRET_KEY = new RegExp(`^(${SECRET_KEYS.join("|")})$`, "i");

/**
 * Paths pino censors. pino's redaction is path-based, so list the depths where secrets appear
 * (config.mqtt.password is three levels down when a whole config is logged, a TURN credential
 * in config.media.iceServers[i] four).
 */
const REDACT_PATHS = SECRET_KEYS.flatMap((name) => [
  name,
  `*.${name}`,
  `*.*.${name}`,
  `*.*.*.${name}`,
  `*.*.*.*.${name}`,
]);

/**
 * Changes the level of a logger and of every child made from it. pino copies the level into a
 * child when it is made, so children are tracked (weakly) as they are created. Every viewing
 * session makes a child, so the references to children gone are dropped as the set grows (a heap
 * snapshot after 200 sessions held 200 of them); `set` is too rare to be the only cleaner.
 */
export class LogLevels {
  readonly #children = new Set<WeakRef<Logger>>();
  #pruneAt = 64;
  #root: Logger | undefined;

  attach(root: Logger): void {
    this.#root = root;
  }

  track(child: Logger): void {
    this.#children.add(new WeakRef(child));
    if (this.#children.size < this.#pruneAt) return;
    for (const ref of this.#children) if (!ref.deref()) this.#children.delete(ref);
    // Pruning again only once the live ones have doubled keeps tracking O(1) on average.
    this.#pruneAt = Math.max(64, this.#children.size * 2);
  }

  /** How many children are tracked (live, or gone since the last pruning). */
  get tracked(): number {
    return this.#children.size;
  }

  set(level: LogLevel): void {
    if (this.#root) this.#root.level = level;
    for (const ref of this.#children) {
      const child = ref.deref();
      if (child) child.level = level;
      else this.#children.delete(ref);
    }
  }
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; stdout (journald under systemd) when omitted. Tests pass a stream. */
  destination?: DestinationStream;
  /** A second destination that keeps recent lines (logs.tail, diagnostics). */
  keep?: DestinationStream;
  /** Lets the level be changed later, children included. */
  levels?: LogLevels;
}

export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { app: "thea" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    // A URL's user-info can sit in any string (the broker URL the session logs on connect, an
    // error message quoting it), so it is not a path pino could list.
    formatters: { log: (object: Record<string, unknown>) => redactUrlCredentials(object) },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(options.levels && { onChild: (child: Logger) => options.levels?.track(child) }),
  };
  const out = options.destination ?? pino.destination(1);
  // With a kept copy, each stream takes every line the logger lets through; the logger's level decides.
  const logger = options.keep ? pino(settings, pino.multistream([{ level: "trace", stream: out }, { level: "trace", stream: options.keep }])) : pino(settings, out);
  options.levels?.attach(logger);
  return logger;
}

/** A copy of `value` with every secret-looking key's value replaced, at any depth. */
export function redactSecrets<T>(value: T): T {
  return redactValue(value) as T;
}

/**
 * `scheme://user:pass@host` → `scheme://[redacted]@host`: URL user-info (RFC 3986 §3.2.1) is a
 * credential wherever it appears.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

export function redactUrlUserInfo(text: string): string {
  return text.replace(URL_USERINFO, "$1[redacted]@");
}

/** A copy with URL user-info redacted in every string, at any depth (keys kept). */
export function redactUrlCredentials<T>(value: T): T {
  return redactStrings(value) as T;
}

function redactStrings(value: unknown): unknown {
  if (typeof value === "string") return redactUrlUserInfo(value);
  if (Array.isArray(value)) return value.map(redactStrings);
  if (value === null || typeof value !== "object" || value instanceof Error) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactStrings(inner)]));
}

function redactValue(value: unknown): unknown {
  if (typeof value === "string") return redactUrlUserInfo(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && inner !== undefined ? "[redacted]" : redactValue(inner);
  }
  return out;
}
