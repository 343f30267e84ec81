import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AnswerRecord, type AnswerRecordOptions } from "../../../agent/commands/answerRecord.ts";
import { createLogger } from "../../../lib/log.ts";
import { LogRing } from "../../../lib/logRing.ts";

const dirs: string[] = [];
const NOW = Date.now();
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fileIn(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-record-"));
  dirs.push(dir);
  return path.join(dir, "commandAnswers.json");
}

function recordAt(file: string, options: Partial<AnswerRecordOptions> = {}): AnswerRecord {
  const log = createLogger({ level: "info", destination: new LogRing() });
  return new AnswerRecord({ file, ttlMs: 1000, maxEntries: 4, maxBytes: 4096, log, ...options });
}

const request = (key: string, at = NOW) => ({ requester: "tech", key, command: "agent.restart", at });

describe("AnswerRecord", () => {
  it("gives back, after a restart, the requests begun and their answers, and not those struck off or expired", async () => {
    const file = await fileIn();
    let now = 0;
    const before = recordAt(file, { now: () => now });
    before.load();
    expect(await before.begin(request("old", 0))).toBe(true);
    now = 600;
    expect(await before.begin(request("answered", 600))).toBe(true);
    await before.settle(request("answered"), { ok: true, result: { restarting: true } });
    expect(await before.begin(request("cut-short", 600))).toBe(true);
    expect(await before.begin(request("refused", 600))).toBe(true);
    await before.forget(request("refused"));

    now = 1200; // "old" is past its time to live
    expect(recordAt(file, { now: () => now }).load()).toEqual([
      { ...request("answered", 600), response: { ok: true, result: { restarting: true } } },
      request("cut-short", 600),
    ]);
  });

  it("refuses a request beyond its entry or byte bound, and leaves out an answer that would not fit", async () => {
    const file = await fileIn();
    const record = recordAt(file, { maxEntries: 3, maxBytes: 600 });
    record.load();
    for (const key of ["a", "b", "c"]) expect(await record.begin(request(key))).toBe(true);
    expect(await record.begin(request("d"))).toBe(false);
    await record.settle(request("a"), { ok: true, result: "x".repeat(10_000) });
    expect((await stat(file)).size).toBeLessThanOrEqual(600);
    expect(recordAt(file).load().find((entry) => entry.key === "a")).toEqual(request("a")); // gets the stand-in

    const small = recordAt(await fileIn(), { maxBytes: 150 });
    expect(await small.begin(request("k".repeat(200)))).toBe(false);
  });

  it("loads nothing from a file that is too large or not a record, and replaces it at the next write", async () => {
    const file = await fileIn();
    await writeFile(file, JSON.stringify({ version: 1, requests: [request("x")] }).padEnd(5000, " "));
    expect(recordAt(file).load()).toEqual([]);
    await writeFile(file, '{"version":1,"requests":[{"requester":1}]}');
    const record = recordAt(file);
    expect(record.load()).toEqual([]);
    await record.begin(request("y"));
    expect(recordAt(file).load()).toEqual([request("y")]);
  });
});
