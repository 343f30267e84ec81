/**
 * What each role may do to one box, as MQTT topic filters below the box's root
 * (`thea/v1/{deviceId}/`; see docs/mqtt-api.md for the topics). The broker kit's ACL is generated
 * from this table; a fleet service enforcing the same roster should read it too, so that one list
 * says what an operator may do.
 *
 * Replies are not in the table: a person reads `reply/{their CN}/#` of their boxes and nothing of
 * anyone else's answers (see acl.ts).
 */
export const ROLES = ["operator", "technician", "backend"] as const;
export type Role = (typeof ROLES)[number];

/** Commands an operator (a doctor or nurse at a hospital watching a station) may send. */
export const OPERATOR_COMMANDS = [
  "ping", "health.now", "peripherals.list", "media.sessions", "camera.snapshot",
  "webrtc.offer", "webrtc.candidate", "webrtc.close",
  "ptz.move", "ptz.zoom", "ptz.stop", "ptz.goto", "ptz.position", "ptz.preset.recall", "ptz.preset.set",
  "bp.start", "bp.stop", "bp.read",
] as const;

export interface Grants {
  readonly read: readonly string[];
  readonly write: readonly string[];
  /** Read and written: the retained desired state that technicians set. */
  readonly readwrite: readonly string[];
}

/**
 * What a person watching a box sees: presence and its heartbeat (`alive`, by which the fleet
 * service calls a box silent before its will), its summary, health, events, peripherals, a
 * session's ICE candidates.
 */
const WATCH = ["status", "alive", "summary", "health", "event", "peripherals/#", "webrtc/+/candidate"];
/** A viewer's MQTT last will, which ends its viewing sessions when its connection vanishes. */
const VIEWER_GONE = "webrtc/viewers/+/gone";

export const ROLE_GRANTS: Readonly<Record<Role, Grants>> = {
  operator: {
    read: WATCH,
    write: [...OPERATOR_COMMANDS.map((name) => `cmd/${name}`), VIEWER_GONE],
    readwrite: [],
  },
  technician: {
    read: [...WATCH, "config/reported", "update/state"],
    write: ["cmd/+", VIEWER_GONE],
    readwrite: ["config/desired", "update/desired"],
  },
  // The hospital's ingest: readings and health, nothing of commands, configuration or replies.
  backend: {
    read: ["peripherals/+/reading", "health"],
    write: [],
    readwrite: [],
  },
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
