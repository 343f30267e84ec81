/** The tools' entry (bin/thea sends simulate, decode, console, keys, release, build and fleet to it): a misspelt option is refused plainly. */
import { describe, expect, it } from "vitest";
import { thea } from "../helpers/theaCommand.ts";

describe("thea's tools entry", () => {
  it.each([["decode"], ["simulate"], ["console"], ["release"], ["fleet"]])("refuses an unknown option to %s with exit 2, naming it", async (tool) => {
    const result = await thea([tool, "--frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^thea: Unknown option '--frobnicate'/);
  });

  it("sends `thea fleet serve` to the fleet service's command, which refuses a command line without a broker", async () => {
    const result = await thea(["fleet", "serve", "--data-dir", "/nonexistent"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^thea fleet serve: --broker must be/);
  });
});
