/** docs/configuration.md is generated from the schema; this keeps the committed page in step with it. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../helpers/agentProcess.ts";
import { thea } from "../helpers/theaCommand.ts";

describe("thea config docs", () => {
  it("docs/configuration.md is what the schema generates (run `bin/thea config docs > docs/configuration.md`)", async () => {
    const result = await thea(["config", "docs"]);
    expect(await readFile(path.join(PROJECT_ROOT, "docs", "configuration.md"), "utf8")).toBe(result.stdout);
  });
});
