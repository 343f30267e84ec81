/**
 * Publishing JSON through the topic→payload map (core/api.ts): `publishJson(broker,
 * topics.status, payload)` compiles only when `payload` is a StatusPayload. Bytes already
 * serialized (outbox entries, a retained clear) keep the connection's plain `publish`.
 */
import { encodePayload, type Topic, type TopicKind, type TopicPayloads } from "../core/api.ts";
import type { BrokerConnection, PublishOptions } from "./connection.ts";

export function publishJson<K extends TopicKind>(
  broker: Pick<BrokerConnection, "publish">,
  topic: Topic<K>,
  payload: NoInfer<TopicPayloads[K]>,
  options?: PublishOptions,
  timeoutMs?: number,
): Promise<boolean> {
  return broker.publish(topic, encodePayload(topic, payload), options, timeoutMs);
}
