/**
 * What the rollouts page computes from the API's answers (tools/fleet/page/rolloutWords.js, run
 * here in Node as the browser runs it): the totals in words, each batch's counts, the failed
 * boxes in the order they failed, and which buttons a rollout has for whom.
 */
import { describe, expect, it } from "vitest";
import type { RolloutBox, RolloutRecord, RolloutReport, RolloutTotals } from "../../../tools/fleet/rollout/model.ts";
import { totalsOf } from "../../../tools/fleet/rollout/model.ts";

interface BatchRow { batch: number; label: string; boxes: number; done: number; failed: number; pending: number; offline: number; sent: boolean }
interface RolloutWords {
  changeText(rollout: RolloutRecord): string;
  totalsText(totals: RolloutTotals): string;
  settledOf(totals: RolloutTotals): number;
  batchRows(report: RolloutReport): BatchRow[];
  failedBoxes(report: RolloutReport): RolloutBox[];
  failureText(box: RolloutBox): string;
  controlsOf(status: string, mayControl: boolean): string[];
}

// A path the type checker does not follow: the page's plain JavaScript has no declarations.
const words = (await import(new URL("../../../tools/fleet/page/rolloutWords.js", import.meta.url).href)) as RolloutWords;

const box = (deviceId: string, batch: number, state: RolloutBox["state"], extra: Partial<RolloutBox> = {}): RolloutBox => ({
  deviceId,
  batch,
  state,
  site: {},
  from: "1.4.0",
  sentAt: null,
  deadlineAt: null,
  lastReport: null,
  result: null,
  reason: null,
  settledAt: null,
  ...extra,
});

function report(boxes: RolloutBox[], changes: Partial<RolloutRecord> = {}): RolloutReport {
  const rollout = {
    id: "2026-12-03-0a0b0c0d",
    createdBy: "technician.minh",
    createdAt: "2026-12-03T01:00:00.000Z",
    updatedAt: "2026-12-03T01:10:00.000Z",
    status: "running",
    statusReason: null,
    kind: "update",
    target: "1.5.0",
    payload: "{}",
    batches: 3,
    currentBatch: 1,
    skipped: [],
    ...changes,
  } as RolloutRecord;
  return { rollout, totals: totalsOf(boxes, rollout.skipped.length), boxes };
}

describe("the rollouts page's words", () => {
  const boxes = [
    box("c", 0, "succeeded"),
    box("a", 1, "failed", { result: "health-check-failed", reason: "spo2-1 down", settledAt: "2026-12-03T01:05:00.000Z" }),
    box("b", 1, "timed-out", { result: "timed-out", reason: "not done by its deadline (last report: installing)", settledAt: "2026-12-03T01:04:00.000Z" }),
    box("d", 1, "sent"),
    box("e", 1, "offline"),
    box("f", 2, "pending"),
  ];

  it("counts each batch's boxes by outcome, and says which batches were not sent", () => {
    expect(words.batchRows(report(boxes))).toEqual([
      { batch: 0, label: "canary", boxes: 1, done: 1, failed: 0, pending: 0, offline: 0, sent: true },
      { batch: 1, label: "batch 1", boxes: 4, done: 0, failed: 2, pending: 1, offline: 1, sent: true },
      { batch: 2, label: "batch 2", boxes: 1, done: 0, failed: 0, pending: 1, offline: 0, sent: false },
    ]);
  });

  it("says the totals, outcomes first, leaving out what is zero", () => {
    expect(words.totalsText(report(boxes).totals)).toBe("1 of 6 done · 2 failed (1 timed out) · 1 in flight · 1 offline (take it when back) · 1 not sent yet");
    expect(words.totalsText(report([box("c", 0, "succeeded")], { skipped: [{ deviceId: "z", reason: "already runs 1.5.0" }] }).totals)).toBe("1 of 1 done · 1 skipped");
    expect(words.settledOf(report(boxes).totals)).toBe(4);
  });

  it("lists the failed and timed-out boxes in the order they failed, with why", () => {
    const failed = words.failedBoxes(report(boxes));
    expect(failed.map((one) => one.deviceId)).toEqual(["b", "a"]);
    expect(failed.map((one) => words.failureText(one))).toEqual(["timed-out: not done by its deadline (last report: installing)", "health-check-failed: spo2-1 down"]);
  });

  it("names the change, and gives buttons only to those who may, as the rollout's status allows", () => {
    expect(words.changeText(report(boxes).rollout)).toBe("release 1.5.0");
    expect(words.changeText(report(boxes, { kind: "config", target: 13 }).rollout)).toBe("config v13");
    expect(words.controlsOf("running", true)).toEqual(["pause", "abort"]);
    expect(words.controlsOf("paused", true)).toEqual(["resume", "abort"]);
    for (const status of ["halted", "aborted", "completed"]) expect(words.controlsOf(status, true)).toEqual([]);
    expect(words.controlsOf("running", false)).toEqual([]);
  });
});
