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
}

export function deviceTopics(deviceId: string): DeviceTopics {
  const root = `${TOPIC_PREFIX}/${deviceId}`;
  const commandPrefix = `${root}/cmd/`;
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
    commandName: (topic) => {
      if (!topic.startsWith(commandPrefix)) return undefined;
      const name = topic.slice(commandPrefix.length);
      return name.length > 0 && !name.includes("/") ? name : undefined;
    },
  };
}
