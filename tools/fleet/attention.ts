/**
 * Which boxes need an operator, and in what order (issue 16, "Needs attention first"). Pure: a
 * box's last known state and the service's clock in, reasons out. The figures come from the box's
 * retained `summary` (docs/mqtt-api.md); while a box is offline they are its state when last online,
 * still shown, since "disk 97 %" beside "offline" is often the why.
 */
import type { AttentionReason, BoxRow, FleetCounts } from "./model.ts";
import type { BoxState } from "./types/boxState.ts";

export interface AttentionRules {
  /** A box offline longer than this needs attention; shorter is a reboot or a blip. */
  offlineAttentionMin: number;
}

export const DEFAULT_OFFLINE_ATTENTION_MIN = 10;
/** The agent's own warning threshold (`disk.usage-high` at 80 %, docs/mqtt-api.md `event`). */
const DISK_FULL_PERCENT = 80;
/** An hour: the summary's age bands are 0, 1, 5, 15, 60, … minutes, so ≥ 60 is "an hour or more". */
const OUTBOX_STALE_MIN = 60;
/** Update states that end a rollout step badly; the box needs a technician. */
const UPDATE_FAILED = new Set(["failed", "rolled-back"]);
/** Update states in which nothing is happening: anything else counts as updating. */
const UPDATE_AT_REST = new Set(["idle", "committed", "failed", "rolled-back"]);

const MINUTE_MS = 60_000;

/** How long the box has been offline at `nowMs`, or undefined when it is online. */
export function offlineMs(state: BoxState, nowMs: number): number | undefined {
  if (state.online) return undefined;
  const since = Date.parse(state.since);
  return Number.isNaN(since) ? 0 : Math.max(0, nowMs - since);
}

export function attentionReasons(state: BoxState, nowMs: number, rules: AttentionRules): AttentionReason[] {
  const reasons: AttentionReason[] = [];
  const offFor = offlineMs(state, nowMs);
  if (offFor !== undefined && offFor > rules.offlineAttentionMin * MINUTE_MS) {
    reasons.push({ kind: "offline", forMin: Math.floor(offFor / MINUTE_MS) });
  }
  const summary = state.summary;
  if (!summary) return reasons;
  const { down, downMore = 0 } = summary.peripherals;
  if (down.length > 0 || downMore > 0) reasons.push({ kind: "peripheral-down", ids: [...down], more: downMore });
  if (summary.diskUsedPercent !== null && summary.diskUsedPercent > DISK_FULL_PERCENT) {
    reasons.push({ kind: "disk-full", usedPercent: summary.diskUsedPercent });
  }
  if (summary.outbox.oldestAgeMin !== null && summary.outbox.oldestAgeMin >= OUTBOX_STALE_MIN) {
    reasons.push({ kind: "outbox-stale", oldestAgeMin: summary.outbox.oldestAgeMin });
  }
  // null means the box cannot tell: not a fault of the box, so not on the list.
  if (summary.clockSynchronized === false) reasons.push({ kind: "clock-unsynchronized" });
  if (UPDATE_FAILED.has(summary.update)) reasons.push({ kind: "update-failed", state: summary.update });
  if (summary.config.refusedVersion !== null) reasons.push({ kind: "config-refused", version: summary.config.refusedVersion });
  return reasons;
}

export function isUpdating(state: BoxState): boolean {
  return state.summary !== null && !UPDATE_AT_REST.has(state.summary.update);
}

export function rowOf(state: BoxState, nowMs: number, rules: AttentionRules): BoxRow {
  return { ...state, attention: attentionReasons(state, nowMs, rules) };
}

export function countsOf(rows: readonly BoxRow[]): FleetCounts {
  const counts: FleetCounts = { total: rows.length, online: 0, offline: 0, attention: 0, updating: 0 };
  for (const row of rows) {
    if (row.online) counts.online += 1;
    else counts.offline += 1;
    if (row.attention.length > 0) counts.attention += 1;
    if (isUpdating(row)) counts.updating += 1;
  }
  return counts;
}

/**
 * Most urgent first: rows needing attention (those offline longest first, then by how many
 * reasons they have), then the rest; ties by deviceId. Device ids are unique, so the order is
 * total: the same rows give the same list whatever order they came in.
 */
export function byUrgency(nowMs: number): (a: BoxRow, b: BoxRow) => number {
  return (a, b) => {
    const needA = a.attention.length > 0;
    const needB = b.attention.length > 0;
    if (needA !== needB) return needA ? -1 : 1;
    if (needA) {
      const offA = a.attention.some((reason) => reason.kind === "offline") ? (offlineMs(a, nowMs) ?? 0) : -1;
      const offB = b.attention.some((reason) => reason.kind === "offline") ? (offlineMs(b, nowMs) ?? 0) : -1;
      if (offA !== offB) return offB - offA;
      if (a.attention.length !== b.attention.length) return b.attention.length - a.attention.length;
    }
    return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
  };
}
