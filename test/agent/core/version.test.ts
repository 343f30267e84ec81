/** The version the agent reports (status, `thea version`, update admission) is the one its package.json ships with. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { agentVersion } from "../../../agent/core/version.ts";
import { PROJECT_ROOT } from "../../helpers/agentProcess.ts";

describe("agentVersion", () => {
  it("is the version in the package.json beside the agent", async () => {
    const manifest = JSON.parse(await readFile(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
    expect(agentVersion()).toBe(manifest.version);
    expect(agentVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
