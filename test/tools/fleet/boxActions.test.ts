/**
 * The pure parts behind the box page's actions: an action request's body checked against the
 * allow-list (never throwing on whatever arrives), the ledger of requests (scoped ids, repeats,
 * conflicts, bounds, expiry), a diagnostics bundle put back together and checked, and a config
 * layer checked as the box would before it is published.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConfigReported } from "../../../agent/core/api.ts";
import { ActionLedger, scopedId } from "../../../tools/fleet/actionLedger.ts";
import { actionRequestOf, BOX_ACTION_NAMES } from "../../../tools/fleet/boxActions.ts";
import { checkDesiredConfig } from "../../../tools/fleet/boxConfig.ts";
import { collectDiagnostics, MAX_BUNDLE_PARTS } from "../../../tools/fleet/boxDiagnostics.ts";
import type { BoxCommand } from "../../../tools/fleet/types/boxLink.ts";
import { FakeBoxLink } from "../../helpers/fakeBoxLink.ts";
import { RUNS, wireJson } from "../../helpers/hostileJson.ts";

describe("actionRequestOf", () => {
  it("takes the allow-listed actions with their parameters, and nothing else", () => {
    expect(actionRequestOf("logs.tail", { requestId: "abcdefgh", params: { lines: 10, level: "warn" } })).toEqual({
      ok: true,
      value: { name: "logs.tail", requestId: "abcdefgh", params: { lines: 10, level: "warn" } },
    });
    expect(actionRequestOf("system.reboot", { requestId: "abcdefgh", params: { confirmToken: "t", force: true } }).ok).toBe(true);
    expect(actionRequestOf("config.reset", { requestId: "abcdefgh" })).toMatchObject({ ok: false, error: expect.stringMatching(/^no action "config.reset"/) });
    expect(actionRequestOf("toString", { requestId: "abcdefgh" }).ok).toBe(false);
    expect(actionRequestOf("ping", { requestId: "abcdefgh", params: { x: 1 } })).toEqual({ ok: false, error: "params.x: unknown key" });
    expect(actionRequestOf("ping", { requestId: "has space!" }).ok).toBe(false);
  });

  it("answers any JSON with a value or words, never a throw", () => {
    fc.assert(
      fc.property(fc.constantFrom(...BOX_ACTION_NAMES, "__proto__", "x"), wireJson, (name, body) => {
        const checked = actionRequestOf(name, body);
        expect(checked.ok ? typeof checked.value.requestId : typeof checked.error).toBe("string");
      }),
      RUNS,
    );
  });
});

describe("ActionLedger", () => {
  it("scopes ids by person, joins and repeats the same request, refuses the same id for another", async () => {
    const ledger = new ActionLedger<string>();
    const first = ledger.begin("ana", "id-1", "box-a ping {}");
    if (first.kind !== "run") throw new Error(first.kind);
    expect(first.commandId).toBe(scopedId("ana", "id-1"));
    expect(scopedId("bao", "id-1")).not.toBe(first.commandId);
    const joined = ledger.begin("ana", "id-1", "box-a ping {}");
    expect(ledger.begin("ana", "id-1", "box-b ping {}")).toEqual({ kind: "conflict" });
    expect(ledger.begin("bao", "id-1", "box-a ping {}").kind).toBe("run");
    first.settle("pong", true);
    if (joined.kind !== "repeat") throw new Error(joined.kind);
    expect(await joined.answer).toBe("pong");
    const later = ledger.begin("ana", "id-1", "box-a ping {}");
    expect(later.kind === "repeat" && (await later.answer)).toBe("pong");
  });

  it("bounds actions in flight per person and overall, and forgets kept answers after their time", () => {
    let now = 0;
    const ledger = new ActionLedger<string>({ maxInFlightPerPerson: 2, maxInFlight: 3, keepMs: 1000, now: () => now });
    const a1 = ledger.begin("ana", "a1", "x");
    ledger.begin("ana", "a2", "x");
    expect(ledger.begin("ana", "a3", "x")).toEqual({ kind: "person-busy" });
    ledger.begin("bao", "b1", "x");
    expect(ledger.begin("chi", "c1", "x")).toEqual({ kind: "busy" });
    if (a1.kind !== "run") throw new Error(a1.kind);
    a1.settle("done", true);
    expect(ledger.inFlight).toBe(2);
    expect(ledger.begin("ana", "a1", "x").kind).toBe("repeat");
    now = 1001;
    expect(ledger.begin("ana", "a1", "x").kind).toBe("run");
  });

  it("keeps no large answer: its repeat runs again", () => {
    const ledger = new ActionLedger<string>();
    const entry = ledger.begin("ana", "big", "x");
    if (entry.kind !== "run") throw new Error(entry.kind);
    entry.settle("a file", false);
    expect(ledger.begin("ana", "big", "x").kind).toBe("run");
  });
});

describe("collectDiagnostics", () => {
  const gzipped = gzipSync(JSON.stringify({ lines: Array.from({ length: 300 }, (_, index) => `${index}:${Math.random()}`) }));
  const sha256 = createHash("sha256").update(gzipped).digest("hex");
  function box(parts: number, change: (part: Record<string, unknown>) => Record<string, unknown> = (part) => part): FakeBoxLink {
    const link = new FakeBoxLink();
    const size = Math.ceil(gzipped.length / parts);
    link.answers.set("diagnostics.collect", (request: BoxCommand) => {
      const index = typeof request.params?.part === "number" ? request.params.part : 0;
      const part = { bundleId: "b", encoding: "gzip+base64", bytes: gzipped.length, sha256, parts, part: index, data: gzipped.subarray(index * size, (index + 1) * size).toString("base64") };
      return { ok: true, result: change(part) };
    });
    return link;
  }

  it("puts the parts together in order, each asked under its own request id", async () => {
    const link = box(4);
    const bundle = await collectDiagnostics({ link, deviceId: "box-a", requestId: "fleet-x" });
    expect(bundle.ok && bundle.gzipped.equals(gzipped)).toBe(true);
    expect(link.commands.map((command) => command.requestId)).toEqual(["fleet-x", "fleet-x-p1", "fleet-x-p2", "fleet-x-p3"]);
  });

  it("hands over nothing that does not add up, and asks no part of a bundle too large", async () => {
    const cases: Array<[FakeBoxLink, RegExp]> = [
      [box(3, (part) => (part.part === 1 ? { ...part, bundleId: "other" } : part)), /part 1 does not belong/],
      [box(3, (part) => ({ ...part, sha256: "0".repeat(64) })), /SHA-256/],
      [box(3, (part) => ({ ...part, bytes: gzipped.length + 1 })), /announced/],
      [box(2, (part) => ({ ...part, data: "not base64!" })), /base64/],
      [box(2, (part) => ({ ...part, parts: MAX_BUNDLE_PARTS + 1 })), /larger than the service takes/],
      [box(1, () => ({ nonsense: true })), /not gzip\+base64/],
    ];
    for (const [link, message] of cases) {
      const bundle = await collectDiagnostics({ link, deviceId: "box-a", requestId: "r" });
      expect(bundle.ok).toBe(false);
      expect(!bundle.ok && !bundle.answer.ok && bundle.answer.error.message).toMatch(message);
    }
    const large = box(2, (part) => ({ ...part, parts: MAX_BUNDLE_PARTS + 1 }));
    await collectDiagnostics({ link: large, deviceId: "box-a", requestId: "r" });
    expect(large.commands).toHaveLength(1);
  });
});

describe("checkDesiredConfig", () => {
  const reported: ConfigReported = {
    version: 7, hash: "h", appliedAt: null, state: "applied", lastError: null,
    config: { deviceId: "box-a", mqtt: { url: "mqtt://[redacted]@broker.example:8883", password: "[redacted]" }, peripherals: [] },
  };

  it("publishes the message as written when the box would take it", () => {
    const desired = { version: 8, patch: { peripherals: [{ id: "spo2", driver: "nonin", port: "/dev/ttyUSB0" }] } };
    const checked = checkDesiredConfig(desired, reported);
    expect(checked).toEqual({ ok: true, payload: JSON.stringify(desired), version: 8 });
  });

  it("lists every problem: version, forbidden keys, and each key's shape", () => {
    const checked = checkDesiredConfig({ version: 7, config: { update: {}, deviceId: "x", peripherals: [{ id: "a" }] } }, reported);
    expect(checked.ok).toBe(false);
    const errors = checked.ok ? [] : checked.errors;
    expect(errors[0]).toMatch(/^version: 7 is not above/);
    expect(errors).toContain("update: cannot be set remotely");
    expect(errors.some((error) => error.startsWith("deviceId: set by the box's own file"))).toBe(true);
    expect(errors.some((error) => error.startsWith("peripherals[0]"))).toBe(true);
    // allowBootstrap lets deviceId through to the box, which decides by its own file.
    expect(checkDesiredConfig({ version: 8, allowBootstrap: true, patch: { deviceId: "box-b" } }, reported).ok).toBe(true);
    // With no report at all, version 1 is the first.
    expect(checkDesiredConfig({ version: 1, patch: { log: { level: "warn" } } }, undefined).ok).toBe(true);
  });

  it("answers any JSON with a verdict, never a throw", () => {
    fc.assert(
      fc.property(wireJson, (value) => {
        const checked = checkDesiredConfig(value, reported);
        expect(checked.ok ? typeof checked.payload : checked.errors.length > 0).toBeTruthy();
      }),
      RUNS,
    );
  });
});
