// What the rollouts page says about a rollout: pure functions over the API's answers
// (tools/fleet/rollout/model.ts: RolloutRecord, RolloutTotals, RolloutReport). No DOM here.

/** Box states that count against the failure threshold (model.ts, countsAsFailure). */
const FAILED = new Set(["failed", "timed-out"]);
/** Sent and not settled yet. */
const IN_FLIGHT = new Set(["sending", "sent"]);

/** "release 1.5.0" or "config v13". */
export function changeText(rollout) {
  return rollout.kind === "update" ? `release ${rollout.target}` : `config v${rollout.target}`;
}

/** What the rollout is, in one line: change, boxes, batches, who and when. */
export function rolloutLine(rollout, totals, dateText) {
  const batches = rollout.batches <= 1 ? "the canary alone" : `the canary then ${rollout.batches - 1} batch${rollout.batches === 2 ? "" : "es"}`;
  const by = rollout.createdBy === null ? "" : ` by ${rollout.createdBy}`;
  return `${changeText(rollout)} to ${totals.boxes} box${totals.boxes === 1 ? "" : "es"}, ${batches}; created ${dateText(Date.parse(rollout.createdAt))}${by}`;
}

/** The totals in words, outcomes first: "3 of 5 done · 1 failed · 1 in flight". Zero counts are left out, but done. */
export function totalsText(totals) {
  const parts = [`${totals.succeeded} of ${totals.boxes} done`];
  const failed = totals.failed + totals.timedOut;
  if (failed > 0) parts.push(`${failed} failed${totals.timedOut > 0 ? ` (${totals.timedOut} timed out)` : ""}`);
  if (totals.inFlight > 0) parts.push(`${totals.inFlight} in flight`);
  if (totals.offline > 0) parts.push(`${totals.offline} offline (take it when back)`);
  if (totals.pending > 0) parts.push(`${totals.pending} not sent yet`);
  if (totals.skipped > 0) parts.push(`${totals.skipped} skipped`);
  return parts.join(" · ");
}

/** Boxes settled, for the progress bar: done, failed, and offline (nothing more happens to them now). */
export function settledOf(totals) {
  return totals.succeeded + totals.failed + totals.timedOut + totals.offline;
}

/** One row per batch, the canary first: its boxes, done, failed, pending (in flight or not sent), offline. */
export function batchRows(report) {
  const rows = [];
  for (let batch = 0; batch < report.rollout.batches; batch += 1) {
    const boxes = report.boxes.filter((box) => box.batch === batch);
    const count = (test) => boxes.filter((box) => test(box.state)).length;
    rows.push({
      batch,
      label: batch === 0 ? "canary" : `batch ${batch}`,
      boxes: boxes.length,
      done: count((state) => state === "succeeded"),
      failed: count((state) => FAILED.has(state)),
      pending: count((state) => state === "pending" || IN_FLIGHT.has(state)),
      offline: count((state) => state === "offline"),
      sent: batch <= report.rollout.currentBatch,
    });
  }
  return rows;
}

/** The boxes that failed or timed out, in the order they did. */
export function failedBoxes(report) {
  return report.boxes.filter((box) => FAILED.has(box.state)).sort((a, b) => String(a.settledAt).localeCompare(String(b.settledAt)) || a.deviceId.localeCompare(b.deviceId));
}

/** "health-check-failed: the broker was not reached…" */
export function failureText(box) {
  return `${box.result ?? box.state}${box.reason ? `: ${box.reason}` : ""}`;
}

/** The buttons a rollout has for someone who may control it: by its status (engine.ts, control). */
export function controlsOf(status, mayControl) {
  if (!mayControl) return [];
  if (status === "running") return ["pause", "abort"];
  if (status === "paused") return ["resume", "abort"];
  return [];
}

/** Whether the rollout still moves: its report is worth reading again. */
export function isUnderWay(rollout, totals) {
  return rollout.status === "running" || rollout.status === "paused" || totals.inFlight > 0;
}
