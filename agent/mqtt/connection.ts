/**
 * The box's one MQTT 5 connection. It owns reconnection (mqtt.js's own retry is a fixed 1 s,
 * which would bring a whole fleet back in lock-step), the retained last will, and resubscribing
 * after every connect. Other services talk to it through `publish`, `subscribe` and its events.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type IPublishPacket, type ISubscriptionMap, type MqttClient, Store } from "mqtt";
import type { ResolvedConfig } from "../../config/schema.ts";
import { messageOf } from "../core/errors.ts";
import type { Service } from "../core/service.ts";
import type { Logger } from "../../lib/log.ts";
import { ReconnectBackoff } from "../../lib/backoff.ts";
import { within } from "../../lib/within.ts";
import { Socket } from "node:net";

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  responseTopic?: string | undefined;
  correlationData?: Buffer | undefined;
  /** MQTT 5 user properties (e.g. expires-at on a command). */
  userProperties?: Record<string, string | string[]> | undefined;
  /** Sent by the broker as a retained message (from its store), not live from a publisher. */
  retain: boolean;
}

export interface SubscribeOptions {
  /**
   * MQTT 5 Retain Handling (§3.8.3.1): 0 = send retained messages on subscribe (the default; what
   * config/desired and update/desired rely on), 2 = never send them (commands must not replay).
   */
  retainHandling?: 0 | 2;
  /**
   * MQTT 5 Retain As Published (§3.8.3.1): keep the publisher's retain flag on messages delivered
   * live, so a receiver can tell a message that is also being stored for later subscribers.
   */
  retainAsPublished?: boolean;
}

export interface ConnectedInfo {
  /** 1 for the first connection of this process, +1 for each reconnect. */
  connection: number;
}

export interface ConnectionEvents {
  connected: [ConnectedInfo];
  disconnected: [];
  message: [IncomingMessage];
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
  correlationData?: Buffer | undefined;
}

export interface BrokerConnectionOptions {
  mqtt: ResolvedConfig["mqtt"];
  /** Retained by the broker and published by it when this box vanishes without a goodbye. */
  will: { topic: string; payload: string };
  /** Published (retained) by stop() while still connected, so the broker does not send the will. */
  goodbye?: { topic: string; payload: string };
  log: Logger;
  counters: ConnectionCounters;
  random?: () => number;
}

export interface ConnectionCounters {
  connects: number;
  disconnects: number;
  messagesIn: number;
  messagesOut: number;
  publishFailures: number;
}

export function newConnectionCounters(): ConnectionCounters {
  return { connects: 0, disconnects: 0, messagesIn: 0, messagesOut: 0, publishFailures: 0 };
}

const STOP_STEP_MS = 1500;

export class BrokerConnection extends EventEmitter<ConnectionEvents> implements Service {
  readonly #options: BrokerConnectionOptions;
  readonly #log: Logger;
  readonly #backoff: ReconnectBackoff;
  readonly #subscriptions = new Map<string, SubscribeOptions>();
  // Kept across reconnects so QoS 1 messages in flight when the link dropped are sent again.
  readonly #stores = { incomingStore: new Store(), outgoingStore: new Store() };
  #client: MqttClient | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #connections = 0;

