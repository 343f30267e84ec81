/**
 * Diagnostics bundles: everything a technician needs to understand a box, gzipped and handed out
 * in parts small enough for one MQTT message each. `diagnostics.collect` makes a bundle and
 * returns part 0; the other parts are fetched by bundle id and index while the bundle is kept.
 */
import { createHash, randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { TheaError } from "../core/errors.ts";

export interface BundlePart {
  bundleId: string;
  /** How `data` decodes: base64, then gunzip, gives the bundle's JSON. */
  encoding: "gzip+base64";
  /** Size and SHA-256 of the whole gzipped bundle, to check the parts put back together. */
  bytes: number;
  sha256: string;
  parts: number;
  part: number;
  data: string;
}

interface Bundle {
  id: string;
  gzipped: Buffer;
  sha256: string;
  createdAt: number;
}

export interface DiagnosticsBundlesOptions {
  /** Gzipped bytes per part (base64 adds a third). */
  partBytes?: number;
  ttlMs?: number;
  maxBundles?: number;
  now?: () => number;
}

export class DiagnosticsBundles {
  readonly #partBytes: number;
  readonly #ttlMs: number;
  readonly #maxBundles: number;
  readonly #now: () => number;
  readonly #bundles = new Map<string, Bundle>();

  constructor(options: DiagnosticsBundlesOptions = {}) {
    this.#partBytes = options.partBytes ?? 96 * 1024;
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#maxBundles = options.maxBundles ?? 4;
    this.#now = options.now ?? Date.now;
  }

  create(contents: unknown): BundlePart {
    this.#expire();
    const gzipped = gzipSync(JSON.stringify(contents));
    const bundle = { id: randomUUID(), gzipped, sha256: createHash("sha256").update(gzipped).digest("hex"), createdAt: this.#now() };
    this.#bundles.set(bundle.id, bundle);
    while (this.#bundles.size > this.#maxBundles) this.#bundles.delete(this.#bundles.keys().next().value ?? "");
    return this.#part(bundle, 0);
  }

  part(bundleId: string, index: number): BundlePart {
    this.#expire();
    const bundle = this.#bundles.get(bundleId);
    if (!bundle) throw new TheaError("invalid-params", `bundleId: no bundle "${bundleId}" (bundles are kept ${Math.round(this.#ttlMs / 60_000)} min; collect again)`);
    const parts = this.#partCount(bundle);
    if (index >= parts) throw new TheaError("invalid-params", `part: the bundle has parts 0–${parts - 1}`);
    return this.#part(bundle, index);
  }

  #part(bundle: Bundle, index: number): BundlePart {
    const start = index * this.#partBytes;
    return {
      bundleId: bundle.id,
      encoding: "gzip+base64",
      bytes: bundle.gzipped.length,
      sha256: bundle.sha256,
      parts: this.#partCount(bundle),
      part: index,
      data: bundle.gzipped.subarray(start, start + this.#partBytes).toString("base64"),
    };
  }

  #partCount(bundle: Bundle): number {
    return Math.max(1, Math.ceil(bundle.gzipped.length / this.#partBytes));
  }

  #expire(): void {
    for (const [id, bundle] of this.#bundles) if (this.#now() - bundle.createdAt > this.#ttlMs) this.#bundles.delete(id);
  }
}
