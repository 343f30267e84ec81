import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SequenceStore } from "../../../agent/devices/sequence.ts";

const tempDir = () => mkdtemp(path.join(tmpdir(), "thea-seq-"));

describe("SequenceStore", () => {
  it("counts up from 1 on a new box and stores a mark a block ahead before using it", async () => {
    const dir = await tempDir();
    const store = new SequenceStore(dir);
    await store.open();
    expect([await store.next(), await store.next(), await store.next()]).toEqual([1, 2, 3]);
    expect(JSON.parse(await readFile(path.join(dir, "sequence.json"), "utf8"))).toEqual({ reservedUpTo: 1000 });
  });

  it("never repeats a number after a restart, even one without a clean shutdown", async () => {
    const dir = await tempDir();
    const first = new SequenceStore(dir);
    await first.open();
    const used = [];
    for (let i = 0; i < 1500; i++) used.push(await first.next());
    // "Power cut": no goodbye, a new store on the same directory.
    const second = new SequenceStore(dir);
    await second.open();
    expect(await second.next()).toBeGreaterThan(Math.max(...used));
  });

  it("falls back to clock-based numbers when the directory cannot be written", async () => {
    // A "directory" under a regular file cannot be written, even by root (ENOTDIR).
    const file = path.join(await tempDir(), "not-a-dir");
    await writeFile(file, "");
    const store = new SequenceStore(path.join(file, "data"));
    await store.open();
    expect(store.persistent).toBe(false);
    const before = Date.now() * 1000;
    const first = await store.next();
    expect(first).toBeGreaterThan(before - 60_000_000);
    expect(await store.next()).toBe(first + 1);
  });
});
