/** Diagnostics bundles handed out in parts. */
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DiagnosticsBundles, type BundlePart } from "../../../agent/management/diagnostics.ts";

describe("DiagnosticsBundles", () => {
  it("hands out a bundle in parts that put back together give its JSON", () => {
    const bundles = new DiagnosticsBundles({ partBytes: 100 });
    const contents = { lines: Array.from({ length: 200 }, (_, i) => `line ${i} ${createHash("md5").update(String(i)).digest("hex")}`) };
    const first = bundles.create(contents);
    expect(first.parts).toBeGreaterThan(3);
    const parts: BundlePart[] = [first, ...Array.from({ length: first.parts - 1 }, (_, i) => bundles.part(first.bundleId, i + 1))];
    const gzipped = Buffer.concat(parts.map((part) => Buffer.from(part.data, "base64")));
    expect(gzipped.length).toBe(first.bytes);
    expect(createHash("sha256").update(gzipped).digest("hex")).toBe(first.sha256);
    expect(JSON.parse(gunzipSync(gzipped).toString())).toEqual(contents);
    expect(() => bundles.part(first.bundleId, first.parts)).toThrow(/part: the bundle has parts/);
  });

  it("forgets bundles after their time", () => {
    let now = 0;
    const bundles = new DiagnosticsBundles({ ttlMs: 1000, now: () => now });
    const { bundleId } = bundles.create({ a: 1 });
    now = 1001;
    expect(() => bundles.part(bundleId, 0)).toThrow(/collect again/);
  });
});
