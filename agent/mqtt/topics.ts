/**
 * The only place topic strings are built. Everything a box publishes or listens to lives under
 * `thea/v1/{deviceId}/`, so a broker ACL can confine a device to its own subtree.
 */
export const TOPIC_PREFIX = "thea/v1";

export interface DeviceTopics {
  readonly root: string;
  /** Retained: online/offline, version, boot id. Also the last-will topic. */
  readonly status: string;
  readonly health: string;
  /** QoS 1 through the outbox: peripheral plugged/unplugged, disk nearly full, outbox drops. */
  readonly event: string;
  /** Subscription filter for every command addressed to this box. */
  readonly commandFilter: string;
  command(name: string): string;
  /** Where answers go when a request carries no MQTT 5 response topic. */
  commandResponse(name: string): string;
  /** The command name from a topic under `cmd/`, or undefined for any other topic. */
  commandName(topic: string): string | undefined;
  /** QoS 1: every reading of one peripheral. */
  peripheralReading(peripheralId: string): string;
  /** Retained: whether the peripheral is connected, its counters and last error. */
  peripheralState(peripheralId: string): string;
  /** QoS 1, live only: the agent's ICE candidates for one viewing session (trickle). */
  webrtcCandidate(sessionId: string): string;
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
  readonly configReported: string;
  /** Retained, written by technicians: the signed manifest of the release to run. */
  readonly updateDesired: string;
  /** Retained, by the agent: where the update state machine is. */
  readonly updateState: string;
}

export function deviceTopics(deviceId: string): DeviceTopics {
  const root = `${TOPIC_PREFIX}/${deviceId}`;
  const commandPrefix = `${root}/cmd/`;
  const viewersPrefix = `${root}/webrtc/viewers/`;
  return {
    root,
    status: `${root}/status`,
    health: `${root}/health`,
    event: `${root}/event`,
    commandFilter: `${commandPrefix}+`,
    command: (name) => `${commandPrefix}${name}`,
    commandResponse: (name) => `${commandPrefix}${name}/response`,
    peripheralReading: (id) => `${root}/peripherals/${id}/reading`,
    peripheralState: (id) => `${root}/peripherals/${id}/state`,
    webrtcCandidate: (sessionId) => `${root}/webrtc/${sessionId}/candidate`,
    viewerGoneFilter: `${viewersPrefix}+/gone`,
    configDesired: `${root}/config/desired`,
    configReported: `${root}/config/reported`,
    updateDesired: `${root}/update/desired`,
    updateState: `${root}/update/state`,
    viewerGone: (viewerId) => `${viewersPrefix}${viewerId}/gone`,
    viewerIdOfGone: (topic) => {
      if (!topic.startsWith(viewersPrefix) || !topic.endsWith("/gone")) return undefined;
      const id = topic.slice(viewersPrefix.length, -"/gone".length);
      return id.length > 0 && !id.includes("/") ? id : undefined;
    },
    commandName: (topic) => {
      if (!topic.startsWith(commandPrefix)) return undefined;
      const name = topic.slice(commandPrefix.length);
      return name.length > 0 && !name.includes("/") ? name : undefined;
    },
  };
}
