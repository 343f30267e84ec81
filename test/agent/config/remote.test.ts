/**
 * Remote configuration's pure parts: merge patches, layering over the box's file, bootstrap keys,
 * what restarts; and desired config from afar fuzzed (hostile keys, any patch) through to the
 * start-up layering's verdict.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changedKeys, desiredConfigSchema, layer, mergePatch, needsRestart, touchedBootstrapKeys } from "../../../agent/config/remote.ts";
import { resolveLayered } from "../../../agent/config/startup.ts";
import { prototypesAreOrdinary, RUNS, wireJson, wireObject } from "../../helpers/hostileJson.ts";

describe("JSON merge patch (RFC 7396)", () => {
  it("merges objects, deletes with null and replaces arrays and values (the RFC's own example)", () => {
    const target = { title: "Goodbye!", author: { givenName: "John", familyName: "Doe" }, tags: ["example", "sample"], content: "This will be unchanged" };
    const patch = { title: "Hello!", phoneNumber: "+01-123-456-7890", author: { familyName: null }, tags: ["example"] };
    expect(mergePatch(target, patch)).toEqual({
      title: "Hello!",
      author: { givenName: "John" },
      tags: ["example"],
      content: "This will be unchanged",
      phoneNumber: "+01-123-456-7890",
    });
    expect(target.author.familyName).toBe("Doe"); // the target is not modified
  });

  it("layers the remote over the box's file and finds what changed and what needs a restart", () => {
    const local = { mqtt: { url: "mqtts://b" }, telemetry: { healthIntervalSec: 60 }, peripherals: [{ id: "a" }] };
    expect(layer(local, { telemetry: { healthIntervalSec: 10 }, peripherals: [] })).toEqual({ mqtt: { url: "mqtts://b" }, telemetry: { healthIntervalSec: 10 }, peripherals: [] });
    expect(touchedBootstrapKeys({ mqtt: {}, log: {}, deviceId: "x", update: {} })).toEqual(["deviceId", "mqtt", "update"]);
    expect(changedKeys({ log: { level: "info" }, outbox: { a: 1 } }, { log: { level: "warn" }, outbox: { a: 1 } })).toEqual(["log"]);
    expect(needsRestart(["log", "telemetry"])).toBe(false);
    expect(needsRestart(["peripherals", "cameras"])).toBe(false);
    expect(needsRestart(["cameras", "media"])).toBe(true);
  });
});

describe("desired config from afar", () => {
  const localRaw = { deviceId: "box-1", mqtt: { url: "mqtt://127.0.0.1:1883" } };

  it("never throws and never changes a prototype, whatever the patch", async () => {
    await fc.assert(
      fc.asyncProperty(wireObject, wireJson, async (patch, target) => {
        const before = Object.getOwnPropertyNames(Object.prototype).length;
        const merged = mergePatch(target, patch);
        expect(prototypesAreOrdinary(merged)).toBe(true);
        expect(Object.getOwnPropertyNames(Object.prototype)).toHaveLength(before);
        desiredConfigSchema.safeParse({ version: 2, patch });
        const resolved = await resolveLayered(localRaw, merged !== null && typeof merged === "object" && !Array.isArray(merged) ? (merged as Record<string, unknown>) : {}, { env: {} });
        if (!resolved.ok) expect(resolved.errors.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it("refuses a setting smuggled in under __proto__ instead of taking it as inherited", async () => {
    const patch = JSON.parse('{"log":{"__proto__":{"level":"trace"}}}') as Record<string, unknown>;
    const merged = mergePatch({}, patch) as Record<string, unknown>;
    const resolved = await resolveLayered(localRaw, merged, { env: {} });
    expect(resolved).toMatchObject({ ok: false, errors: ["log.__proto__: unknown key"] });
  });
});
