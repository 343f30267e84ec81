/**
 * BoxLink (types/boxLink.ts) on a real broker: one MQTT 5 connection of the fleet service, with its own
 * certificate, apart from the ingest's (whose subscriptions are shared between instances and whose
 * flood of status messages must not delay an answer).
 *
 * Answers come back on `thea/v1/{deviceId}/reply/{requesterId}/fleet`: the broker lets the
 * service's certificate read `reply/{its CN}/#` only (docs/deploy), and the box keeps its
 * retry answers per response topic, so the topic must not change between the service's starts
 * (a retried action after a restart is then answered, not run again). Two instances of the
 * service receive each other's answers there; each keeps the ones whose correlation it sent.
 *
 * Bounds: commands awaiting answers (`maxPending`, `link-busy` past it), one answer's size
 * (boxReports.ts), retained reads in flight (`maxReads`). A command asked again with the same
 * box and request id while the first awaits its answer shares that answer instead of being sent
 * twice.
 */
import { randomUUID } from "node:crypto";
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { Service } from "../../agent/core/service.ts";
import { deviceTopics, TOPIC_PREFIX } from "../../agent/core/topics.ts";
import { DEVICE_ID_PATTERN } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { withTls } from "./mqttTls.ts";
import { MAX_ANSWER_BYTES, parseAnswer, parseBoxReport } from "./boxReports.ts";
import type { BoxAnswer, BoxCommand, BoxLink, BoxReport, ReportKind } from "./types/boxLink.ts";

export interface MqttBoxLinkOptions {
  url: string;
  /** TLS client certificate, key and CA (a PEM file's path, or its contents). */
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer;
  /** The service's certificate CN: the broker lets it read its answers only under `reply/{CN}/`. */
  requesterId: string;
  clientId?: string;
  log: Logger;
  /** Commands awaiting an answer at once (default 256). */
  maxPending?: number;
  /** Retained reads (`reported`, `desired`) in flight at once (default 64). */
  maxReads?: number;
  /**
   * After the broker acknowledges a subscription, how long a retained message may take to follow
   * (default 1 s). mosquitto sends it right after the SUBACK; this only bounds a read of a topic
   * that holds nothing.
   */
  retainedGraceMs?: number;
}

