/** The configuration's JSON Schema, as `thea config schema` prints it for editors and tooling. */
import { describe, expect, it } from "vitest";
import { thea } from "../helpers/theaCommand.ts";

describe("thea config schema", () => {
  it("prints a JSON Schema of the configuration", async () => {
    const result = await thea(["config", "schema"]);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["deviceId", "mqtt", "telemetry", "log", "dataDir"]));
  });
});
