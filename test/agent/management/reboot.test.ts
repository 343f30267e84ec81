/** The reboot guard's token and interval, on a real data directory. */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RebootGuard } from "../../../agent/management/reboot.ts";

const tempDir = () => mkdtemp(path.join(tmpdir(), "thea-mgmt-"));

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
