/**
 * A plain MQTT 5 client, as an operator's tool would use, with helpers to wait for a message.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from "mqtt";
import { randomBytes } from "node:crypto";
import { deviceTopics, TOPIC_PREFIX } from "../../agent/core/topics.ts";
import { waitFor } from "./wait.ts";
import { Socket } from "node:net";

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
  json(): unknown;
}

export class TestClient {
  readonly client: MqttClient;
  /**
   * Each filter's subscription, settled by its SUBACK. mqtt.js answers a second subscribe to a
   * filter it has already sent at once, without a SUBACK: awaiting that proved nothing, and a
   * message the test caused straight after could reach the broker before the subscription did.
   */
  readonly #subscriptions = new Map<string, Promise<unknown>>();

  private constructor(client: MqttClient) {
    this.client = client;
    // Each pending `next` is a listener, and a test file's shared watcher may hold dozens at once
    // (one per topic a test waits on); that is by design, not a leak.
    client.setMaxListeners(0);
  }

  static async connect(url: string, options: IClientOptions = {}): Promise<TestClient> {
    // Reconnects (and resubscribes) like a real subscriber, so a test may restart the broker.
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      reconnectPeriod: 100,
      clientId: `test-${randomBytes(4).toString("hex")}`,
      ...options,
    });
    withoutNagle(client);
    return new TestClient(client);
  }

  /** Subscribes and resolves with the first message on a matching topic that satisfies `match`. */
  async next(filter: string, match: (message: ReceivedMessage) => boolean = () => true, timeoutMs = 15_000): Promise<ReceivedMessage> {
    const found = waitFor<ReceivedMessage>(`a message on ${filter}`, timeoutMs, (done) => {
      const listener = (topic: string, payload: Buffer, packet: IPublishPacket) => {
        const message = { topic, payload, packet, json: () => JSON.parse(payload.toString()) as unknown };
        if (topicMatches(filter, topic) && match(message)) done(message);
      };
      this.client.on("message", listener);
      return () => this.client.off("message", listener);
    });
    found.catch(() => undefined); // if subscribing throws, that is the error the caller gets
    await this.#subscribed(filter);
    return found;
  }

  /**
   * Like `next`, but resolves only once the broker has confirmed the subscription, with the
   * pending message inside: for waiting on a non-retained message the test is about to cause.
   */
  async armed(filter: string, match: (message: ReceivedMessage) => boolean, timeoutMs = 15_000): Promise<{ message: Promise<ReceivedMessage> }> {
    const message = this.next(filter, match, timeoutMs);
    // A test that fails before awaiting it must not also end in an unhandled rejection.
    message.catch(() => undefined);
    await this.#subscribed(filter);
    return { message };
  }

  /** Resolves once the broker has confirmed the subscription to `filter` (sent once per filter). */
  #subscribed(filter: string): Promise<unknown> {
    let subscription = this.#subscriptions.get(filter);
    if (!subscription) {
      subscription = this.client.subscribeAsync(filter, { qos: 1 });
      this.#subscriptions.set(filter, subscription);
      subscription.catch(() => this.#subscriptions.delete(filter)); // a refused one is tried again
    }
    return subscription;
  }

  /** Sends a command request the MQTT 5 way and resolves with the parsed answer. */
  async request(
    topic: string,
    payload: string | Buffer,
    options: { timeoutMs?: number; correlationData?: Buffer; userProperties?: Record<string, string>; responseTopic?: string } = {},
  ): Promise<{ body: unknown; packet: IPublishPacket }> {
    const responseTopic = options.responseTopic ?? replyTopicFor(topic, this.client.options.clientId ?? "test");
    const correlationData = options.correlationData ?? randomBytes(8);
    const answer = this.next(responseTopic, (message) => message.packet.properties?.correlationData?.equals(correlationData) ?? false, options.timeoutMs);
    answer.catch(() => undefined); // if subscribing or publishing throws, that error is the one reported
    await this.#subscribed(responseTopic);
    const properties = { responseTopic, correlationData, ...(options.userProperties && { userProperties: options.userProperties }) };
    await this.publish(topic, payload, { qos: 1, properties });
    const message = await answer;
    return { body: message.json(), packet: message.packet };
  }

  async publish(topic: string, payload: string | Buffer, options: IClientPublishOptions = { qos: 1 }): Promise<void> {
    await this.client.publishAsync(topic, payload, options);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * As the agent does (agent/mqtt/connection.ts): no Nagle delay on small packets, on this connection
 * and each one the client makes again.
 */
export function withoutNagle(client: MqttClient): void {
  const apply = () => {
    const socket: unknown = client.stream;
    if (socket instanceof Socket) socket.setNoDelay(true);
  };
  apply();
  client.on("connect", apply);
}

/**
 * Where the agent may answer a request on `thea/v1/{deviceId}/cmd/{name}`: under the box's
 * `reply/{requesterId}/…` (docs/mqtt-api.md). One requester id per client, as a person's tool has
 * (the agent remembers answers per requester, so a retry must come from the same one).
 */
export function replyTopicFor(commandTopic: string, requesterId: string): string {
  const [prefix, version, deviceId, cmd, name] = commandTopic.split("/");
  if (`${prefix}/${version}` !== TOPIC_PREFIX || cmd !== "cmd" || deviceId === undefined || name === undefined) {
    throw new Error(`not a command topic: ${commandTopic}`);
  }
  return deviceTopics(deviceId).reply(requesterId, name);
}

function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