/** The box's own command timeout is 30 s (docs/mqtt-api.md); 5 s more for the trip both ways. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 35_000;
const REPLY_LEAF = "fleet";

interface Pending {
  readonly answer: Promise<BoxAnswer>;
  resolve(answer: BoxAnswer): void;
}

interface Follow {
  readonly kind: ReportKind;
  readonly listener: (report: BoxReport) => void;
}

const failure = (code: string, message: string): BoxAnswer => ({ ok: false, error: { code, message } });

export class MqttBoxLink implements BoxLink, Service {
  readonly #options: MqttBoxLinkOptions;
  readonly #log: Logger;
  readonly #pending = new Map<string, Pending>();
  /** Retained reads by topic: whoever asks for a topic already being read gets the same read. */
  readonly #reads = new Map<string, { listener: (payload: Buffer) => void; result: Promise<Buffer | undefined> }>();
  readonly #follows = new Set<Follow>();
  readonly #readyWaiters: Array<() => void> = [];
  #client: MqttClient | undefined;
  /** Whether the current connection's answer subscription is acknowledged: a command sent before would lose its answer. */
  #answersSubscribed = false;

  constructor(options: MqttBoxLinkOptions) {
    if (!/^[^/+#\u0000]+$/.test(options.requesterId)) throw new Error(`requester id ${JSON.stringify(options.requesterId)} cannot be a topic level`);
    this.#options = options;
    this.#log = options.log.child({ ns: "fleet:link" });
  }

  /** Connects (retrying in the background) and subscribes to its answers on every connect. */
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
    for (const pending of this.#pending.values()) pending.resolve(failure("link-down", "the fleet service is stopping"));
    this.#pending.clear();
    if (client) await client.endAsync();
  }

  /** Whether the link is connected now (answers `link-down` otherwise). */
  get connected(): boolean {
    return this.#client?.connected === true;
  }

  /** Resolves once connected and subscribed to answers (for a caller that must not start before). */
  ready(): Promise<void> {
    const client = this.#client;
    if (!client) return Promise.reject(new Error("the link is not started"));
    if (this.#answersSubscribed) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  command(request: BoxCommand): Promise<BoxAnswer> {
    const client = this.#client;
    if (!DEVICE_ID_PATTERN.test(request.deviceId)) return Promise.resolve(failure("invalid-params", "not a device id"));
    if (!/^[a-z][a-z0-9.]{0,63}$/.test(request.name)) return Promise.resolve(failure("invalid-params", "not a command name"));
    if (!client?.connected || !this.#answersSubscribed) return Promise.resolve(failure("link-down", "the fleet service is not connected to the broker"));
    const requestId = request.requestId ?? randomUUID();
    const key = `${request.deviceId}\u0000${requestId}`;
    const known = this.#pending.get(key);
    if (known) return known.answer;
    if (this.#pending.size >= (this.#options.maxPending ?? 256)) {
      return Promise.resolve(failure("link-busy", "too many commands are awaiting answers; try again"));
    }
    let resolve!: (answer: BoxAnswer) => void;
    const answer = new Promise<BoxAnswer>((done) => (resolve = done));
    const timeoutMs = request.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const timer = setTimeout(() => settle(failure("no-answer", `no answer from ${request.deviceId} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const settle = (value: BoxAnswer): void => {
      clearTimeout(timer);
      if (this.#pending.get(key)?.answer === answer) this.#pending.delete(key);
      resolve(value);
    };
    this.#pending.set(key, { answer, resolve: settle });
    const topics = deviceTopics(request.deviceId);
    const expiresAt = new Date(Date.now() + timeoutMs).toISOString();
    client
      .publishAsync(topics.command(request.name), JSON.stringify(request.params ?? {}), {
        qos: 1,
        properties: {
          responseTopic: topics.reply(this.#options.requesterId, REPLY_LEAF),
          correlationData: Buffer.from(requestId),
          // The broker drops it if it cannot be delivered before the caller stops waiting, and the
          // box refuses it as `expired` if it arrives later (a box's clock may differ: both bounds).
          messageExpiryInterval: Math.ceil(timeoutMs / 1000),
          userProperties: { "expires-at": expiresAt },
        },
      })
      .catch((error: unknown) => settle(failure("link-down", `the broker did not take the command: ${messageOf(error)}`)));
    return answer;
  }

  async setDesired(deviceId: string, kind: ReportKind, payload: string): Promise<void> {
    const client = this.#connectedClient();
    const topics = deviceTopics(checkedDeviceId(deviceId));
    // mqtt.js rejects when the broker answers PUBACK with a failure reason (MQTT 5 §3.4.2.1).
    await client.publishAsync(kind === "config" ? topics.configDesired : topics.updateDesired, payload, { qos: 1, retain: true });
  }

  async desired(deviceId: string, kind: ReportKind): Promise<string | undefined> {
    const topics = deviceTopics(checkedDeviceId(deviceId));
    const payload = await this.#readRetained(kind === "config" ? topics.configDesired : topics.updateDesired);
    return payload === undefined || payload.byteLength === 0 ? undefined : payload.toString("utf8");
  }

  async reported(deviceId: string, kind: ReportKind): Promise<BoxReport | undefined> {
    const topics = deviceTopics(checkedDeviceId(deviceId));
    const payload = await this.#readRetained(kind === "config" ? topics.configReported : topics.updateState);
    if (payload === undefined || payload.byteLength === 0) return undefined;
    const parsed = parseBoxReport(kind, deviceId, payload);
    if (!parsed.ok) this.#log.warn({ deviceId, kind, detail: parsed.detail }, "a box's report is malformed");
    return parsed.ok ? parsed.report : undefined;
  }

  async follow(kind: ReportKind, listener: (report: BoxReport) => void): Promise<() => Promise<void>> {
    const client = this.#connectedClient();
    const entry: Follow = { kind, listener };
    const first = ![...this.#follows].some((follow) => follow.kind === kind);
    this.#follows.add(entry);
    if (first) await this.#subscribe(client, followFilter(kind));
    return async () => {
      this.#follows.delete(entry);
      const last = ![...this.#follows].some((follow) => follow.kind === kind);
      if (last && this.#client?.connected) await this.#client.unsubscribeAsync(followFilter(kind));
    };
  }

  #connectedClient(): MqttClient {
    const client = this.#client;
    if (!client?.connected) throw new Error("the fleet service is not connected to the broker");
    return client;
  }

  /** The retained message of one topic, or undefined when it holds none; bounded by `maxReads`. */
  #readRetained(topic: string): Promise<Buffer | undefined> {
    const known = this.#reads.get(topic);
    if (known) return known.result;
    const client = this.#connectedClient();
    if (this.#reads.size >= (this.#options.maxReads ?? 64)) return Promise.reject(new Error("too many reads in flight; try again"));
    let listener!: (payload: Buffer) => void;
    const arrived = new Promise<Buffer>((resolve) => (listener = resolve));
    const result = (async () => {
      try {
        await this.#subscribe(client, topic, { rh: 0 });
        let timer: NodeJS.Timeout | undefined;
        const nothing = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.#options.retainedGraceMs ?? 1000)));
        const payload = await Promise.race([arrived, nothing]);
        clearTimeout(timer);
        return payload;
      } finally {
        this.#reads.delete(topic);
        if (client.connected) await client.unsubscribeAsync(topic).catch(() => undefined);
      }
    })();
    this.#reads.set(topic, { listener, result });
    return result;
  }

  async #subscribe(client: MqttClient, filter: string, options: { rh?: 0 | 1 | 2 } = {}): Promise<void> {
    const granted = await client.subscribeAsync(filter, { qos: 1, ...options });
    // A reason code of 0x80 or above is a refusal (MQTT 5 §3.9.3): the broker's ACL does not let the service read it.
    if (granted.some((grant) => grant.qos >= 0x80)) throw new Error(`the broker refused the subscription to ${filter}`);
  }

  #clientOptions(): IClientOptions {
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: this.#options.clientId ?? `thea-fleet-link-${randomUUID().slice(0, 8)}`,
      clean: true,
      reconnectPeriod: 2000,
      resubscribe: false, // #onConnect subscribes again, follows included
      properties: { maximumPacketSize: MAX_ANSWER_BYTES + 64 * 1024 },
    };
    return withTls(options, this.#options);
  }

  #onConnect(client: MqttClient): void {
    this.#answersSubscribed = false;
    const filters = [`${TOPIC_PREFIX}/+/reply/${this.#options.requesterId}/${REPLY_LEAF}`, ...new Set([...this.#follows].map((follow) => followFilter(follow.kind)))];
    Promise.all(filters.map((filter) => this.#subscribe(client, filter)))
      .then(() => {
        this.#answersSubscribed = true;
        this.#log.info({ url: this.#options.url, requester: this.#options.requesterId }, "link to the boxes ready");
        for (const resolve of this.#readyWaiters.splice(0)) resolve();
      })
      .catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "cannot subscribe to the boxes' answers"));
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const read = this.#reads.get(topic);
    if (read && packet.retain) read.listener(payload);
    const [, , deviceId, ...rest] = topic.split("/");
    if (deviceId === undefined) return;
    const leaf = rest.join("/");
    if (leaf === `reply/${this.#options.requesterId}/${REPLY_LEAF}`) return this.#onAnswer(deviceId, payload, packet);
    const kind: ReportKind | undefined = leaf === "config/reported" ? "config" : leaf === "update/state" ? "update" : undefined;
    if (kind === undefined || payload.byteLength === 0 || !DEVICE_ID_PATTERN.test(deviceId)) return;
    const follows = [...this.#follows].filter((follow) => follow.kind === kind);
    if (follows.length === 0) return;
    const parsed = parseBoxReport(kind, deviceId, payload);
    if (!parsed.ok) return void this.#log.warn({ deviceId, kind, detail: parsed.detail }, "a box's report is malformed");
    for (const follow of follows) {
      try {
        follow.listener(parsed.report);
      } catch (error) {
        this.#log.error({ err: messageOf(error), deviceId, kind }, "a report listener failed");
      }
    }
  }

  #onAnswer(deviceId: string, payload: Buffer, packet: IPublishPacket): void {
    const correlation = packet.properties?.correlationData;
    if (correlation === undefined) return;
    // Another instance's answer (same topic), or one that came after its deadline: not ours to keep.
    const pending = this.#pending.get(`${deviceId}\u0000${correlation.toString("utf8")}`);
    pending?.resolve(parseAnswer(payload));
  }
}

function followFilter(kind: ReportKind): string {
  return `${TOPIC_PREFIX}/+/${kind === "config" ? "config/reported" : "update/state"}`;
}

function checkedDeviceId(deviceId: string): string {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new Error("not a device id");
  return deviceId;
}
