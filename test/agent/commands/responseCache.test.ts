import { describe, expect, it } from "vitest";
import { ResponseCache, type CachedAnswer, type CachedRequest } from "../../../agent/commands/responseCache.ts";
import type { CommandResponse } from "../../../agent/core/api.ts";

const ok = (result: unknown): CommandResponse => ({ ok: true, result });
const req = (requester: string, key: string, sideEffects = false): CachedRequest => ({ requester, key, sideEffects });

function kept(answer: CachedAnswer): { response: Promise<CommandResponse>; repeated: boolean } {
  if ("full" in answer) throw new Error("the cache refused the request");
  return answer;
}

describe("ResponseCache", () => {
  it("runs a request id once and answers repeats with the first answer, even while it still runs", async () => {
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 4, maxPerRequester: 4 });
    let runs = 0;
    let finish: (response: CommandResponse) => void = () => undefined;
    const work = () => {
      runs += 1;
      return new Promise<CommandResponse>((resolve) => {
        finish = resolve;
      });
    };
    const first = kept(cache.answer(req("tech", "reboot:01", true), work));
    const retry = kept(cache.answer(req("tech", "reboot:01", true), work)); // pressed again before the answer
    finish(ok("rebooting"));
    expect(await first.response).toEqual(ok("rebooting"));
    expect(await retry.response).toEqual(ok("rebooting"));
    expect([first.repeated, retry.repeated, runs]).toEqual([false, true, 1]);
  });

  it("keeps requesters apart: the same request id from another requester runs", () => {
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 4, maxPerRequester: 4 });
    const run = () => Promise.resolve(ok(null));
    kept(cache.answer(req("alice", "ping:01"), run));
    expect(kept(cache.answer(req("bob", "ping:01"), run)).repeated).toBe(false);
    expect(kept(cache.answer(req("alice", "ping:01"), run)).repeated).toBe(true);
  });

  it("forgets answers after the time to live, and a requester's oldest beyond its bound", async () => {
    let now = 0;
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 4, maxPerRequester: 2, now: () => now });
    const run = (value: string) => () => Promise.resolve(ok(value));
    cache.answer(req("r", "a"), run("a1"));
    now = 1500;
    expect(await kept(cache.answer(req("r", "a"), run("a2"))).response).toEqual(ok("a2"));
    cache.answer(req("r", "b"), run("b"));
    cache.answer(req("r", "c"), run("c"));
    expect(kept(cache.answer(req("r", "a"), run("a3"))).repeated).toBe(false);
  });

  it("a ping flood from one requester, under one id or thousands, never evicts another's restart", () => {
    const cache = new ResponseCache({ ttlMs: 600_000, maxRequesters: 8, maxPerRequester: 4 });
    let restarts = 0;
    const restart = () => {
      restarts += 1;
      return Promise.resolve(ok({ restarting: true }));
    };
    const ping = () => Promise.resolve(ok("pong"));
    kept(cache.answer(req("tech", "agent.restart:01", true), restart));
    kept(cache.answer(req("tech", "ping:01"), ping));
    for (let i = 0; i < 5000; i++) cache.answer(req("mallory", `ping:${i}`), ping);
    for (let i = 0; i < 5000; i++) cache.answer(req(`mallory-${i}`, "ping:0"), ping);
    expect(kept(cache.answer(req("tech", "agent.restart:01", true), restart)).repeated).toBe(true);
    expect(restarts).toBe(1);
    // The technician's bucket is kept whole while it holds the restart's answer.
    expect(kept(cache.answer(req("tech", "ping:01"), ping)).repeated).toBe(true);
  });

  it("refuses a command with side effects it cannot remember, and runs one without unremembered", () => {
    let now = 0;
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 2, maxPerRequester: 2, now: () => now });
    const run = () => Promise.resolve(ok(null));
    for (const requester of ["a", "b"]) {
      kept(cache.answer(req(requester, "bp.start:1", true), run));
      kept(cache.answer(req(requester, "bp.start:2", true), run));
    }
    // a's bucket, and every requester slot, hold only answers of commands with side effects.
    expect(cache.answer(req("a", "bp.start:3", true), run)).toEqual({ full: true });
    expect(cache.answer(req("c", "bp.start:1", true), run)).toEqual({ full: true });
    expect(kept(cache.answer(req("c", "ping:1"), run)).repeated).toBe(false);
    expect(kept(cache.answer(req("c", "ping:1"), run)).repeated).toBe(false);
    // After the time to live there is room again.
    now = 1000;
    expect(kept(cache.answer(req("c", "bp.start:1", true), run)).repeated).toBe(false);
  });

  it("stops holding a place for a command with side effects once its answer shows it did nothing", async () => {
    const refused: CommandResponse = { ok: false, error: { code: "invalid-params", message: "force: expected boolean" } };
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 1, maxPerRequester: 2, ranNothing: (r) => !r.ok && r.error.code === "invalid-params" });
    const first = kept(cache.answer(req("tech", "agent.restart:1", true), () => Promise.resolve(refused)));
    kept(cache.answer(req("tech", "agent.restart:2", true), () => Promise.resolve(ok({ restarting: true }))));
    await first.response;
    // The refused one may go; the one that ran stays.
    expect(kept(cache.answer(req("tech", "agent.restart:3", true), () => Promise.resolve(ok(null)))).repeated).toBe(false);
    expect(cache.answer(req("tech", "agent.restart:4", true), () => Promise.resolve(ok(null)))).toEqual({ full: true });
    expect(kept(cache.answer(req("tech", "agent.restart:2", true), () => Promise.resolve(ok(null)))).repeated).toBe(true);
  });

  it("keeps no long answer without side effects (a repeat runs again), and a long one with side effects as a stand-in", async () => {
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 4, maxPerRequester: 4, maxAnswerBytes: 100 });
    let runs = 0;
    const long = () => {
      runs += 1;
      return Promise.resolve(ok("x".repeat(300_000))); // a logs.tail or diagnostics part
    };
    expect(await kept(cache.answer(req("tech", "logs:01"), long)).response).toEqual(ok("x".repeat(300_000)));
    expect(kept(cache.answer(req("tech", "logs:01"), long)).repeated).toBe(false);
    const short = () => Promise.resolve(ok("pong"));
    await kept(cache.answer(req("tech", "ping:01"), short)).response;
    expect(kept(cache.answer(req("tech", "ping:01"), short)).repeated).toBe(true);

    const first = kept(cache.answer(req("tech", "inflate:01", true), long));
    expect(await first.response).toEqual(ok("x".repeat(300_000))); // the first asker gets it whole
    const retry = kept(cache.answer(req("tech", "inflate:01", true), long));
    expect(retry.repeated).toBe(true);
    expect(await retry.response).toMatchObject({ ok: false, error: { code: "repeated-request" } });
    expect(runs).toBe(3);
  });

  it("holds at most requesters × answers × maxAnswerBytes, however long the answers", async () => {
    const cache = new ResponseCache({ ttlMs: 600_000, maxRequesters: 4, maxPerRequester: 4, maxAnswerBytes: 1000 });
    const answers: Promise<CommandResponse>[] = [];
    for (let i = 0; i < 200; i++) {
      const answer = cache.answer(req(`r${i % 8}`, `k${i}`, i % 3 === 0), () => Promise.resolve(ok("y".repeat(i * 1000))));
      if (!("full" in answer)) answers.push(answer.response);
    }
    await Promise.all(answers);
    let held = 0;
    for (let r = 0; r < 8; r++) {
      for (let i = 0; i < 200; i++) {
        const known = cache.answer(req(`r${r}`, `k${i}`), () => Promise.resolve(ok(null)));
        if (!("full" in known) && known.repeated) held += JSON.stringify(await known.response).length;
      }
    }
    expect(held).toBeLessThanOrEqual(4 * 4 * 1000);
  });

  it("restores a recorded answer as one with side effects, with its age, unless expired", async () => {
    let now = 10_000;
    const cache = new ResponseCache({ ttlMs: 1000, maxRequesters: 4, maxPerRequester: 2, now: () => now });
    expect(cache.restore(req("tech", "old"), 8_000, ok("old"))).toBe(false);
    expect(cache.restore(req("tech", "restart:01"), 9_500, ok({ restarting: true }))).toBe(true);
    for (let i = 0; i < 10; i++) cache.answer(req("tech", `ping:${i}`), () => Promise.resolve(ok("pong")));
    const retry = kept(cache.answer(req("tech", "restart:01", true), () => Promise.resolve(ok({ restarting: "again" }))));
    expect([retry.repeated, await retry.response]).toEqual([true, ok({ restarting: true })]);
    now = 10_500; // 1000 ms after it was first answered
    expect(kept(cache.answer(req("tech", "restart:01", true), () => Promise.resolve(ok("ran")))).repeated).toBe(false);
  });
});
