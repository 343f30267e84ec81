/**
 * Release manifests: Ed25519 signatures over canonical JSON with keys made by `thea keys
 * generate`'s code, checked against trusted keys; version order; and manifests from afar fuzzed
 * (anything unsigned, smuggled or changed is refused, never thrown on).
 */
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, compareVersions, manifestSchema, signManifest, verifyManifest } from "../../../agent/update/manifest.ts";
import { RUNS, wireJson } from "../../helpers/hostileJson.ts";

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
};
const manifest = manifestSchema.parse({ version: "1.4.2", size: 1234, sha256: "a".repeat(64), url: "https://updates.example.org/thea-1.4.2.tar.gz", notes: "fixes" });

describe("signed manifests", () => {
  it("verifies with any trusted key (rotation) and refuses unknown keys, tampering and junk", () => {
    const [oldKey, newKey, stranger] = [pair(), pair(), pair()];
    const signed = signManifest(manifest, newKey.privatePem);
    expect(verifyManifest(JSON.parse(JSON.stringify(signed)), [oldKey.publicPem, newKey.publicPem])).toEqual({ ok: true, manifest, keyId: signed.keyId });
    expect(verifyManifest(signed, [oldKey.publicPem])).toMatchObject({ ok: false, code: "unknown-key" });
    expect(verifyManifest(signManifest(manifest, stranger.privatePem), [newKey.publicPem])).toMatchObject({ ok: false, code: "unknown-key" });
    const tampered = { ...signed, manifest: { ...signed.manifest, url: "https://evil.example/thea.tar.gz" } };
    expect(verifyManifest(tampered, [newKey.publicPem])).toMatchObject({ ok: false, code: "bad-signature" });
    expect(verifyManifest({ manifest: {} }, [newKey.publicPem])).toMatchObject({ ok: false, code: "bad-manifest" });
    expect(verifyManifest("nope", [newKey.publicPem])).toMatchObject({ ok: false, code: "bad-manifest" });
  });

  it("signs canonical JSON, so key order does not matter", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], e: undefined })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    const key = pair();
    const signed = signManifest(manifest, key.privatePem);
    const reordered = { signature: signed.signature, keyId: signed.keyId, manifest: Object.fromEntries(Object.entries(signed.manifest).reverse()) };
    expect(verifyManifest(reordered, [key.publicPem]).ok).toBe(true);
  });

  it("refuses a signed manifest that is not a valid manifest", () => {
    const key = pair();
    const bad = signManifest({ ...manifest, url: "ftp://x/y" } as typeof manifest, key.privatePem);
    expect(verifyManifest(bad, [key.publicPem])).toMatchObject({ ok: false, code: "bad-manifest", reason: expect.stringContaining("url") });
  });
});

describe("expiry and selector", () => {
  const key = pair();
  const later = "2027-01-31T00:00:00Z";

  it("requires an expiry on a downgrade manifest, so none is valid for ever", () => {
    const open = signManifest({ ...manifest, allowDowngrade: true }, key.privatePem);
    expect(verifyManifest(open, [key.publicPem])).toMatchObject({ ok: false, code: "bad-manifest", reason: expect.stringContaining("expiresAt: is required when allowDowngrade is set") });
    const bounded = signManifest({ ...manifest, allowDowngrade: true, expiresAt: later }, key.privatePem);
    expect(verifyManifest(bounded, [key.publicPem])).toMatchObject({ ok: true, manifest: { allowDowngrade: true, expiresAt: later } });
  });

  it("signs the expiry and the selector: changing, adding or removing either breaks the signature", () => {
    const signed = signManifest({ ...manifest, allowDowngrade: true, expiresAt: later, channels: ["beta"], devices: ["clinic-7"] }, key.privatePem);
    const { expiresAt: _expiresAt, ...withoutExpiry } = signed.manifest;
    const { devices: _devices, ...withoutDevices } = signed.manifest;
    for (const changed of [
      { ...signed.manifest, expiresAt: "2099-01-01T00:00:00Z" },
      withoutExpiry,
      { ...signed.manifest, channels: ["stable"] },
      withoutDevices,
      { ...signed.manifest, devices: ["clinic-7", "clinic-8"] },
    ]) {
      expect(verifyManifest({ ...signed, manifest: changed }, [key.publicPem])).toMatchObject({ ok: false, code: "bad-signature" });
    }
    const plain = signManifest(manifest, key.privatePem);
    expect(verifyManifest({ ...plain, manifest: { ...plain.manifest, channels: ["beta"] } }, [key.publicPem])).toMatchObject({ ok: false, code: "bad-signature" });
  });

  it("refuses an expiry without a time zone and selectors that are not names", () => {
    for (const fields of [{ expiresAt: "2027-01-31T00:00:00" }, { expiresAt: "next week" }, { channels: [] }, { channels: ["Beta!"] }, { devices: ["+"] }, { devices: ["a/#"] }]) {
      const signed = signManifest({ ...manifest, ...fields } as typeof manifest, key.privatePem);
      expect(verifyManifest(signed, [key.publicPem])).toMatchObject({ ok: false, code: "bad-manifest" });
    }
  });
});

describe("compareVersions", () => {
  it("orders by number, with pre-releases before their release", () => {
    expect(["1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.9", "1.2.1"].sort(compareVersions)).toEqual(["0.9.9", "1.2.0-rc.1", "1.2.0", "1.2.1", "1.10.0"]);
    expect(compareVersions("2.0.0", "2.0.0")).toBe(0);
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
