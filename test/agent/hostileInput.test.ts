/**
 * Property-based fuzzing of the pure parts every remote message goes through before any service
 * acts on it: the JSON gate (size and depth caps), command request decoding, the desired-config
 * path (schema, merge patch, layering, validation) and signed update manifests. Each must answer
 * anything with a value, never a throw, and never let a crafted key reach past the schema.
 * (test/agent/hostileInput.integration.test.ts sends the same kinds of payloads to a real agent.)
 */
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRequest } from "../../agent/commands/request.ts";
import { desiredConfigSchema, mergePatch } from "../../agent/config/remote.ts";
import { resolveLayered } from "../../agent/config/startup.ts";
import { MAX_JSON_DEPTH, nestingDepth, parseRemoteJson } from "../../lib/remoteJson.ts";
import { manifestSchema, signManifest, verifyManifest } from "../../agent/update/manifest.ts";

const RUNS = { numRuns: 300 };

/** Keys a hostile sender tries first, mixed with config keys and anything else. */
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "log", "level", "mqtt", "update", "dataDir", "telemetry"),
  fc.string({ maxLength: 12 }),
);

/**
 * JSON objects built as text and parsed, as they arrive off the wire: a `__proto__` key is then
 * an own property (an object literal or fc.object would set the prototype instead).
 */
const wireJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; object: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.jsonValue({ maxDepth: 1 }), tie("object"), fc.array(tie("value"), { maxLength: 4 })),
  object: fc
    .array(fc.tuple(hostileKey, tie("value")), { maxLength: 5 })
    .map((entries) => JSON.parse(`{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? "null"}`).join(",")}}`) as unknown),
})).value;

const wireObject = wireJson.filter((value): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value));

const deeplyNested = fc
  .record({ depth: fc.integer({ min: MAX_JSON_DEPTH + 1, max: 60_000 }), open: fc.constantFrom("[", '{"a":') })
  .map(({ depth, open }) => open.repeat(depth) + "1" + (open === "[" ? "]" : "}").repeat(depth));

function prototypesAreOrdinary(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  const expected = Array.isArray(value) ? Array.prototype : Object.prototype;
  return Object.getPrototypeOf(value) === expected && Object.values(value).every(prototypesAreOrdinary);
}

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

describe("signed update manifests from afar", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const trusted = [publicKey.export({ type: "spki", format: "pem" }).toString()];
  const manifest = manifestSchema.parse({ version: "1.4.2", size: 1234, sha256: "a".repeat(64), url: "https://updates.example.org/thea-1.4.2.tar.gz" });
  const signed = signManifest(manifest, privateKey.export({ type: "pkcs8", format: "pem" }).toString());

  it("answers anything that is not a signed manifest with a refusal, never a throw", () => {
    fc.assert(
      fc.property(wireJson, (input) => {
        const verified = verifyManifest(input, trusted);
        expect(verified).toMatchObject({ ok: false, code: expect.stringMatching(/^(bad-manifest|unknown-key|bad-signature)$/) });
      }),
      RUNS,
    );
  });

  it("does not let an unsigned __proto__ key switch on force or allowDowngrade", () => {
    const smuggled = JSON.parse(JSON.stringify(signed).replace('"manifest":{', '"manifest":{"__proto__":{"allowDowngrade":true,"force":true},')) as unknown;
    const verified = verifyManifest(smuggled, trusted);
    expect(verified.ok && (verified.manifest.allowDowngrade || verified.manifest.force)).toBe(false);
  });

  it("refuses a signed manifest with any field changed, added or removed", () => {
    const field = fc.constantFrom(...Object.keys(signed.manifest), "extra", "__proto__");
    fc.assert(
      fc.property(field, fc.option(wireJson, { nil: undefined }), (key, value) => {
        const changed: Record<string, unknown> = JSON.parse(JSON.stringify(signed.manifest)) as Record<string, unknown>;
        if (value === undefined) delete changed[key];
        else Object.defineProperty(changed, key, { value, enumerable: true, writable: true, configurable: true });
        fc.pre(JSON.stringify(changed) !== JSON.stringify(signed.manifest));
        expect(verifyManifest({ ...signed, manifest: changed }, trusted).ok).toBe(false);
      }),
      RUNS,
    );
  });
});
