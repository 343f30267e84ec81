/**
 * Property-based fuzzing of command request decoding, the first step of every command: any bytes
 * become parameters or a clear error answer, never a throw. The other pure parts every remote
 * message goes through are fuzzed beside their own tests: the JSON gate in
 * test/lib/remoteJson.test.ts, desired config in test/agent/config/remote.test.ts, signed update
 * manifests in test/agent/update/manifest.test.ts. (test/agent/hostileInput.integration.test.ts
 * sends the same kinds of payloads to a real agent.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRequest } from "../../agent/commands/request.ts";
import { RUNS, wireJson } from "../helpers/hostileJson.ts";

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
