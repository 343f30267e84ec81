/**
 * Payload types of the MQTT API, one per topic (docs/mqtt-api.md shows an example of each).
 * Times are ISO 8601 from the box's clock; `clockSynchronized` says whether to trust them.
 */

/** true: NTP-synchronised; false: known not to be; null: the box cannot tell. */
export type ClockSynchronized = boolean | null;

/** `thea/v1/{deviceId}/status`, retained. */
export type StatusPayload = StatusOnline | StatusOffline;

export interface StatusOnline {
  online: true;
  version: string;
  startedAt: string;
  configHash: string;
  /** Random per agent start: tells one run of the agent from the next. */
  bootId: string;
  /** Counts MQTT connections within this boot id: 1 on start, +1 per reconnect. */
  session: number;
  clockSynchronized: ClockSynchronized;
  /** The box's site labels from its config (`site`); each absent when not configured. */
  site: SiteLabels;
  /**
   * The MQTT keep-alive this connection was made with (mqtt.keepaliveSec): the box publishes
   * `alive` at that cadence, so a fleet view may call it silent past keepaliveSec + 5 s without
   * waiting for the broker's will. Absent from agents older than `alive`.
   */
  keepaliveSec?: number;
}

/** Where a box stands: config `site`, for fleet views. */
export interface SiteLabels {
  province?: string;
  district?: string;
  commune?: string;
}

/**
 * `thea/v1/{deviceId}/summary`, retained, at most 1 kB: the box at a glance for fleet views.
 * Drifting figures are quantised so noise does not republish it (docs/mqtt-api.md).
 */
export interface SummaryPayload {
  site: SiteLabels;
  /** When the current broker connection began. */
  onlineSince: string;
  version: string;
  config: { version: number; state: "applied" | "restarting" | "waiting-for-idle" | "trial"; refusedVersion: number | null };
  /** The update state machine's state (`update/state`). */
  update: string;
  clockSynchronized: ClockSynchronized;
  /** Rounded down to a multiple of 5 °C; null when the box has no sensor. */
  cpuTempC: number | null;
  /** Whole percent; null when the data disk cannot be read. */
  diskUsedPercent: number | null;
  /** Pending entries (one significant figure, below 10 shown as 0) and the oldest's age band in minutes. */
  outbox: { backlog: number; oldestAgeMin: number | null };
  /** `down`: ids of configured peripherals not connected, at most a few; `downMore` counts the rest. */
  peripherals: { connected: number; configured: number; down: string[]; downMore?: number };
  /** Viewer sessions connected now: a consultation is live when > 0. */
  consultations: number;
}

export interface StatusOffline {
  online: false;
  /** connection-lost comes from the broker (last will); shutdown from a clean stop. */
  reason: "connection-lost" | "shutdown";
  bootId: string;
}

/** `thea/v1/{deviceId}/health`, every telemetry.healthIntervalSec and on each (re)connect. */
export interface HealthPayload {
  time: string;
  clockSynchronized: ClockSynchronized;
  uptimeSec: { system: number; agent: number };
  cpu: {
    cores: number;
    loadPercent: number | null;
    loadAverage: [number, number, number];
    temperatureC: number | null;
  };
  memory: { totalBytes: number; availableBytes: number; usedPercent: number };
  disk: DiskUse | { path: string; error: string };
  network: { interfaces: NetworkInterfaceState[] };
  agent: AgentHealth;
  outbox: OutboxHealth;
}

export interface OutboxHealth {
  /** Entries waiting for the broker's acknowledgement. */
  depth: number;
  bytes: number;
  oldestPendingAgeSec: number | null;
  inFlight: number;
  /** Backlog entries replayed per second since the previous report. */
  replayRatePerSec: number;
  /** True when the disk failed and pending entries are held in memory only. */
  degraded: boolean;
  degradedReason: string | null;
  dropped: { telemetry: number; event: number; clinical: number };
}

export interface DiskUse {
  path: string;
  totalBytes: number;
  freeBytes: number;
  usedPercent: number;
}

export interface NetworkInterfaceState {
  name: string;
  up: boolean;
  ipv4: string[];
}

export interface AgentHealth {
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay over the last interval, milliseconds. */
  eventLoopLagMs: { p50: number; p99: number; max: number };
  counters: Record<string, number>;
}

/** `thea/v1/{deviceId}/peripherals/{peripheralId}/reading`, QoS 1. */
export interface ReadingPayload {
  /** Unique; receivers deduplicate on it. */
  id: string;
  /** Strictly increasing per box, across restarts. */
  seq: number;
  peripheral: string;
  driver: string;
  /** The device's clock when the protocol carries one, else `receivedAt`. */
  time: string;
  receivedAt: string;
  kind: "continuous" | "spot";
  /** `device_numeric` ones carry the device's code instead of a LOINC code. */
  observations: Array<{ type: string; value: number; unit: string; loinc?: string; code?: string; codeName?: string; codeSystem?: string }>;
  flags: string[];
  /** The device's clock minus the box's in ms, where the driver measured it (Bluetooth health devices). */
  deviceClockOffsetMs?: number;
}

