/**
 * Hostile JSON for the property-based tests of the pure parts every remote message goes through
 * (the JSON gate, command requests, desired config, update manifests).
 */
import fc from "fast-check";
import { MAX_JSON_DEPTH } from "../../lib/remoteJson.ts";

/** Enough runs to meet the odd key and nesting; each suite of remote input uses the same. */
export const RUNS = { numRuns: 300 };

/** Keys a hostile sender tries first, mixed with config keys and anything else. */
export const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "log", "level", "mqtt", "update", "dataDir", "telemetry"),
  fc.string({ maxLength: 12 }),
);

/**
 * JSON objects built as text and parsed, as they arrive off the wire: a `__proto__` key is then
 * an own property (an object literal or fc.object would set the prototype instead).
 */
export const wireJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; object: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.jsonValue({ maxDepth: 1 }), tie("object"), fc.array(tie("value"), { maxLength: 4 })),
  object: fc
    .array(fc.tuple(hostileKey, tie("value")), { maxLength: 5 })
    .map((entries) => JSON.parse(`{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? "null"}`).join(",")}}`) as unknown),
})).value;

export const wireObject = wireJson.filter((value): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value));

export const deeplyNested = fc
  .record({ depth: fc.integer({ min: MAX_JSON_DEPTH + 1, max: 60_000 }), open: fc.constantFrom("[", '{"a":') })
  .map(({ depth, open }) => open.repeat(depth) + "1" + (open === "[" ? "]" : "}").repeat(depth));

export function prototypesAreOrdinary(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  const expected = Array.isArray(value) ? Array.prototype : Object.prototype;
  return Object.getPrototypeOf(value) === expected && Object.values(value).every(prototypesAreOrdinary);
}
