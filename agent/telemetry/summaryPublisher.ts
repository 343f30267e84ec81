/**
 * Publishes the retained summary on change, at most once per telemetry.summaryMinIntervalSec:
 * a change within the interval goes out when it ends (the latest value wins, none is lost), and
 * the first one as soon as the box is online. The summary is computed again at once when a
 * peripheral's state changes, on each health report, and every few seconds for the rest (outbox,
 * update and config state, consultations); an unchanged summary is not published again.
 *
 * On a clean stop or a lost connection the summary stays as the last known state: whether the box
 * is online is read from `status` (retained, with the last will).
 */
import type { AgentContext } from "../core/context.ts";
import type { Service } from "../core/service.ts";
import type { ConfigService } from "../remoteConfig/service.ts";
import type { Consultations } from "../core/consultations.ts";
import type { PeripheralManager } from "../devices/manager.ts";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { HealthPayload, OutboxHealth } from "../core/api.ts";
import type { BrokerConnection } from "../mqtt/connection.ts";
import type { DeviceTopics } from "../core/topics.ts";
import { UpdateStore } from "../update/state.ts";
import { computeSummary, encodeSummary } from "./summary.ts";

/** Longest wait between two looks at what has no change event (outbox, update and config state, consultations). */
const SAMPLE_MAX_MS = 10_000;

export interface CoalescingPublisherOptions {
  publish: (payload: string) => Promise<boolean>;
  minIntervalMs: () => number;
  now?: () => number;
}

/** At most one publish per interval; the latest offered payload wins; a failed one is retried. */
export class CoalescingPublisher {
  readonly #options: CoalescingPublisherOptions;
  readonly #now: () => number;
  #latest: string | undefined;
  /** What the broker has retained from us (as far as we know). */
  #published: string | undefined;
  #lastAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #sending = false;
  #online = false;

  constructor(options: CoalescingPublisherOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  offer(payload: string): void {
    this.#latest = payload;
    this.#flush();
  }

  online(): void {
    this.#online = true;
    this.#flush();
  }

  offline(): void {
    this.#online = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    const payload = this.#latest;
    if (!this.#online || this.#sending || payload === undefined || payload === this.#published) return;
    const wait = this.#lastAt + this.#options.minIntervalMs() - this.#now();
    if (wait > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, wait);
      return;
    }
    void this.#send(payload);
  }

  async #send(payload: string): Promise<void> {
    this.#sending = true;
    this.#lastAt = this.#now();
    try {
      if (await this.#options.publish(payload)) this.#published = payload;
    } finally {
      this.#sending = false;
    }
    this.#flush();
  }
}

export interface SummaryServiceOptions {
  ctx: AgentContext;
  broker: BrokerConnection;
  topics: DeviceTopics;
  config: Pick<ConfigService, "standing">;
  peripherals: Pick<PeripheralManager, "list">;
  consultations: Pick<Consultations, "live">;
  outbox: () => Pick<OutboxHealth, "depth" | "oldestPendingAgeSec">;
}

export class SummaryService implements Service {
  readonly #options: SummaryServiceOptions;
  readonly #log: Logger;
  readonly #publisher: CoalescingPublisher;
  readonly #updates: UpdateStore;
  readonly #onConnected = () => {
    this.#onlineSince = new Date();
    this.#publisher.online();
    // Otherwise the health report the reporter sends on connecting brings the first summary.
    if (this.#health) this.refresh();
  };
  readonly #onDisconnected = () => this.#publisher.offline();
  #onlineSince: Date | undefined;
  #health: HealthPayload | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> = Promise.resolve();

  constructor(options: SummaryServiceOptions) {
    this.#options = options;
    this.#log = options.ctx.log.child({ ns: "summary" });
    this.#updates = new UpdateStore(options.ctx.config.dataDir);
    const { broker, topics } = options;
    this.#publisher = new CoalescingPublisher({
      publish: (payload) => broker.publish(topics.summary, payload, { qos: 1, retain: true }),
      minIntervalMs: () => options.ctx.config.telemetry.summaryMinIntervalSec * 1000,
    });
  }

  start(): void {
    this.#options.broker.on("connected", this.#onConnected);
    this.#options.broker.on("disconnected", this.#onDisconnected);
    this.#schedule();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#publisher.offline();
    this.#options.broker.off("connected", this.#onConnected);
    this.#options.broker.off("disconnected", this.#onDisconnected);
  }

  /** Takes a new telemetry.summaryMinIntervalSec (a live config change). */
  reconfigure(): void {
    clearInterval(this.#timer);
    this.#schedule();
  }

  /** Each health report brings temperature, disk and clock. */
  noteHealth(report: HealthPayload): void {
    this.#health = report;
    this.refresh();
  }

  /** Looks at the services now and offers the summary; concurrent looks run one after another. */
  refresh(): void {
    this.#refreshing = this.#refreshing
      .then(() => this.#refresh())
      .catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "summary failed"));
  }

  #schedule(): void {
    const sampleMs = Math.min(SAMPLE_MAX_MS, this.#options.ctx.config.telemetry.summaryMinIntervalSec * 1000);
    this.#timer = setInterval(() => this.refresh(), sampleMs);
  }

  async #refresh(): Promise<void> {
    const onlineSince = this.#onlineSince;
    if (!onlineSince) return;
    const { ctx, config, peripherals, consultations, outbox } = this.#options;
    const update = await this.#updates.load();
    const summary = computeSummary({
      site: ctx.config.site,
      onlineSince,
      version: ctx.version,
      config: config.standing(),
      update: update.state,
      clockSynchronized: this.#health?.clockSynchronized ?? null,
      health: this.#health,
      outbox: outbox(),
      peripherals: peripherals.list(),
      consultations: consultations.live(),
    });
    this.#publisher.offer(encodeSummary(summary));
  }
}
