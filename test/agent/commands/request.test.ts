import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRequest, errorResponse, refusedBeforeRunning } from "../../../agent/commands/request.ts";
import { TheaError } from "../../../agent/core/errors.ts";
import { RUNS, wireJson } from "../../helpers/hostileJson.ts";

const bytes = (text: string) => Buffer.from(text);

describe("decodeRequest", () => {
  it("parses JSON parameters", () => {
    expect(decodeRequest(bytes('{"a":1}'), 100)).toEqual({ ok: true, params: { a: 1 } });
  });

  it("treats an empty or blank payload as no parameters", () => {
    expect(decodeRequest(bytes(""), 100)).toEqual({ ok: true, params: {} });
    expect(decodeRequest(bytes(" \n"), 100)).toEqual({ ok: true, params: {} });
  });

  it("refuses a payload over the limit before parsing it", () => {
    const result = decodeRequest(bytes(`{"pad":"${"x".repeat(200)}"}`), 100);
    expect(result).toMatchObject({ ok: false, response: { ok: false, error: { code: "payload-too-large" } } });
  });

  it("answers invalid JSON with invalid-json", () => {
    expect(decodeRequest(bytes("{oops"), 100)).toMatchObject({ ok: false, response: { error: { code: "invalid-json" } } });
  });
});

describe("errorResponse", () => {
  it("passes our error codes through and hides anything else as internal-error", () => {
    expect(errorResponse(new TheaError("busy", "later"))).toEqual({ ok: false, error: { code: "busy", message: "later" } });
    expect(errorResponse(new Error("ENOENT /secret/path"))).toMatchObject({ ok: false, error: { code: "internal-error" } });
    expect(JSON.stringify(errorResponse(new Error("ENOENT /secret/path")))).not.toContain("/secret/path");
  });
});

describe("refusedBeforeRunning", () => {
  it("tells answers that did nothing from those that may have done something", () => {
    const failed = (code: string) => ({ ok: false as const, error: { code, message: "" } });
    expect(["invalid-params", "consultation-live", "device-unavailable", "busy"].map((code) => refusedBeforeRunning(failed(code)))).toEqual([true, true, true, true]);
    expect(["timeout", "device-timeout", "internal-error"].map((code) => refusedBeforeRunning(failed(code)))).toEqual([false, false, false]);
    expect(refusedBeforeRunning({ ok: true, result: null })).toBe(false);
  });
});

// Property-based fuzzing of request decoding, the first step of every command: any bytes become
// parameters or a clear error answer, never a throw.
// test/agent/hostileInput.integration.test.ts sends the same kinds of payloads to a real agent.
describe("the JSON gate for remote payloads", () => {
  it("decodes command requests of any bytes into parameters or a clear error answer", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), wireJson.map((value) => Buffer.from(JSON.stringify(value) ?? ""))), (bytes) => {
        const decoded = decodeRequest(bytes, 512);
        if (!decoded.ok) {
          expect(decoded.response).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^(payload-too-large|invalid-json)$/), message: expect.any(String) } });
        }
      }),
      RUNS,
    );
  });
});
