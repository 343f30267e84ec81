/** The tools' entry (bin/thea sends simulate, decode, console, keys, release and build to it): a misspelt option is refused plainly. */
import { describe, expect, it } from "vitest";
import { thea } from "../helpers/theaCommand.ts";

describe("thea's tools entry", () => {
  it.each([["decode"], ["simulate"], ["console"], ["release"]])("refuses an unknown option to %s with exit 2, naming it", async (tool) => {
    const result = await thea([tool, "--frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^thea: Unknown option '--frobnicate'/);
  });
});
