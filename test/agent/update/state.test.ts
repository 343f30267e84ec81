/**
 * The update state machine's record on a real data directory: what a fresh box starts from, and
 * a step resumed after a restart (a power cut mid-update) with what is never retried kept.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TERMINAL, UPDATE_STATES, UpdateStore, type UpdateRecord } from "../../../agent/update/state.ts";

const dataDir = () => mkdtemp(path.join(tmpdir(), "thea-update-state-"));

describe("UpdateStore", () => {
  it("starts idle, with nothing settled, when no update was ever in progress", async () => {
    const record = await new UpdateStore(await dataDir()).load();
    expect(record).toMatchObject({ state: "idle", target: null, previous: null, progress: null, result: null, reason: null, settled: [] });
    expect(Number.isNaN(Date.parse(record.since))).toBe(false);
  });

  it("resumes from the step it saved, in a new store as after a restart", async () => {
    const dir = await dataDir();
    const record: UpdateRecord = {
      state: "restarting",
      target: null,
      previous: "1.4.1",
      progress: null,
      result: null,
      reason: null,
      since: "2026-12-03T10:00:00.000Z",
      settled: ["sha256:" + "b".repeat(64)],
    };
    await new UpdateStore(dir).save(record);
    await expect(new UpdateStore(dir).load()).resolves.toEqual(record);
  });

  it("starts idle from a record it cannot read or whose state it does not know", async () => {
    const dir = await dataDir();
    const store = new UpdateStore(dir);
    await mkdir(store.dir, { recursive: true });
    await writeFile(path.join(store.dir, "state.json"), '{"state":"dancing"}');
    await expect(store.load()).resolves.toMatchObject({ state: "idle", settled: [] });
    await writeFile(path.join(store.dir, "state.json"), "{ torn by a power cut");
    await expect(store.load()).resolves.toMatchObject({ state: "idle", settled: [] });
  });

  it("reads a record written before `settled` existed as having settled nothing", async () => {
    const dir = await dataDir();
    const store = new UpdateStore(dir);
    await mkdir(store.dir, { recursive: true });
    await writeFile(path.join(store.dir, "state.json"), JSON.stringify({ state: "committed", target: null, previous: "1.0.0", progress: null, result: "ok", reason: null, since: "2026-01-01T00:00:00.000Z" }));
    await expect(store.load()).resolves.toMatchObject({ state: "committed", result: "ok", settled: [] });
  });
});

describe("terminal states", () => {
  it("are the states an update ends in, and every one is a known state", () => {
    expect([...TERMINAL].sort()).toEqual(["committed", "failed", "idle", "rolled-back"]);
    for (const state of TERMINAL) expect(UPDATE_STATES).toContain(state);
  });
});
