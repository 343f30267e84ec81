/**
 * The only place topic strings are built. Everything a box publishes or listens to lives under
 * `thea/v1/{deviceId}/`, so a broker ACL can confine a device to its own subtree.
 */
import type { Topic, TopicKind } from "./api.ts";

export const TOPIC_PREFIX = "thea/v1";
/** Reply topics are remembered with their answers (commands/responseCache.ts): keep them short. */
export const MAX_REPLY_TOPIC_LENGTH = 256;

export interface DeviceTopics {
  readonly root: string;
  /** Retained: online/offline, version, boot id. Also the last-will topic. */
  readonly status: Topic<"status">;
  readonly health: Topic<"health">;
  /** QoS 1, not retained, empty: "still here", every mqtt.keepaliveSec while connected (telemetry/alive.ts). */
  readonly alive: string;
  /** Retained, at most 1 kB: the box at a glance for fleet views (telemetry/summary.ts). */
  readonly summary: string;
  /** QoS 1 through the outbox: peripheral plugged/unplugged, disk nearly full, outbox drops. */
  readonly event: string;
  /** Subscription filter for every command addressed to this box. */
  readonly commandFilter: string;
  command(name: string): string;
  /** Where answers go when a request carries no MQTT 5 response topic. */
  commandResponse(name: string): string;
  /** The command name from a topic under `cmd/`, or undefined for any other topic. */
  commandName(topic: string): string | undefined;
  /**
   * Where a requester asks for its answers: `reply/{requesterId}` and anything below it. The
   * broker lets each person read only `reply/{their certificate CN}/#`.
   */
  reply(requesterId: string, ...rest: string[]): string;
  /**
   * Whether the box may answer command `name` on `topic`: only `reply/{requesterId}[/…]` under this
   * box (no wildcards, no empty level, no NUL) or the default `cmd/{name}/response`. Anything
   * else would make the box publish, with its own rights, wherever a requester says.
   */
  answerTopicAllowed(topic: string, name: string): topic is Topic<"answer">;
  /** The requester id of an allowed `reply/…` topic; undefined for any other topic. */
  requesterOfReply(topic: string): string | undefined;
  /** QoS 1: every reading of one peripheral. */
  peripheralReading(peripheralId: string): Topic<"reading">;
  /** Retained: whether the peripheral is connected, its counters and last error. */
  peripheralState(peripheralId: string): Topic<"peripheralState">;
  /** QoS 1, live only: the agent's ICE candidates for one viewing session (trickle). */
  webrtcCandidate(sessionId: string): Topic<"webrtcCandidate">;
  /**
   * A viewer's MQTT last will: published by the broker when the viewer's client vanishes, so its
   * sessions end. Under the box's subtree, because a box may only subscribe there.
   */
  readonly viewerGoneFilter: string;
  viewerGone(viewerId: string): string;
  /** The viewer id of a `viewerGone` topic, or undefined for any other topic. */
  viewerIdOfGone(topic: string): string | undefined;
  /** Retained, written by technicians: the remote configuration layer the box should run. */
  readonly configDesired: string;
  /** Retained, by the agent: the applied version, its hash, the effective config, the last error. */
  readonly configReported: Topic<"configReported">;
  /** Retained, written by technicians: the signed manifest of the release to run. */
  readonly updateDesired: string;
  /** Retained, by the agent: where the update state machine is. */
  readonly updateState: Topic<"updateState">;
}

/** The one place a topic name gets its payload brand. */
const branded = <K extends TopicKind>(name: string): Topic<K> => name as Topic<K>;

export function deviceTopics(deviceId: string): DeviceTopics {
  const root = `${TOPIC_PREFIX}/${deviceId}`;
  const commandPrefix = `${root}/cmd/`;
  const viewersPrefix = `${root}/webrtc/viewers/`;
  const replyPrefix = `${root}/reply/`;
  const requesterOfReply = (topic: string): string | undefined => {
    if (!topic.startsWith(replyPrefix) || topic.length > MAX_REPLY_TOPIC_LENGTH) return undefined;
    const levels = topic.slice(replyPrefix.length).split("/");
    // MQTT forbids wildcards and NUL in a topic name (§4.7.1, §1.5.4); an empty level would let
    // `reply//x` stand for nobody.
    if (levels.some((level) => level === "" || /[+#\u0000]/.test(level))) return undefined;
    return levels[0];
  };
  return {
    root,
    status: branded(`${root}/status`),
    health: branded(`${root}/health`),
    alive: `${root}/alive`,
    summary: `${root}/summary`,
    event: `${root}/event`,
    commandFilter: `${commandPrefix}+`,
    command: (name) => `${commandPrefix}${name}`,
    commandResponse: (name) => `${commandPrefix}${name}/response`,
    peripheralReading: (id) => branded(`${root}/peripherals/${id}/reading`),
    peripheralState: (id) => branded(`${root}/peripherals/${id}/state`),
    webrtcCandidate: (sessionId) => branded(`${root}/webrtc/${sessionId}/candidate`),
    viewerGoneFilter: `${viewersPrefix}+/gone`,
    configDesired: `${root}/config/desired`,
    configReported: branded(`${root}/config/reported`),
    updateDesired: `${root}/update/desired`,
    updateState: branded(`${root}/update/state`),
    viewerGone: (viewerId) => `${viewersPrefix}${viewerId}/gone`,
    viewerIdOfGone: (topic) => {
      if (!topic.startsWith(viewersPrefix) || !topic.endsWith("/gone")) return undefined;
      const id = topic.slice(viewersPrefix.length, -"/gone".length);
      return id.length > 0 && !id.includes("/") ? id : undefined;
    },
    reply: (requesterId, ...rest) => [`${replyPrefix}${requesterId}`, ...rest].join("/"),
    requesterOfReply,
    answerTopicAllowed: (topic, name): topic is Topic<"answer"> => topic === `${commandPrefix}${name}/response` || requesterOfReply(topic) !== undefined,
    commandName: (topic) => {
      if (!topic.startsWith(commandPrefix)) return undefined;
      const name = topic.slice(commandPrefix.length);
      return name.length > 0 && !name.includes("/") ? name : undefined;
    },
  };
}
