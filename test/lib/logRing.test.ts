/** The log lines the agent keeps for the management commands (`logs.tail`): bounded and filtered by level. */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../lib/log.ts";
import { LogRing } from "../../lib/logRing.ts";

describe("LogRing", () => {
  it("keeps the newest lines within its bounds and filters by level", () => {
    const ring = new LogRing({ maxLines: 5, maxBytes: 10_000 });
    const log = createLogger({ level: "debug", destination: new LogRing(), keep: ring });
    for (let i = 0; i < 8; i++) log.debug({ i }, "tick");
    log.warn({ password: "hunter2" }, "careful");
    const all = ring.tail(100);
    expect(all.map((line) => line.i ?? line.msg)).toEqual([4, 5, 6, 7, "careful"]);
    expect(all.at(-1)?.password).toBe("[redacted]");
    expect(ring.tail(100, 40).map((line) => line.msg)).toEqual(["careful"]);
    expect(ring.tail(2).map((line) => line.i ?? line.msg)).toEqual([7, "careful"]);
  });

  it("drops the oldest lines when they pass the byte bound", () => {
    const ring = new LogRing({ maxLines: 1000, maxBytes: 300 });
    const log = createLogger({ level: "info", destination: new LogRing(), keep: ring });
    for (let i = 0; i < 20; i++) log.info({ i }, "x".repeat(50));
    expect(ring.tail(1000).length).toBeLessThan(5);
    expect(ring.tail(1)[0]?.i).toBe(19);
  });
});
