/**
 * "Still here": an empty, non-retained QoS 0 message on `thea/v1/{deviceId}/alive` every
 * mqtt.keepaliveSec while connected, so a fleet view can tell a silent box from a live one at the
 * keep-alive's cadence. The broker alone acts on a silent client only after 1.5 × its keep-alive
 * (MQTT 5 §3.1.2.10), and mosquitto some seconds later still: 43–49 s at 30 s (docs/fleet.md).
 *
 * It costs about what it replaces: any packet from the client resets the keep-alive timer
 * (§3.1.2.10), and mqtt.js puts off its PINGREQ after each packet sent, so an idle box sends this
 * instead of a ping; the extra is the topic's bytes (docs/mqtt-api.md, `alive`).
 */
import type { AgentContext } from "../core/context.ts";
import type { Service } from "../core/service.ts";
import type { DeviceTopics } from "../core/topics.ts";
import type { BrokerConnection } from "../mqtt/connection.ts";

export interface AliveHeartbeatOptions {
  ctx: Pick<AgentContext, "config">;
  broker: Pick<BrokerConnection, "publish" | "on" | "off">;
  topics: Pick<DeviceTopics, "alive">;
}

export class AliveHeartbeat implements Service {
  readonly #options: AliveHeartbeatOptions;
  readonly #onConnected = (): void => this.#begin();
  readonly #onDisconnected = (): void => this.#end();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AliveHeartbeatOptions) {
    this.#options = options;
  }

  start(): void {
    this.#options.broker.on("connected", this.#onConnected);
    this.#options.broker.on("disconnected", this.#onDisconnected);
  }

  stop(): void {
    this.#end();
    this.#options.broker.off("connected", this.#onConnected);
    this.#options.broker.off("disconnected", this.#onDisconnected);
  }

  /** At each connection, the keep-alive it was made with (status.keepaliveSec says the same). */
  #begin(): void {
    this.#end();
    const { ctx, broker, topics } = this.#options;
    const intervalMs = ctx.config.mqtt.keepaliveSec * 1000;
    // QoS 0: a lost heartbeat is replaced by the next one; nothing to acknowledge or keep.
    this.#timer = setInterval(() => void broker.publish(topics.alive, "", { qos: 0, retain: false }), intervalMs);
  }

  #end(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
