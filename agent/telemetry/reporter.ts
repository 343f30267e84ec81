/**
 * Publishes presence and health: the retained online status on every (re)connect, and a health
 * report then and every telemetry.healthIntervalSec. Health goes through the outbox at the lowest
 * priority, so reports from an outage arrive later — and are the first dropped when it is full.
 */
import type { AgentContext } from "../core/context.ts";
import type { Service } from "../core/service.ts";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { ConnectedInfo, BrokerConnection } from "../mqtt/connection.ts";
import type { DeviceTopics } from "../core/topics.ts";
import type { EventLog } from "../outbox/events.ts";
import { DiskUsageWatch } from "./diskUsage.ts";
import type { Outbox } from "../outbox/outbox.ts";
import { PRIORITY } from "../outbox/priority.ts";
import type { HealthPayload } from "../core/api.ts";
import type { HealthCollector } from "./health.ts";
import { publishJson } from "../mqtt/publish.ts";
import { onlineStatus } from "./status.ts";

export interface TelemetryReporterOptions {
  ctx: AgentContext;
  broker: BrokerConnection;
  topics: DeviceTopics;
  health: HealthCollector;
  outbox: Outbox;
  events: EventLog;
  /** Each report, once collected (the summary takes its figures from it). */
  onHealth?: (report: HealthPayload) => void;
}

export class TelemetryReporter implements Service {
  readonly #options: TelemetryReporterOptions;
  readonly #log: Logger;
  readonly #onConnected = (info: ConnectedInfo) => void this.#announce(info);
  readonly #disk = new DiskUsageWatch();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TelemetryReporterOptions) {
    this.#options = options;
    this.#log = options.ctx.log.child({ ns: "telemetry" });
  }

  start(): void {
    this.#options.broker.on("connected", this.#onConnected);
    this.#schedule();
  }

  /** Takes a new telemetry.healthIntervalSec (a live config change). */
  reconfigure(): void {
    clearInterval(this.#timer);
    this.#schedule();
  }

  #schedule(): void {
    const intervalMs = this.#options.ctx.config.telemetry.healthIntervalSec * 1000;
    this.#timer = setInterval(() => void this.#publishHealth(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#options.broker.off("connected", this.#onConnected);
  }

  async #announce(info: ConnectedInfo): Promise<void> {
    const { ctx, broker, topics } = this.#options;
    const status = await onlineStatus(ctx, info.connection);
    await publishJson(broker, topics.status, status, { qos: 1, retain: true });
    await this.#publishHealth();
  }

  async #publishHealth(): Promise<void> {
    const { topics, health, outbox } = this.#options;
    try {
      const report = await health.collect();
      this.#options.onHealth?.(report);
      outbox.enqueue({ topic: topics.health, priority: PRIORITY.telemetry, createdAt: Date.now(), payload: JSON.stringify(report) });
      if ("usedPercent" in report.disk && this.#disk.check(report.disk.usedPercent)) {
        this.#options.events.record("disk.usage-high", { path: report.disk.path, usedPercent: report.disk.usedPercent, freeBytes: report.disk.freeBytes });
      }
    } catch (error) {
      this.#log.error({ err: messageOf(error) }, "health report failed");
    }
  }
}
