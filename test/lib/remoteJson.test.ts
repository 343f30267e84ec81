/**
 * Property-based fuzzing of the JSON gate every remote payload goes through before any service
 * acts on it: size and depth caps, an answer for any bytes, never a throw.
 * test/agent/hostileInput.integration.test.ts sends the same kinds of payloads to a real agent.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestingDepth, parseRemoteJson } from "../../lib/remoteJson.ts";
import { deeplyNested, RUNS } from "../helpers/hostileJson.ts";

describe("the JSON gate for remote payloads", () => {
  it("answers any bytes with a value or a payload-too-large / invalid-json error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const result = parseRemoteJson(bytes, { maxBytes: 1024 });
        if (result.ok) expect(() => JSON.stringify(result.value)).not.toThrow();
        else expect(["payload-too-large", "invalid-json"]).toContain(result.code);
      }),
      RUNS,
    );
  });

  it("refuses nesting deeper than the limit before parsing, so nothing later can overflow the stack", () => {
    fc.assert(
      fc.property(deeplyNested, (text) => {
        const result = parseRemoteJson(Buffer.from(text), { maxBytes: 1024 * 1024 });
        expect(result).toMatchObject({ ok: false, code: "invalid-json", message: expect.stringMatching(/nests \d+ deep; the limit is 32/) });
      }),
      { numRuns: 50 },
    );
  });

  it("counts depth as JSON.parse sees it, ignoring brackets inside strings", () => {
    const depthOf = (value: unknown): number =>
      value !== null && typeof value === "object" ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(nestingDepth(JSON.stringify(value))).toBe(depthOf(value));
      }),
      RUNS,
    );
  });
});
