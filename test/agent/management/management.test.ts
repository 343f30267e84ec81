/**
 * The pieces behind the management commands: the kept log lines, the reboot guard's token and
 * interval (on a real data directory), diagnostics bundles in parts, and the commands' refusals.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { AgentContext } from "../../../agent/core/context.ts";
import { createLogger } from "../../../lib/log.ts";
import { managementCommands } from "../../../agent/management/commands.ts";
import { DiagnosticsBundles, type BundlePart } from "../../../agent/management/diagnostics.ts";
import { LogRing } from "../../../lib/logRing.ts";
import { RebootGuard } from "../../../agent/management/reboot.ts";

const tempDir = () => mkdtemp(path.join(tmpdir(), "thea-mgmt-"));

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

describe("RebootGuard", () => {
  it("wants its own fresh token back once, and remembers the reboot on disk", async () => {
    const dataDir = await tempDir();
    let now = Date.parse("2026-11-23T10:00:00Z");
    const guard = new RebootGuard({ dataDir, minIntervalMs: 30 * 60_000, tokenTtlMs: 60_000, now: () => now });
    await expect(guard.confirm("guess")).rejects.toMatchObject({ code: "invalid-params" });
    const { confirmToken } = guard.request();
    now += 61_000;
    await expect(guard.confirm(confirmToken)).rejects.toMatchObject({ code: "invalid-params" }); // expired
    const fresh = guard.request().confirmToken;
    await guard.confirm(fresh);
    await expect(guard.confirm(fresh)).rejects.toMatchObject({ code: "invalid-params" }); // used
    expect(JSON.parse(await readFile(path.join(dataDir, "reboot.json"), "utf8"))).toEqual({ lastRebootAt: "2026-11-23T10:01:01.000Z" });

    // After the reboot: a new agent, the same data directory.
    const after = new RebootGuard({ dataDir, minIntervalMs: 30 * 60_000, now: () => now + 10 * 60_000 });
    await expect(after.confirm(after.request().confirmToken)).rejects.toMatchObject({ code: "rate-limited", message: expect.stringContaining("1200 s") });
    const later = new RebootGuard({ dataDir, minIntervalMs: 30 * 60_000, now: () => now + 31 * 60_000 });
    await expect(later.confirm(later.request().confirmToken)).resolves.toBeUndefined();
  });
});

describe("DiagnosticsBundles", () => {
  it("hands out a bundle in parts that put back together give its JSON", () => {
    const bundles = new DiagnosticsBundles({ partBytes: 100 });
    const contents = { lines: Array.from({ length: 200 }, (_, i) => `line ${i} ${createHash("md5").update(String(i)).digest("hex")}`) };
    const first = bundles.create(contents);
    expect(first.parts).toBeGreaterThan(3);
    const parts: BundlePart[] = [first, ...Array.from({ length: first.parts - 1 }, (_, i) => bundles.part(first.bundleId, i + 1))];
    const gzipped = Buffer.concat(parts.map((part) => Buffer.from(part.data, "base64")));
    expect(gzipped.length).toBe(first.bytes);
    expect(createHash("sha256").update(gzipped).digest("hex")).toBe(first.sha256);
    expect(JSON.parse(gunzipSync(gzipped).toString())).toEqual(contents);
    expect(() => bundles.part(first.bundleId, first.parts)).toThrow(/part: the bundle has parts/);
  });

  it("forgets bundles after their time", () => {
    let now = 0;
    const bundles = new DiagnosticsBundles({ ttlMs: 1000, now: () => now });
    const { bundleId } = bundles.create({ a: 1 });
    now = 1001;
    expect(() => bundles.part(bundleId, 0)).toThrow(/collect again/);
  });
});

describe("management commands", () => {
  async function commands(liveSessions: number) {
    const restarts: string[] = [];
    const ctx = { lifecycle: { restart: (reason: string) => restarts.push(reason) } } as unknown as AgentContext;
    const list = managementCommands({
      ctx,
      reboot: new RebootGuard({ dataDir: await tempDir(), minIntervalMs: 60_000 }),
      bundles: new DiagnosticsBundles(),
      liveSessions: () => liveSessions,
      snapshot: async () => ({}),
      rebootSystem: async () => undefined,
      rebootFailed: () => undefined,
    });
    const run = (name: string, params: unknown) => list.find((command) => command.name === name)?.handle(params);
    return { run, restarts };
  }

  it("refuses to restart or reboot during a consultation unless forced", async () => {
    const { run, restarts } = await commands(2);
    await expect(run("agent.restart", {})).rejects.toMatchObject({ code: "consultation-live", message: expect.stringContaining("2 viewer session(s)") });
    expect(restarts).toEqual([]);
    await expect(run("agent.restart", { force: true })).resolves.toEqual({ restarting: true });
    expect(restarts).toHaveLength(1);
    const { confirmToken } = (await run("system.reboot", {})) as { confirmToken: string };
    await expect(run("system.reboot", { confirmToken })).rejects.toMatchObject({ code: "consultation-live" });
  });

  it("checks its parameters", async () => {
    const { run } = await commands(0);
    await expect(run("logs.tail", { lines: 5000 })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("logs.tail", { level: "loud" })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("diagnostics.collect", { part: 1 })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("system.reboot", { command: "rm -rf /" })).rejects.toMatchObject({ code: "invalid-params" });
  });
});
