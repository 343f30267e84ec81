/**
 * What the fleet service takes from a box's retained reports and answers: well-formed ones as
 * they are, anything else refused with a reason (never thrown), whatever bytes arrive.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_REPORT_BYTES, parseAnswer, parseBoxReport } from "../../../tools/fleet/boxReports.ts";

const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
const update = { state: "rolled-back", version: "1.3.0", runningVersion: "1.2.0", floor: "1.2.0", progress: null, result: "health-check-failed", reason: "no broker", since: "2026-12-03T10:00:00.000Z" };
const config = { version: 7, hash: "3f9c0d1e2a7b4c55", appliedAt: null, state: "applied", config: { log: { level: "warn" } }, lastError: { version: 8, at: "2026-12-03T10:00:00.000Z", errors: ["log.level: bad"] } };

describe("parseBoxReport", () => {
  it("takes the agent's update/state and config/reported as they are", () => {
    expect(parseBoxReport("update", "box-1", bytes(update))).toEqual({ ok: true, report: { kind: "update", deviceId: "box-1", payload: update } });
    expect(parseBoxReport("config", "box-1", bytes(config))).toEqual({ ok: true, report: { kind: "config", deviceId: "box-1", payload: config } });
  });

  it("keeps a result code it does not know (a newer agent's) rather than losing the report", () => {
    const parsed = parseBoxReport("update", "box-1", bytes({ ...update, result: "some-new-result" }));
    expect(parsed.ok && parsed.report.kind === "update" && parsed.report.payload.result).toBe("some-new-result");
  });

  it("refuses the wrong shape, an unknown state, too deep or too large, naming why", () => {
    expect(parseBoxReport("update", "b", bytes({ ...update, state: "exploded" }))).toMatchObject({ ok: false, detail: expect.stringContaining("state") });
    expect(parseBoxReport("config", "b", bytes({ ...config, version: -1 }))).toMatchObject({ ok: false, detail: expect.stringContaining("version") });
    expect(parseBoxReport("config", "b", Buffer.from("[".repeat(40) + "]".repeat(40)))).toMatchObject({ ok: false, detail: expect.stringContaining("deep") });
    expect(parseBoxReport("config", "b", Buffer.alloc(MAX_REPORT_BYTES + 1, 0x20))).toMatchObject({ ok: false });
  });

  it("never throws, whatever the payload", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom("config" as const, "update" as const), (payload, kind) => {
        expect(typeof parseBoxReport(kind, "b", payload).ok).toBe("boolean");
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(typeof parseAnswer(bytes(value)).ok).toBe("boolean");
      }),
    );
  });
});

describe("parseAnswer", () => {
  it("takes the box's answers, and turns anything else into the fleet's bad-answer", () => {
    expect(parseAnswer(bytes({ ok: true, result: { a: 1 } }))).toEqual({ ok: true, result: { a: 1 } });
    expect(parseAnswer(bytes({ ok: false, error: { code: "busy", message: "try again" } }))).toEqual({ ok: false, error: { code: "busy", message: "try again" } });
    expect(parseAnswer(Buffer.from("nope"))).toMatchObject({ ok: false, error: { code: "bad-answer" } });
    expect(parseAnswer(bytes({ ok: "yes" }))).toMatchObject({ ok: false, error: { code: "bad-answer" } });
  });
});
