/**
 * One box's state as the fleet service keeps it, built from the box's own retained `status` and
 * `summary` (docs/mqtt-api.md). Here, below tools/fleet/ and tools/fleet/rollout/, because both
 * read it and the fleet's files compose rollouts (an import back up would be a folder cycle,
 * .dependency-cruiser.cjs); the rest of the fleet's vocabulary is in ../model.ts.
 */
import type { SiteLabels, SummaryPayload } from "../../../agent/core/api.ts";

/** One box as the fleet service last saw it. */
export interface BoxState {
  deviceId: string;
  site: SiteLabels;
  online: boolean;
  /** When `online` last changed (ISO 8601, the service's clock). */
  since: string;
  /**
   * Why it went offline, from its `status` (last will or clean stop), or `silent`: nothing heard
   * for more than its keep-alive + 4 s (../fleet.ts, ../silence.ts), before the broker's will says so.
   */
  offlineReason: "connection-lost" | "shutdown" | "silent" | null;
  /** The box's own figures from its retained `summary`; null until one arrives. */
  summary: SummaryPayload | null;
  /** When the service last heard from the box (any message). */
  lastSeenAt: string;
}
