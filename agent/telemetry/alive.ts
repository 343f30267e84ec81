/**
 * "Still here": an empty, non-retained QoS 1 message on `thea/v1/{deviceId}/alive` every
 * mqtt.keepaliveSec while connected, so a fleet view can tell a silent box from a live one at the
 * keep-alive's cadence. The broker alone acts on a silent client only after 1.5 × its keep-alive
 * (MQTT 5 §3.1.2.10), and mosquitto some seconds later still: 43–49 s at 30 s (docs/fleet.md).
 *
 * It costs about what it replaces. Any packet from the client resets the broker's keep-alive
 * timer (§3.1.2.10); mqtt.js (5.16, KeepaliveManager) puts off its own PINGREQ only when an
 * acknowledgement comes back, a keep-alive after the last one, not when a packet is sent. At QoS 0
 * a box would send this and its PINGREQ/PINGRESP both; at QoS 1 the PUBACK is the answer the ping
 * waited for, so the pair (publish, PUBACK) takes the place of (PINGREQ, PINGRESP), and the client
 * still learns that its link is dead when no acknowledgement comes. Sent a second before the
 * keep-alive runs out, so its PUBACK is back before mqtt.js would ping: sent exactly at the
 * keep-alive, every other one raced the ping and lost (mosquitto's log, keep-alive 5 s: a PINGREQ
 * every 10 s beside the heartbeats). The extra is the topic's bytes (docs/mqtt-api.md, `alive`).
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

  /** At each connection, from the keep-alive it was made with (status.keepaliveSec says the same). */
  #begin(): void {
    this.#end();
    const { ctx, broker, topics } = this.#options;
    // A keep-alive is at least 5 s (config/schema.ts): the period is at least 4 s.
    const intervalMs = aliveIntervalMs(ctx.config.mqtt.keepaliveSec);
    // Not kept when offline (publish refuses while disconnected); a late one is still true.
    this.#timer = setInterval(() => void broker.publish(topics.alive, "", { qos: 1, retain: false }, intervalMs), intervalMs);
  }

  #end(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** How often a box says it is alive: a second inside its keep-alive (why: the class's comment). */
export function aliveIntervalMs(keepaliveSec: number): number {
  return Math.max(1000, keepaliveSec * 1000 - ALIVE_AHEAD_MS);
}

/** Ahead of the keep-alive by more than a clinic link's usual round trip. */
const ALIVE_AHEAD_MS = 1000;
