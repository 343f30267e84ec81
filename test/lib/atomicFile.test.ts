/**
 * State files written atomically: the last write asked for is the one that stays, a write that
 * fails (here a file-size limit, as a full disk would) leaves no temporary file behind, and JSON
 * is the value as it was when the write was asked for.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { writeFileAtomic, writeJsonAtomic } from "../../lib/atomicFile.ts";

const run = promisify(execFile);
const MODULE = fileURLToPath(new URL("../../lib/atomicFile.ts", import.meta.url));
const tempDir = () => mkdtemp(path.join(tmpdir(), "thea-atomic-"));

describe("writeFileAtomic", () => {
  it("keeps the last write asked for, even when an earlier one is slower", async () => {
    const dir = await tempDir();
    const target = path.join(dir, "state.json");
    // The first write has far more to write and fsync than the second.
    await Promise.all([writeFileAtomic(target, Buffer.alloc(32 * 1024 * 1024, 0x61)), writeFileAtomic(target, "newer\n")]);
    expect(await readFile(target, "utf8")).toBe("newer\n");
    expect(await readdir(dir)).toEqual(["state.json"]);
  });

  it("leaves no temporary file behind when the write fails", async () => {
    const dir = await tempDir();
    const target = path.join(dir, "state.json");
    // A child limited to 4 KiB files (ulimit -f, as a full disk): its 100 kB write fails with EFBIG.
    const script = `import { writeFileAtomic } from ${JSON.stringify(MODULE)};
      await writeFileAtomic(${JSON.stringify(target)}, "x".repeat(100000)).then(() => console.log("written"), (error) => console.log(error.code));`;
    const { stdout } = await run("bash", ["-c", 'ulimit -f 4 && exec "$0" --input-type=module -e "$1"', process.execPath, script]);
    expect(stdout.trim()).toBe("EFBIG");
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("writeJsonAtomic", () => {
  it("writes the value as it was when asked, into a directory it makes", async () => {
    const target = path.join(await tempDir(), "update", "deeper", "state.json");
    const record = { state: "downloading" };
    const written = writeJsonAtomic(target, record);
    record.state = "downloaded";
    await written;
    expect(JSON.parse(await readFile(target, "utf8"))).toEqual({ state: "downloading" });
  });
});
