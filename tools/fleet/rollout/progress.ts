/**
 * How a rollout moves on (pure): a box's report or deadline settles it, and the rollout's next
 * step follows from its boxes (halt, send the next batch, complete, or wait). The engine does the
 * I/O around these.
 */
import type { ReportKind } from "../types/boxLink.ts";
import { countsAsFailure, isSettled, type RolloutBox, type RolloutRecord } from "./model.ts";
import type { ReportMeaning } from "./outcome.ts";
import { passesThreshold } from "./plan.ts";

/** The box after a report, or undefined when nothing about it changed. */
export function afterReport(box: RolloutBox, meaning: ReportMeaning, nowIso: string): RolloutBox | undefined {
  // Nothing was sent to a pending box: what it says is about something else.
  if (box.state === "pending" || meaning.kind === "unrelated") return undefined;
  if (meaning.kind === "progress") {
    // A late progress report does not undo an outcome; a box that comes back and reports is
    // still followed, and its final report settles it again.
    if (box.lastReport === meaning.report) return undefined;
    return { ...box, lastReport: meaning.report };
  }
  if (meaning.kind === "succeeded") {
    if (box.state === "succeeded") return undefined;
    return { ...box, state: "succeeded", lastReport: meaning.report, result: "ok", reason: null, settledAt: nowIso };
  }
  if (box.state === "failed" && box.result === meaning.result) return undefined;
  return { ...box, state: "failed", lastReport: meaning.report, result: meaning.result, reason: meaning.reason, settledAt: nowIso };
}

/**
 * A sent box past its deadline. One that never said a word since it was sent and is offline now
 * is `offline`: it has not tried the change, and it takes it when it comes back (the desired state
 * is retained), so it does not count against the release. One that was heard from, or is online
 * and silent, is `timed-out`, which counts: that is how a release that breaks a box's link looks.
 */
export function afterDeadline(box: RolloutBox, online: boolean, nowIso: string): RolloutBox {
  if (box.lastReport === null && !online) {
    return { ...box, state: "offline", result: "offline", reason: "offline since it was sent, and not heard from; it takes the change when it comes back", settledAt: nowIso };
  }
  const last = box.lastReport === null ? "no report at all" : `last report: ${box.lastReport}`;
  return { ...box, state: "timed-out", result: "timed-out", reason: `not done by its deadline (${last})`, settledAt: nowIso };
}

export type NextStep = { kind: "halt"; reason: string } | { kind: "send"; batch: number } | { kind: "complete" } | { kind: "wait" };

export function nextStep(rollout: RolloutRecord, boxes: readonly RolloutBox[]): NextStep {
  // A paused rollout halts too when late outcomes pass the threshold: resuming it must not send more.
  if (rollout.status !== "running" && rollout.status !== "paused") return { kind: "wait" };
  const attempted = boxes.filter((box) => box.state !== "pending");
  const failures = attempted.filter((box) => countsAsFailure(box.state)).length;
  if (passesThreshold(failures, attempted.length, rollout.spec.failureThreshold)) {
    const threshold = rollout.spec.failureThreshold;
    const allowed = "count" in threshold ? `${threshold.count}` : `${threshold.percent}% of the boxes sent`;
    return { kind: "halt", reason: `${failures} of ${attempted.length} boxes sent failed, more than the threshold (${allowed})` };
  }
  if (rollout.status === "paused") return { kind: "wait" };
  const waiting = boxes.some((box) => box.batch <= rollout.currentBatch && !isSettled(box.state) && box.state !== "pending");
  if (waiting) return { kind: "wait" };
  const pending = boxes.filter((box) => box.state === "pending").map((box) => box.batch);
  if (pending.length > 0) return { kind: "send", batch: Math.min(...pending) };
  return { kind: "complete" };
}

/** Whether the engine still has something to follow in this rollout. */
export function isLive(rollout: RolloutRecord, boxes: readonly RolloutBox[]): boolean {
  return rollout.status === "running" || rollout.status === "paused" || boxes.some((box) => box.state === "sending" || box.state === "sent");
}

/** Boxes of `kind` that a live rollout still has to send or is waiting on: a second rollout must not touch them. */
export function busyIn(rollouts: ReadonlyArray<{ rollout: RolloutRecord; boxes: readonly RolloutBox[] }>, kind: ReportKind): Set<string> {
  const busy = new Set<string>();
  for (const { rollout, boxes } of rollouts) {
    if (rollout.kind !== kind) continue;
    const sending = rollout.status === "running" || rollout.status === "paused";
    for (const box of boxes) if (box.state === "sending" || box.state === "sent" || (sending && box.state === "pending")) busy.add(box.deviceId);
  }
  return busy;
}
