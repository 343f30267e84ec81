/**
 * Reconnect timing: exponential backoff with full jitter (the wait is uniform in [0, window],
 * the window doubling per failed attempt up to a cap). Full jitter keeps a fleet that lost its
 * broker at the same instant from coming back in lock-step. The attempt count only starts over
 * after a connection has been stable for a while, so a broker that accepts and then drops
 * connections does not pull every box back to the shortest window.
 */
export interface BackoffSettings {
  initialDelayMs: number;
  maxDelayMs: number;
  stableAfterMs: number;
}

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
    const window = Math.min(this.#settings.maxDelayMs, this.#settings.initialDelayMs * 2 ** this.#attempt);
    if (window < this.#settings.maxDelayMs) this.#attempt += 1;
    return Math.round(this.#random() * window);
  }
}