/** `thea/v1/{deviceId}/peripherals/{peripheralId}/state`, retained. */
export interface PeripheralState {
  peripheral: string;
  driver: string;
  connected: boolean;
  /** The port in use (or last tried). */
  path: string | null;
  lastError: string | null;
  /** Readings decoded since the agent started (before rate limiting). */
  readings: number;
  /** Readings a device marked as demo data: counted, never published. */
  demoReadings: number;
  /** `device_numeric` observations decoded (before rate limiting): codes the driver has no type for (HL7 MDC codes not in its table). */
  unmappedObservations: number;
  /** Runs of bytes the decoder could not use, and how many bytes they held. */
  badFrames: number;
  discardedBytes: number;
  lastReadingAt: string | null;
  /** When `connected` last changed. */
  since: string;
}

/** The answer to `thea/v1/{deviceId}/cmd/{name}`, on the request's response topic. */
export type CommandResponse =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string } };

/** `cmd/ping` result. */
export interface PingResult {
  deviceId: string;
  version: string;
  bootId: string;
  uptimeSec: number;
  time: string;
  clockSynchronized: ClockSynchronized;
}

/** A viewer-bound ICE candidate: `thea/v1/{deviceId}/webrtc/{sessionId}/candidate` (RFC 8839 §5.1 attribute text). */
export interface WebrtcCandidatePayload {
  candidate: string;
  sdpMid?: string | null | undefined;
  sdpMLineIndex?: number | null | undefined;
}

/** `thea/v1/{deviceId}/config/reported`, retained. */
export interface ConfigReported {
  version: number;
  hash: string;
  appliedAt: string | null;
  /** applied: running it; restarting: restarting onto it; waiting-for-idle: will restart when no consultation is live; trial: restarted onto it, not yet confirmed. */
  state: "applied" | "restarting" | "waiting-for-idle" | "trial";
  config: unknown;
  lastError: ConfigError | null;
}

/** Why a desired config was refused (in config/reported). */
export interface ConfigError {
  /** The desired version that failed, when it had one. */
  version: number | null;
  at: string;
  errors: string[];
}

export const UPDATE_STATES = [
  "idle",
  "downloading",
  "downloaded",
  "verifying",
  "installing",
  "deferred",
  "restarting",
  "verifying-health",
  "committed",
  "rolled-back",
  "failed",
] as const;
export type UpdateStateName = (typeof UPDATE_STATES)[number];

export type UpdateResult =
  | "ok"
  | "bad-manifest"
  | "unknown-key"
  | "bad-signature"
  | "not-for-this-box"
  | "expired"
  | "downgrade"
  | "below-floor"
  | "clock-unsynchronized"
  | "below-min-version"
  | "too-large"
  | "unpacked-too-large"
  | "download-failed"
  | "digest-mismatch"
  | "install-failed"
  | "health-check-failed"
  | "crash-loop";

/** `thea/v1/{deviceId}/update/state`, retained. */
export interface UpdateStatePayload {
  state: UpdateStateName;
  version: string | null;
  runningVersion: string;
  /** The anti-rollback floor: the highest version committed here (null before the first commit). */
  floor: string | null;
  progress: number | null;
  result: UpdateResult | null;
  reason: string | null;
  since: string;
}

/**
 * The topic→payload map: what the agent publishes as JSON on each kind of topic. Bytes already
 * serialized (outbox entries, the summary's quantised text) keep the connection's plain publish.
 */
export interface TopicPayloads {
  status: StatusPayload;
  health: HealthPayload;
  peripheralState: PeripheralState;
  reading: ReadingPayload;
  /** A command's answer, on its response topic (topics.ts answerTopicAllowed). */
  answer: CommandResponse;
  webrtcCandidate: WebrtcCandidatePayload;
  configReported: ConfigReported;
  updateState: UpdateStatePayload;
}

export type TopicKind = keyof TopicPayloads;

declare const topicKind: unique symbol;

/**
 * A topic name built by topics.ts, branded with what is published on it: a payload of another
 * type for it does not compile (mqtt/publish.ts).
 */
export type Topic<K extends TopicKind> = string & { readonly [topicKind]: K };

/** The wire bytes of `payload` on `topic`: plain JSON, as every JSON topic of v1 carries. */
export function encodePayload<K extends TopicKind>(_topic: Topic<K>, payload: NoInfer<TopicPayloads[K]>): string {
  return JSON.stringify(payload);
}
