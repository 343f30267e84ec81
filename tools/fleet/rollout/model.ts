/**
 * The vocabulary of staged rollouts (issue 16): what a technician asks for (RolloutSpec), what the
 * plan makes of it (RolloutPlan), and what the store keeps while the engine carries it out
 * (RolloutRecord, RolloutBox). Plain data, JSON as it is: the API answers it and the store keeps it.
 */
import type { SiteLabels } from "../../../agent/core/api.ts";
import type { ReportKind } from "../types/boxLink.ts";

/** Which boxes: every given criterion must hold (labels and version exactly); `deviceIds` names them outright. */
export interface RolloutSelection {
  province?: string;
  district?: string;
  commune?: string;
  /** The version the box runs now (its `summary`). */
  version?: string;
  deviceIds?: string[];
}

/** What is sent: a signed release manifest as `thea release pack` wrote it, or a remote config layer. */
export type RolloutChange =
  | { kind: "release"; manifest: string }
  | { kind: "config"; patch: Record<string, unknown> }
  | { kind: "config"; config: Record<string, unknown> };

/** A number of boxes, or a percentage of them (rounded up: 10 % of 5 boxes is 1). */
export type Amount = { count: number } | { percent: number };

export interface RolloutSpec {
  selection: RolloutSelection;
  change: RolloutChange;
  /** The first batch, alone. */
  canary: Amount;
  /** Boxes per batch after the canary. */
  batchSize: number;
  /** The rollout halts once more boxes than this have failed (a percentage is of the boxes sent so far). */
  failureThreshold: Amount;
  /** How long one box has to reach its goal once its desired state is published. */
  boxDeadlineMs: number;
}

export interface PlannedBox {
  deviceId: string;
  site: SiteLabels;
  /** The version (release) or config version (config) the box has now; null when unknown. */
  from: string | number | null;
  /** 0 is the canary. */
  batch: number;
}

export interface SkippedBox {
  deviceId: string;
  reason: string;
}

/** A dry run's answer, and what a rollout is made of. */
export interface RolloutPlan {
  kind: ReportKind;
  /** The release's version, or the config layer's version the rollout picked. */
  target: string | number;
  /** The retained desired payload every box of the rollout is sent, as published. */
  payload: string;
  boxes: PlannedBox[];
  /** Selected boxes that get nothing, and why (already there, not in the manifest's devices). */
  skipped: SkippedBox[];
  batches: number;
  /** Failures past which it halts (the count; with a percentage, recomputed over the boxes sent). */
  failureThreshold: Amount;
  boxDeadlineMs: number;
}

export const ROLLOUT_STATUSES = ["running", "paused", "halted", "aborted", "completed"] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/**
 * One box's way through a rollout: `pending` (nothing sent), `sending` (written before its
 * desired state is published: a restart publishes it if the broker does not have it yet), `sent`
 * (the broker has it; waiting), then one outcome.
 */
export const BOX_STATES = ["pending", "sending", "sent", "succeeded", "failed", "timed-out", "offline"] as const;
export type RolloutBoxState = (typeof BOX_STATES)[number];

export interface RolloutBox {
  deviceId: string;
  batch: number;
  state: RolloutBoxState;
  site: SiteLabels;
  from: string | number | null;
  /** When its desired state was published (ISO 8601, the service's clock). */
  sentAt: string | null;
  /** When it is given up on, once sent. */
  deadlineAt: string | null;
  /** The box's last report seen after sending (an update state or a config state). */
  lastReport: string | null;
  /** The box's result code (`health-check-failed`, `timed-out`, `config-refused`, …), when settled. */
  result: string | null;
  /** Why, in words (the box's own reason, or the service's). */
  reason: string | null;
  settledAt: string | null;
}

export interface RolloutRecord {
  id: string;
  /** The person who created it (their certificate's CN), or null without a roster. */
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  status: RolloutStatus;
  /** Why it halted or was aborted, paused or resumed last. */
  statusReason: string | null;
  spec: RolloutSpec;
  kind: ReportKind;
  target: string | number;
  payload: string;
  batches: number;
  /** The highest batch sent so far (-1 before the canary). */
  currentBatch: number;
  skipped: SkippedBox[];
}

/** The per-state counts and the status of a rollout, for lists and the CLI's progress lines. */
export interface RolloutTotals {
  boxes: number;
  pending: number;
  inFlight: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  offline: number;
  skipped: number;
}

export interface RolloutReport {
  rollout: RolloutRecord;
  totals: RolloutTotals;
  boxes: RolloutBox[];
}

/** Settled: nothing more happens to the box in this rollout, unless a late report comes. */
export function isSettled(state: RolloutBoxState): boolean {
  return state === "succeeded" || state === "failed" || state === "timed-out" || state === "offline";
}

/** Outcomes that count toward the failure threshold. */
export function countsAsFailure(state: RolloutBoxState): boolean {
  return state === "failed" || state === "timed-out";
}

export function totalsOf(boxes: readonly RolloutBox[], skipped: number): RolloutTotals {
  const count = (state: RolloutBoxState) => boxes.filter((box) => box.state === state).length;
  return {
    boxes: boxes.length,
    pending: count("pending"),
    inFlight: count("sending") + count("sent"),
    succeeded: count("succeeded"),
    failed: count("failed"),
    timedOut: count("timed-out"),
    offline: count("offline"),
    skipped,
  };
}
