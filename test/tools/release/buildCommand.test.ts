/**
 * `thea build`: the agent as a release runs it, built into a folder that is emptied first, so it
 * must never empty a folder that is not an earlier build (the project, a folder holding it, any
 * other folder with files in it).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../helpers/agentProcess.ts";
import { thea } from "../../helpers/theaCommand.ts";

describe("thea build", () => {
  it("refuses to empty the project, a folder holding it, or a folder that is no earlier build", async () => {
    for (const out of [PROJECT_ROOT, path.dirname(PROJECT_ROOT)]) {
      expect(await thea(["build", "--out", out])).toMatchObject({ code: 2, stderr: expect.stringContaining("holds the project") });
    }
    const notes = await mkdtemp(path.join(tmpdir(), "thea-build-notes-"));
    await writeFile(path.join(notes, "keep.txt"), "a technician's notes");
    expect(await thea(["build", "--out", notes])).toMatchObject({ code: 2, stderr: expect.stringContaining("is not an earlier build") });
    expect(await readFile(path.join(notes, "keep.txt"), "utf8")).toBe("a technician's notes");
  });

  it("builds the agent as JavaScript into a new folder, and builds again over its own earlier build", async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), "thea-build-")), "build");
    const first = await thea(["build", "--out", out]);
    expect(first).toMatchObject({ code: 0, stdout: expect.stringContaining(`modules built into ${out}`) });
    expect(existsSync(path.join(out, "agent", "main.js"))).toBe(true);
    expect(existsSync(path.join(out, "agent", "main.ts"))).toBe(false);
    expect(existsSync(path.join(out, "bin", "thea"))).toBe(true);
    await mkdir(path.join(out, "agent", "stale"), { recursive: true });
    await writeFile(path.join(out, "agent", "stale", "gone.js"), "// deleted from the sources");
    expect(await thea(["build", "--out", out])).toMatchObject({ code: 0 });
    expect(existsSync(path.join(out, "agent", "stale", "gone.js"))).toBe(false);
  });
});
