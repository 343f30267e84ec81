/**
 * The anti-rollback floor on a real data directory: absent before the first commit, only ever
 * raised, kept across restarts, and a damaged file is an error rather than "no floor".
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FloorStore } from "../../../agent/update/floor.ts";

const dataDir = () => mkdtemp(path.join(tmpdir(), "thea-floor-"));
const now = new Date("2026-12-03T10:00:00Z");

describe("FloorStore", () => {
  it("has no floor before a version was ever committed", async () => {
    await expect(new FloorStore(await dataDir()).load()).resolves.toBeUndefined();
  });

  it("rises to a higher version and keeps it on disk for the next start", async () => {
    const dir = await dataDir();
    const floor = new FloorStore(dir);
    await expect(floor.raise(undefined, "1.2.0", now)).resolves.toBe("1.2.0");
    await expect(floor.raise("1.2.0", "1.10.0", now)).resolves.toBe("1.10.0");
    await expect(new FloorStore(dir).load()).resolves.toBe("1.10.0");
    expect(JSON.parse(await readFile(path.join(dir, "update", "floor.json"), "utf8"))).toEqual({ version: "1.10.0", since: now.toISOString() });
  });

  it("never falls: a lower or equal version leaves the floor where it is", async () => {
    const dir = await dataDir();
    const floor = new FloorStore(dir);
    await floor.raise(undefined, "2.0.0", now);
    await expect(floor.raise("2.0.0", "1.9.9", now)).resolves.toBe("2.0.0");
    await expect(floor.raise("2.0.0", "2.0.0", new Date("2027-01-01T00:00:00Z"))).resolves.toBe("2.0.0");
    expect(JSON.parse(await readFile(path.join(dir, "update", "floor.json"), "utf8"))).toEqual({ version: "2.0.0", since: now.toISOString() });
  });

  it("refuses a floor file without a version instead of taking it as no floor", async () => {
    const dir = await dataDir();
    await mkdir(path.join(dir, "update"));
    await writeFile(path.join(dir, "update", "floor.json"), '{"since":"2026-01-01T00:00:00Z"}');
    await expect(new FloorStore(dir).load()).rejects.toThrow(/no version/);
  });

  it("refuses a floor file it cannot read instead of taking it as no floor", async () => {
    const dir = await dataDir();
    await mkdir(path.join(dir, "update", "floor.json"), { recursive: true });
    await expect(new FloorStore(dir).load()).rejects.toMatchObject({ code: "EISDIR" });
  });
});