  constructor(options: BrokerConnectionOptions) {
    super();
    this.#options = options;
    this.#log = options.log.child({ ns: "mqtt" });
    const { reconnect } = options.mqtt;
    this.#backoff = new ReconnectBackoff(
      {
        initialDelayMs: reconnect.initialDelaySec * 1000,
        maxDelayMs: reconnect.maxDelaySec * 1000,
        stableAfterMs: reconnect.stableAfterSec * 1000,
      },
      options.random,
    );
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  start(): void {
    const client = mqtt.connect(this.#options.mqtt.url, this.#clientOptions());
    this.#client = client;
    client.on("connect", () => this.#onConnect());
    client.on("close", () => this.#onClose());
    client.on("error", (error) => this.#log.warn({ err: messageOf(error) }, "mqtt connection error"));
    client.on("message", (topic, payload, packet) => this.#onMessage(topic, payload, packet));
  }

  /** Publish the goodbye (if connected) and disconnect cleanly, so the broker does not send the will. */
  async stop(): Promise<void> {
    const { goodbye } = this.#options;
    this.#stopping = true;
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (!client) return;
    if (client.connected && goodbye) {
      await this.publish(goodbye.topic, goodbye.payload, { qos: 1, retain: true }, STOP_STEP_MS);
    }
    const ended = client.endAsync(false).then(() => true);
    if (!(await within(ended, STOP_STEP_MS, false))) client.end(true);
    this.#client = undefined;
  }

  subscribe(filter: string, options: SubscribeOptions = {}): void {
    this.#subscriptions.set(filter, options);
    if (this.connected) this.#subscribe([[filter, options]]);
  }

  /**
   * Resolves true once the broker has the message (PUBACK for QoS 1), false when it could not be
   * sent: not connected, refused, or no acknowledgement within `timeoutMs`. Never rejects.
   */
  async publish(topic: string, payload: string | Buffer, options: PublishOptions = {}, timeoutMs = 10_000): Promise<boolean> {
    const client = this.#client;
    if (!client?.connected) return false;
    const properties = options.correlationData ? { correlationData: options.correlationData } : undefined;
    const sent = client
      .publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false, ...(properties && { properties }) })
      .then(() => true)
      .catch((error: unknown) => {
        this.#log.warn({ topic, err: messageOf(error) }, "publish failed");
        return false;
      });
    const ok = await within(sent, timeoutMs, false);
    if (ok) this.#options.counters.messagesOut += 1;
    else this.#options.counters.publishFailures += 1;
    return ok;
  }

  #clientOptions(): IClientOptions {
    const { mqtt: settings, will } = this.#options;
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: settings.clientId,
      clean: true,
      keepalive: settings.keepaliveSec,
      connectTimeout: settings.connectTimeoutSec * 1000,
      reconnectPeriod: 0, // we schedule reconnects ourselves (see #onClose)
      queueQoSZero: false,
      // mqtt-packet otherwise builds a table of 65,536 two-byte Buffers, one per packet id, at the
      // first packet it writes: 6.5 MB of the agent's heap at rest (65,536 objects of 104 bytes in
      // a heap snapshot), to save a 2-byte allocation per packet.
      writeCache: false,
      will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
      properties: {
        // The broker drops anything larger instead of delivering it. Commands between
        // maxPayloadBytes and this cap still get a payload-too-large answer.
        maximumPacketSize: Math.max(1024 * 1024, settings.maxPayloadBytes * 4),
      },
      ...this.#stores,
    };
    if (settings.username !== undefined) options.username = settings.username;
    if (settings.password !== undefined) options.password = settings.password;
    const { tls } = settings;
    if (tls.ca) options.ca = readFileSync(tls.ca);
    if (tls.cert) options.cert = readFileSync(tls.cert);
    if (tls.key) options.key = readFileSync(tls.key);
    options.rejectUnauthorized = tls.rejectUnauthorized;
    return options;
  }

  #onConnect(): void {
    // A command's PUBACK and its answer are two small writes in a row: with Nagle's algorithm the
    // answer waits for the broker's delayed ACK, 40 ms on Linux, on every request.
    const socket = this.#client?.stream;
    if (socket instanceof Socket) socket.setNoDelay(true);
    this.#connections += 1;
    this.#options.counters.connects += 1;
    this.#backoff.connected(Date.now());
    this.#log.info({ connection: this.#connections, url: this.#options.mqtt.url }, "connected to broker");
    this.#subscribe([...this.#subscriptions]);
    this.emit("connected", { connection: this.#connections });
  }

  #onClose(): void {
    if (this.#stopping || this.#reconnectTimer) return;
    const delayMs = this.#backoff.nextDelayMs(Date.now());
    this.#options.counters.disconnects += 1;
    this.#log.info({ delayMs, attempt: this.#backoff.attempt }, "no broker connection; retrying after backoff");
    this.emit("disconnected");
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#stopping) this.#client?.reconnect(this.#stores);
    }, delayMs);
  }

  #subscribe(subscriptions: [string, SubscribeOptions][]): void {
    if (subscriptions.length === 0 || !this.#client) return;
    // One SUBSCRIBE with per-filter options (MQTT 5 §3.8.3.1).
    const map: ISubscriptionMap = {};
    for (const [filter, options] of subscriptions) map[filter] = { qos: 1, rh: options.retainHandling ?? 0, rap: options.retainAsPublished ?? false };
    const filters = subscriptions.map(([filter]) => filter);
    this.#client.subscribe(map, (error) => {
      if (error) this.#log.error({ filters, err: messageOf(error) }, "subscribe failed");
    });
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    this.#options.counters.messagesIn += 1;
    const message: IncomingMessage = {
      topic,
      payload,
      responseTopic: packet.properties?.responseTopic,
      correlationData: packet.properties?.correlationData,
      userProperties: packet.properties?.userProperties,
      retain: packet.retain,
    };
    try {
      this.emit("message", message);
    } catch (error) {
      // A listener's bug must not unwind into mqtt.js and kill the connection.
      this.#log.error({ topic, err: messageOf(error) }, "message handler failed");
    }
  }
}
