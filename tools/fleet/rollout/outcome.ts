/**
 * What a box's report means for its place in a rollout (pure): done, failed with the box's own
 * result and reason, or still on its way. Reports about another version (an older release's
 * retained state, a config layer someone else set before) say nothing about this rollout.
 */
import type { BoxReport } from "../types/boxLink.ts";

export type ReportMeaning =
  | { kind: "succeeded"; report: string }
  | { kind: "failed"; report: string; result: string; reason: string }
  | { kind: "progress"; report: string }
  | { kind: "unrelated" };

export function meaningOf(report: BoxReport, target: string | number): ReportMeaning {
  if (report.kind === "update") {
    const { state, version, result, reason } = report.payload;
    if (version !== target) return { kind: "unrelated" };
    if (state === "committed") return { kind: "succeeded", report: state };
    if (state === "rolled-back" || state === "failed") {
      return { kind: "failed", report: state, result: result ?? state, reason: reason ?? `${state} without a reason` };
    }
    return { kind: "progress", report: state };
  }
  const { version, state, lastError } = report.payload;
  if (typeof target !== "number") return { kind: "unrelated" };
  // Refused (did not validate, outside remotePolicy) or undone after a restart onto it: the box
  // names the version in lastError and keeps the one it had.
  if (lastError?.version === target && version < target) {
    return { kind: "failed", report: `refused v${target}`, result: "config-refused", reason: lastError.errors.join("; ").slice(0, 1000) || "refused" };
  }
  // A later version applied on top (set by someone else meanwhile) includes this one's place.
  if (version >= target && state === "applied") return { kind: "succeeded", report: `applied v${version}` };
  if (version >= target) return { kind: "progress", report: `${state} v${version}` };
  return { kind: "unrelated" };
}
