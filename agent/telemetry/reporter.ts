/**
 * Publishes presence and health: the retained online status and a health report on every
 * (re)connect, then health every telemetry.healthIntervalSec while connected. Offline, health is
 * skipped, not queued: the next report carries the current figures anyway.
 */
import type { AgentContext } from "../context.ts";
import { messageOf } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ConnectedInfo, MqttSession } from "../mqtt/session.ts";
import type { DeviceTopics } from "../mqtt/topics.ts";
import type { HealthCollector } from "./health.ts";
import { onlineStatus } from "./status.ts";

export interface TelemetryReporterOptions {
  ctx: AgentContext;
  session: MqttSession;
  topics: DeviceTopics;
  health: HealthCollector;
}

export class TelemetryReporter {
  readonly #options: TelemetryReporterOptions;
  readonly #log: Logger;
  readonly #onConnected = (info: ConnectedInfo) => void this.#announce(info);
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TelemetryReporterOptions) {
    this.#options = options;
    this.#log = options.ctx.log.child({ ns: "telemetry" });
  }

  start(): void {
    this.#options.session.on("connected", this.#onConnected);
    const intervalMs = this.#options.ctx.config.telemetry.healthIntervalSec * 1000;
    this.#timer = setInterval(() => void this.#publishHealth(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#options.session.off("connected", this.#onConnected);
  }

  async #announce(info: ConnectedInfo): Promise<void> {
    const { ctx, session, topics } = this.#options;
    const status = await onlineStatus(ctx, info.session);
    await session.publish(topics.status, JSON.stringify(status), { qos: 1, retain: true });
    await this.#publishHealth();
  }

  async #publishHealth(): Promise<void> {
    const { session, topics, health } = this.#options;
    if (!session.connected) return;
    try {
      const payload = await health.collect();
      await session.publish(topics.health, JSON.stringify(payload), { qos: 1 });
    } catch (error) {
      this.#log.error({ err: messageOf(error) }, "health report failed");
    }
  }
}
