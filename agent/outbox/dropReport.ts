/**
 * Tells operators what the outbox lost or how it is failing, as events: a degraded store at
 * once, drops as one `outbox.dropped` event a minute at most. Dropped events themselves are not
 * reported with another event: in a full outbox that would only make more drops.
 */
import type { Service } from "../core/service.ts";
import type { EventLog } from "./events.ts";
import type { DropCounts, OutboxStats } from "./outbox.ts";

/** What the report needs of the outbox (a seam for tests). */
export interface DropSource {
  on(event: "dropped", listener: (counts: Partial<DropCounts>) => void): unknown;
  off(event: "dropped", listener: (counts: Partial<DropCounts>) => void): unknown;
  on(event: "degraded", listener: (reason: string) => void): unknown;
  off(event: "degraded", listener: (reason: string) => void): unknown;
  stats(): Pick<OutboxStats, "dropped">;
}

/** At most one drop event a minute: drops come in bursts when a long outage fills the outbox. */
export const DROP_REPORT_INTERVAL_MS = 60_000;

export class DropReport implements Service {
  readonly #outbox: DropSource;
  readonly #events: Pick<EventLog, "record">;
  readonly #intervalMs: number;
  readonly #pending: Record<string, number> = {};
  readonly #onDegraded = (reason: string) => this.#events.record("outbox.degraded", { reason });
  readonly #onDropped = (counts: Partial<DropCounts>) => this.#note(counts);
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { outbox: DropSource; events: Pick<EventLog, "record">; intervalMs?: number }) {
    this.#outbox = options.outbox;
    this.#events = options.events;
    this.#intervalMs = options.intervalMs ?? DROP_REPORT_INTERVAL_MS;
  }

  /** Before the outbox starts: opening it may already degrade it. */
  start(): void {
    this.#outbox.on("degraded", this.#onDegraded);
    this.#outbox.on("dropped", this.#onDropped);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#outbox.off("degraded", this.#onDegraded);
    this.#outbox.off("dropped", this.#onDropped);
  }

  #note(counts: Partial<DropCounts>): void {
    for (const [priority, count] of Object.entries(counts)) {
      if (priority !== "event" && count) this.#pending[priority] = (this.#pending[priority] ?? 0) + count;
    }
    if (this.#timer || Object.keys(this.#pending).length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const dropped = { ...this.#pending };
      for (const key of Object.keys(this.#pending)) delete this.#pending[key];
      this.#events.record("outbox.dropped", { dropped, totals: this.#outbox.stats().dropped });
    }, this.#intervalMs);
  }
}
