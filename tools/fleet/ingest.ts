/**
 * The fleet service's MQTT session: every box's `status`, `summary` and `event` into the Fleet.
 *
 * Two kinds of subscription:
 * - `thea/v1/+/{status,summary}`, plain: every instance of the service gets every box's state.
 *   MQTT 5 sends the retained messages matching a filter when a non-shared subscription is made
 *   (§3.3.1.3), with RETAIN 1: the snapshot that lets a service just started see every box at
 *   once; later messages come with RETAIN 0 (retain-as-published off), as the live feed. Each
 *   instance must show the whole fleet, and this is the small part of the traffic (a status per
 *   connection, a summary at most once a minute per box), so it is not shared.
 * - `thea/v1/+/alive`, plain, taken at QoS 0: each box's heartbeat at its keep-alive (agent/telemetry/alive.ts),
 *   by which each instance takes a silent box for offline before the broker's will (fleet.ts,
 *   silence.ts). Not shared: an instance that heard only half the heartbeats would take half the
 *   fleet for silent. ~70 a second for 2,050 boxes at 30 s, each only a time set in memory.
 * - `$share/{group}/thea/v1/+/event`: the events, the part of the feed that goes to history only.
 *   Instances of the service in one group share it (MQTT 5 §4.8.2), each event going to one of
 *   them, which records it in the store they share; with one instance, it gets every event.
 * So two instances on one PostgreSQL each hold the whole fleet from the broker alone, with no
 * traffic between them. Both see each status and record its availability transition; the store
 * keeps it once (fleet.ts, store.ts). After a reconnect (clean start) both are made again, so
 * the snapshot catches up what was missed; events sent meanwhile go to the other instance, or,
 * with one instance, are not seen.
 *
 * Every payload is checked (messages.ts): too large, not JSON, too deep, the wrong shape or a
 * device id the agent would refuse is counted and logged, never applied. The number of boxes is
 * bounded: past `maxBoxes`, messages of new ids are counted and ignored. Writes to the store are
 * batched by the Fleet.
 */
import { randomBytes } from "node:crypto";
import { Socket } from "node:net";
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { Service } from "../../agent/core/service.ts";
import { TOPIC_PREFIX } from "../../agent/core/topics.ts";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import type { Fleet } from "./fleet.ts";
import { withTls } from "./mqttTls.ts";
import { MAX_MESSAGE_BYTES, parseFleetMessage, type DiscardReason } from "./messages.ts";

export interface FleetIngestOptions {
  url: string;
  /** TLS client certificate, key and CA (a PEM file's path, or its contents): the service's own identity at the broker. */
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer;
  clientId?: string;
  /** The shared-subscription group instances of the service join (default "thea-fleet"). */
  group?: string;
  fleet: Fleet;
  log: Logger;
  /** Boxes tracked at most (default 10,000, five times today's fleet). */
  maxBoxes?: number;
}

export interface IngestStats {
  received: number;
  applied: number;
  discarded: Record<DiscardReason | "over-capacity" | "failed", number>;
}

/** One warning per reason per minute at most, with the count: a flood must not flood the log too. */
const WARN_INTERVAL_MS = 60_000;
/**
 * Packets the broker may send us (MQTT 5 §3.1.2.11.4: it drops larger ones instead). Above the
 * payload bound, so that what is merely oversized still arrives to be counted.
 */
const MAX_PACKET_BYTES = 16 * MAX_MESSAGE_BYTES;

