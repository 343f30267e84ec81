import { describe, expect, it } from "vitest";
import { ResponseCache } from "../../../agent/commands/responseCache.ts";
import type { CommandResponse } from "../../../agent/mqtt/api.ts";

const ok = (result: unknown): CommandResponse => ({ ok: true, result });

describe("ResponseCache", () => {
  it("runs a request id once and answers repeats with the first answer, even while it still runs", async () => {
    const cache = new ResponseCache({ ttlMs: 1000, maxEntries: 10 });
    let runs = 0;
    let finish: (response: CommandResponse) => void = () => undefined;
    const work = () => {
      runs += 1;
      return new Promise<CommandResponse>((resolve) => {
        finish = resolve;
      });
    };
    const first = cache.answer("reboot:01", work);
    const retry = cache.answer("reboot:01", work); // the technician pressed again before the answer
    finish(ok("rebooting"));
    expect(await first.response).toEqual(ok("rebooting"));
    expect(await retry.response).toEqual(ok("rebooting"));
    expect([first.repeated, retry.repeated, runs]).toEqual([false, true, 1]);
  });

  it("forgets answers after the time to live, and the oldest beyond the size bound", async () => {
    let now = 0;
    const cache = new ResponseCache({ ttlMs: 1000, maxEntries: 2, now: () => now });
    const run = (value: string) => () => Promise.resolve(ok(value));
    cache.answer("a", run("a1"));
    now = 1500;
    expect(await cache.answer("a", run("a2")).response).toEqual(ok("a2"));
    cache.answer("b", run("b"));
    cache.answer("c", run("c"));
    expect(cache.answer("a", run("a3")).repeated).toBe(false);
  });
});
