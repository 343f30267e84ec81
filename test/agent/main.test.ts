/**
 * The `thea` command's entry as a technician uses it: bin/thea from any directory, with the
 * project's Node 24 runtime.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../helpers/agentProcess.ts";
import { thea } from "../helpers/theaCommand.ts";

async function configFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-cli-"));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe("thea version and usage", () => {
  it("prints the version and runs on Node 24", async () => {
    const manifest = JSON.parse(await readFile(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
    const result = await thea(["version"]);
    expect(result.stdout).toMatch(new RegExp(`^thea ${manifest.version.replaceAll(".", "\\.")} \\(node v24\\.`));
  });

  it("rejects an unknown command with usage", async () => {
    const result = await thea(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("usage: thea");
  });

  it("lists every command in its help, staged rollouts included", async () => {
    const result = await thea(["help"]);
    expect(result.stdout).toContain("fleet serve --broker");
    expect(result.stdout).toContain("fleet rollout dry-run|create CHANGE SELECTION");
    expect(result.stdout).toContain("fleet rollout list | show ID | watch ID | pause ID | resume ID | abort ID");
  });

  it("refuses to run with an invalid configuration and says why", async () => {
    const file = await configFile("run.yaml", "deviceId: clinic-2\n");
    const result = await thea(["run", "--config", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("mqtt: is required");
  });
});
