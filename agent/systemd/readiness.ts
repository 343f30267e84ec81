/**
 * When the agent tells systemd it is up (READY=1), and what `systemctl status` says meanwhile:
 * ready on the first broker connection, or after mqtt.connectTimeoutSec without one. The agent is
 * working even when the broker is unreachable (it keeps retrying and storing readings); failing
 * the start would only make systemd restart it in a loop.
 */
import type { Service } from "../core/service.ts";
import type { SystemdNotifier } from "./notify.ts";

export const READY_ONLINE = "online: connected to the broker";
export const DEGRADED_OFFLINE = "degraded: broker unreachable, retrying";

/** What readiness needs of the broker connection (a seam for tests). */
export interface ConnectionSignals {
  on(event: "connected" | "disconnected", listener: () => void): unknown;
  off(event: "connected" | "disconnected", listener: () => void): unknown;
}

export interface ReadinessOptions {
  broker: ConnectionSignals;
  notifier: Pick<SystemdNotifier, "ready" | "status">;
  /** How long to wait for the broker before saying ready anyway (mqtt.connectTimeoutSec). */
  fallbackMs: number;
}

export class Readiness implements Service {
  readonly #options: ReadinessOptions;
  readonly #onConnected = () => void this.#becomeReady(READY_ONLINE);
  readonly #onDisconnected = () => void this.#options.notifier.status(DEGRADED_OFFLINE);
  #timer: NodeJS.Timeout | undefined;
  #ready = false;

  constructor(options: ReadinessOptions) {
    this.#options = options;
  }

  /** Before the broker connection starts, so its first `connected` is not missed. */
  start(): void {
    const { broker, fallbackMs } = this.#options;
    broker.on("connected", this.#onConnected);
    broker.on("disconnected", this.#onDisconnected);
    this.#timer = setTimeout(() => void this.#becomeReady(DEGRADED_OFFLINE), fallbackMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#options.broker.off("connected", this.#onConnected);
    this.#options.broker.off("disconnected", this.#onDisconnected);
  }

  async #becomeReady(status: string): Promise<void> {
    if (this.#ready) {
      await this.#options.notifier.status(status);
      return;
    }
    this.#ready = true;
    clearTimeout(this.#timer);
    await this.#options.notifier.ready(status);
  }
}
