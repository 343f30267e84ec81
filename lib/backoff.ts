/**
 * Waiting between attempts to reach something: the window doubles per failed attempt from
 * `initialDelayMs` up to `maxDelayMs`. With full jitter the wait is uniform in [0, window], which
 * keeps a fleet that lost its broker at the same instant from coming back in lock-step; without,
 * the wait is the window itself (one device on a cable: no fleet to spread, and the delay the
 * link reports is the delay it keeps).
 */
export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** "full" (the default): uniform in [0, window]. "none": the window. */
  jitter?: "full" | "none";
}

/** Past this the window is at any cap a caller could mean (2^30 ms is twelve days), and 2^n stays finite. */
const MAX_DOUBLINGS = 30;

/** The window after `attempt` failed attempts (0: none yet), capped. */
export function backoffWindowMs(attempt: number, { initialDelayMs, maxDelayMs }: BackoffOptions): number {
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(Math.max(attempt, 0), MAX_DOUBLINGS));
}

/** The wait before the next attempt after `attempt` failed ones; `random` draws the jitter. */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const window = backoffWindowMs(attempt, options);
  return options.jitter === "none" ? window : Math.round(random() * window);
}

export interface BackoffSettings extends BackoffOptions {
  /** A connection must last this long before the count starts over from the first window. */
  stableAfterMs: number;
}

/**
 * The attempt count for a connection that comes and goes (the broker, a camera's pipeline, a
 * Bluetooth LE device). It only starts over after a connection has been stable for a while, so a
 * peer that accepts and then drops connections does not pull every box back to the shortest window.
 */
export class ReconnectBackoff {
  readonly #settings: BackoffSettings;
  readonly #random: () => number;
  #attempt = 0;
  #connectedAt: number | undefined;

  constructor(settings: BackoffSettings, random: () => number = Math.random) {
    this.#settings = settings;
    this.#random = random;
  }

  get attempt(): number {
    return this.#attempt;
  }

  connected(now: number): void {
    this.#connectedAt = now;
  }

  /** The connection (or an attempt) ended: how long to wait before the next attempt. */
  nextDelayMs(now: number): number {
    if (this.#connectedAt !== undefined && now - this.#connectedAt >= this.#settings.stableAfterMs) {
      this.#attempt = 0;
    }
    this.#connectedAt = undefined;
    const delay = backoffDelayMs(this.#attempt, this.#settings, this.#random);
    if (backoffWindowMs(this.#attempt, this.#settings) < this.#settings.maxDelayMs) this.#attempt += 1;
    return delay;
  }
}
