/**
 * The layers written down in .dependency-cruiser.cjs hold: no folder imports one above it, no
 * file-level cycle, no family reaches into another, shipped code never imports tests or benches.
 * Run as a developer would (`npx depcruise …`), so its message is the one they will see.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEPCRUISE = path.join(ROOT, "node_modules", ".bin", "depcruise");

describe("architecture", () => {
  it("imports run downwards only, with no cycle", async () => {
    const run = await promisify(execFile)(DEPCRUISE, ["--config", ".dependency-cruiser.cjs", "--output-type", "err", "lib", "drivers", "config", "agent", "tools"], { cwd: ROOT }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? "" }),
    );
    expect(run.stdout).toContain("no dependency violations found");
    expect(run.code).toBe(0);
  });
});
