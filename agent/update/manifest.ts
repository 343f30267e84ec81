/**
 * Release manifests and their Ed25519 signatures. A signed manifest is JSON
 * `{"manifest":{…},"keyId":"…","signature":"<base64>"}`; the signature covers the manifest's
 * canonical JSON (keys sorted, no spaces), so re-serialising it anywhere cannot break it. Every
 * field that decides what a box does (version, digest, expiry, selector, flags) is inside
 * `manifest`, so inside the signature; `keyId` only says which key to try. Keys are
 * SPKI PEM; a key's id is the first 16 hex digits of the SHA-256 of its DER form. Pure, apart
 * from node:crypto.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { CHANNEL_PATTERN, DEVICE_ID_PATTERN } from "../../config/schema.ts";

const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

export const manifestSchema = z.strictObject({
  version: z.string().regex(VERSION, { error: "must be a version such as 1.4.2" }),
  size: z.int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: "must be 64 lower-case hex digits" }),
  url: z.url({ protocol: /^https?$/ }),
  /** The oldest running version that may update straight to this one. */
  minVersion: z.string().regex(VERSION).optional(),
  notes: z.string().max(4000).default(""),
  /** Install even during a consultation. */
  force: z.boolean().default(false),
  /** Allow installing a version older than the running one or the box's floor (a deliberate rollback). */
  allowDowngrade: z.boolean().default(false),
  /** After this instant the manifest is refused (ISO 8601 with a zone); required with allowDowngrade. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** Only boxes whose update.channel is one of these take it. */
  channels: z.array(z.string().regex(CHANNEL_PATTERN, { error: "must be a channel name such as stable" })).min(1).max(32).optional(),
  /** Only these boxes (their deviceId) take it; bounded by the broker's payload limit as well. */
  devices: z.array(z.string().regex(DEVICE_ID_PATTERN, { error: "must be a device id" })).min(1).max(10_000).optional(),
}).check((context) => {
  // A rollback manifest that never expires can roll a box back at any time it is replayed.
  if (context.value.allowDowngrade && context.value.expiresAt === undefined) {
    context.issues.push({ code: "custom", input: context.value, path: ["expiresAt"], message: "is required when allowDowngrade is set" });
  }
});

export type Manifest = z.output<typeof manifestSchema>;

export const signedManifestSchema = z.strictObject({
  manifest: z.record(z.string(), z.unknown()),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  signature: z.base64(),
});

export type SignedManifest = z.output<typeof signedManifestSchema>;

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, inner]) => inner !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16);
}

export function signManifest(manifest: Manifest, privateKeyPem: string): SignedManifest {
  const privateKey = createPrivateKey(privateKeyPem);
  const signature = sign(null, Buffer.from(canonicalJson(manifest)), privateKey).toString("base64");
  return { manifest: { ...manifest }, keyId: keyIdOf(createPublicKey(privateKey)), signature };
}

export type Verified = { ok: true; manifest: Manifest; keyId: string } | { ok: false; code: "bad-manifest" | "unknown-key" | "bad-signature"; reason: string };

/** Checks a signed manifest against the trusted public keys (SPKI PEM), then its shape. */
export function verifyManifest(input: unknown, trustedKeysPem: readonly string[]): Verified {
  const signed = signedManifestSchema.safeParse(input);
  if (!signed.success) return { ok: false, code: "bad-manifest", reason: `not a signed manifest: ${signed.error.issues.map((issue) => `${issue.path.join(".") || "(top)"}: ${issue.message}`).join("; ")}` };
  const keys = trustedKeysPem.flatMap((pem) => {
    try {
      return [createPublicKey(pem)];
    } catch {
      return [];
    }
  });
  const key = keys.find((candidate) => keyIdOf(candidate) === signed.data.keyId);
  if (!key) return { ok: false, code: "unknown-key", reason: `signed with key ${signed.data.keyId}, which is not among this box's trusted keys` };
  // Check and parse the manifest as it arrived, not zod's copy of it: copying drops an own
  // `__proto__` key into the copy's prototype, where it would escape the signature yet still be
  // read by the schema as inherited fields (force, allowDowngrade).
  const received = (input as { manifest: unknown }).manifest;
  const good = verify(null, Buffer.from(canonicalJson(received)), key, Buffer.from(signed.data.signature, "base64"));
  if (!good) return { ok: false, code: "bad-signature", reason: `the signature does not match the manifest (key ${signed.data.keyId})` };
  const manifest = manifestSchema.safeParse(received);
  if (!manifest.success) return { ok: false, code: "bad-manifest", reason: manifest.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ") };
  return { ok: true, manifest: manifest.data, keyId: signed.data.keyId };
}

/** Names one manifest (every signed field), as opposed to its bundle's digest. */
export function manifestFingerprint(manifest: Manifest): string {
  return `manifest:${createHash("sha256").update(canonicalJson(manifest)).digest("hex")}`;
}

/** Semantic version order (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const parse = (version: string) => {
    const [core = "", pre] = version.split("-", 2);
    return { parts: core.split(".").map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const difference = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
