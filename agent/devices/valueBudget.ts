/**
 * How many values a Bluetooth LE device may hand the agent: a token bucket. It holds `burst`
 * values (a glucose meter sending its whole memory of stored records at once passes) and refills
 * at `perSecond` (far above any standard health device's steady rate), so a device that floods
 * notifications costs a bounded amount of decoding and publishing, whatever it sends.
 */
export class ValueBudget {
  readonly #burst: number;
  readonly #perSecond: number;
  #tokens: number;
  #at: number;

  constructor(options: { burst: number; perSecond: number; now: number }) {
    this.#burst = options.burst;
    this.#perSecond = options.perSecond;
    this.#tokens = options.burst;
    this.#at = options.now;
  }

  /** True when one more value may pass at `now` (ms); false: drop it (and count it). */
  take(now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.#perSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
