/**
 * Answers to recent requests, by request id (MQTT 5 correlation data): a technician's retry of a
 * command that already ran — or is still running — gets the same answer instead of running it
 * again (a retried reboot must not reboot twice). Bounded in time and size.
 */
import type { CommandResponse } from "../mqtt/api.ts";

export class ResponseCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { at: number; response: Promise<CommandResponse> }>();

  constructor(options: { ttlMs: number; maxEntries: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** The answer already given (or being worked out) for `key`, else runs `work` and keeps its answer. */
  answer(key: string, work: () => Promise<CommandResponse>): { response: Promise<CommandResponse>; repeated: boolean } {
    const now = this.#now();
    this.#expire(now);
    const known = this.#entries.get(key);
    if (known) return { response: known.response, repeated: true };
    const response = work();
    this.#entries.set(key, { at: now, response });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return { response, repeated: false };
  }

  #expire(now: number): void {
    // Map order is insertion order, so the oldest come first.
    for (const [key, entry] of this.#entries) {
      if (now - entry.at < this.#ttlMs) break;
      this.#entries.delete(key);
    }
  }
}