export class FleetIngest implements Service {
  readonly #options: FleetIngestOptions;
  readonly #log: Logger;
  readonly #stats: IngestStats = {
    received: 0,
    applied: 0,
    discarded: { topic: 0, "device-id": 0, cleared: 0, "too-large": 0, "invalid-json": 0, shape: 0, "over-capacity": 0, failed: 0 },
  };
  readonly #lastWarned = new Map<string, { at: number; since: number }>();
  readonly #subscribedWaiters = new Set<() => void>();
  #client: MqttClient | undefined;

  constructor(options: FleetIngestOptions) {
    this.#options = options;
    this.#log = options.log.child({ ns: "fleet:ingest" });
  }

  /** Connects (retrying in the background until the broker answers) and subscribes on every connect. */
  start(): void {
    const client = mqtt.connect(this.#options.url, this.#clientOptions());
    this.#client = client;
    client.on("connect", () => this.#onConnect(client));
    client.on("message", (topic, payload, packet) => this.#onMessage(topic, payload, packet));
    client.on("error", (error) => this.#log.warn({ err: messageOf(error) }, "broker connection error"));
    client.on("offline", () => this.#log.warn({ url: this.#options.url }, "no broker connection; retrying"));
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    client.removeAllListeners("message");
    await client.endAsync();
  }

  /** Resolves once the subscriptions of the next (or current) connection are acknowledged. */
  whenSubscribed(): Promise<void> {
    return new Promise((resolve) => this.#subscribedWaiters.add(resolve));
  }

  stats(): IngestStats {
    return structuredClone(this.#stats);
  }

  #clientOptions(): IClientOptions {
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: this.#options.clientId ?? `thea-fleet-${randomBytes(4).toString("hex")}`,
      clean: true,
      reconnectPeriod: 2000,
      resubscribe: false, // #onConnect subscribes
      properties: { maximumPacketSize: MAX_PACKET_BYTES },
    };
    return withTls(options, this.#options);
  }

  #onConnect(client: MqttClient): void {
    const socket = client.stream;
    if (socket instanceof Socket) socket.setNoDelay(true);
    const group = this.#options.group ?? "thea-fleet";
    const filters = {
      [`${TOPIC_PREFIX}/+/status`]: { qos: 1 as const, rh: 0, rap: false },
      [`${TOPIC_PREFIX}/+/summary`]: { qos: 1 as const, rh: 0, rap: false },
      // Taken at QoS 0 (the box publishes at 1, for its own keep-alive): a lost heartbeat is replaced by the next; acknowledging each would double the traffic.
      [`${TOPIC_PREFIX}/+/alive`]: { qos: 0 as const },
      [`$share/${group}/${TOPIC_PREFIX}/+/event`]: { qos: 1 as const },
    };
    this.#log.info({ url: this.#options.url, group }, "connected to broker; subscribing");
    client
      .subscribeAsync(filters)
      .then((granted) => {
        // A reason code of 0x80 or above is a refusal (MQTT 5 §3.9.3): an ACL that does not let us read.
        const refused = granted.filter((grant) => grant.qos >= 0x80);
        if (refused.length > 0) this.#log.error({ refused: refused.map((grant) => grant.topic) }, "broker refused subscriptions");
        for (const resolve of this.#subscribedWaiters) resolve();
        this.#subscribedWaiters.clear();
      })
      .catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "subscribe failed"));
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    this.#stats.received += 1;
    const parsed = parseFleetMessage(topic, payload, packet.retain);
    if (!parsed.ok && parsed.reason === "cleared") {
      this.#stats.discarded.cleared += 1;
      return;
    }
    if (!parsed.ok) return this.#discard(parsed.reason, { topic: topic.slice(0, 200), deviceId: parsed.deviceId, detail: parsed.detail, bytes: payload.byteLength });
    const { deviceId } = parsed.message;
    const fleet = this.#options.fleet;
    if (!fleet.has(deviceId) && fleet.size >= (this.#options.maxBoxes ?? 10_000)) {
      return this.#discard("over-capacity", { deviceId, tracked: fleet.size });
    }
    try {
      fleet.apply(parsed.message);
      this.#stats.applied += 1;
    } catch (error) {
      // A bug or a failing store must not unwind into mqtt.js and end the session.
      this.#discard("failed", { topic, err: messageOf(error) });
    }
  }

  #discard(reason: keyof IngestStats["discarded"], fields: Record<string, unknown>): void {
    this.#stats.discarded[reason] += 1;
    const now = Date.now();
    const last = this.#lastWarned.get(reason);
    if (last && now - last.at < WARN_INTERVAL_MS) {
      last.since += 1;
      return;
    }
    this.#lastWarned.set(reason, { at: now, since: 0 });
    this.#log.warn({ reason, ...fields, alsoSinceLastWarning: last?.since ?? 0, total: this.#stats.discarded[reason] }, "fleet message discarded");
  }
}
