/**
 * A box's diagnostics bundle, fetched part by part through the box's `diagnostics.collect`
 * (docs/mqtt-api.md, Management) and checked before a person downloads it: every part of the
 * same bundle, the parts in order, the whole of the announced size and SHA-256. A box whose
 * answers do not add up gets no file to hand on, but a clear error. Bounded: a bundle announcing
 * more parts or bytes than a box's bundle can hold is refused before its parts are asked for.
 */
import { createHash } from "node:crypto";
import type { BoxAnswer, BoxLink } from "./types/boxLink.ts";

/**
 * The box's parts are 96 KiB of gzip each and its bundle is config, health and 1,000 log lines:
 * far under 4 MiB. A bundle claiming more is not one the agent made.
 */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;
export const MAX_BUNDLE_PARTS = 64;

export type Diagnostics =
  | { ok: true; bundleId: string; gzipped: Buffer; sha256: string }
  /** `answer`: the box's own refusal, passed on as it is; otherwise the service's words. */
  | { ok: false; answer: BoxAnswer };

interface Part {
  bundleId: string;
  bytes: number;
  sha256: string;
  parts: number;
  part: number;
  data: string;
}

export interface CollectOptions {
  link: BoxLink;
  deviceId: string;
  /** The action's request id; part N is asked as `{requestId}-p{N}`, so a retry repeats each step. */
  requestId: string;
}

export async function collectDiagnostics({ link, deviceId, requestId }: CollectOptions): Promise<Diagnostics> {
  const first = await link.command({ deviceId, name: "diagnostics.collect", params: {}, requestId });
  if (!first.ok) return { ok: false, answer: first };
  const head = partOf(first.result);
  if (typeof head === "string") return refused(head);
  if (head.part !== 0) return refused("the box answered with another part than 0");
  if (head.parts > MAX_BUNDLE_PARTS || head.bytes > MAX_BUNDLE_BYTES) return refused(`the bundle is larger than the service takes (${MAX_BUNDLE_PARTS} parts, ${MAX_BUNDLE_BYTES} bytes)`);
  const chunks = [Buffer.from(head.data, "base64")];
  for (let index = 1; index < head.parts; index += 1) {
    const answer = await link.command({ deviceId, name: "diagnostics.collect", params: { bundleId: head.bundleId, part: index }, requestId: `${requestId}-p${index}` });
    if (!answer.ok) return { ok: false, answer };
    const part = partOf(answer.result);
    if (typeof part === "string") return refused(part);
    if (part.bundleId !== head.bundleId || part.part !== index || part.parts !== head.parts || part.bytes !== head.bytes || part.sha256 !== head.sha256) {
      return refused(`part ${index} does not belong with part 0`);
    }
    chunks.push(Buffer.from(part.data, "base64"));
    if (chunks.reduce((total, chunk) => total + chunk.length, 0) > head.bytes) return refused("the parts are longer than the bundle");
  }
  const gzipped = Buffer.concat(chunks);
  if (gzipped.length !== head.bytes) return refused(`the parts make ${gzipped.length} bytes; the box announced ${head.bytes}`);
  const sha256 = createHash("sha256").update(gzipped).digest("hex");
  if (sha256 !== head.sha256) return refused("the parts put together do not have the SHA-256 the box announced");
  return { ok: true, bundleId: head.bundleId, gzipped, sha256 };
}

function refused(message: string): Diagnostics {
  return { ok: false, answer: { ok: false, error: { code: "bad-bundle", message: `diagnostics bundle: ${message}` } } };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A part as docs/mqtt-api.md describes it, or what is wrong with it. */
function partOf(result: unknown): Part | string {
  if (result === null || typeof result !== "object") return "the answer is not a bundle part";
  const value = result as Record<string, unknown>;
  const { bundleId, bytes, sha256, parts, part, data, encoding } = value;
  if (encoding !== "gzip+base64") return "the part is not gzip+base64";
  if (typeof bundleId !== "string" || bundleId === "" || bundleId.length > 128) return "the part has no bundle id";
  if (!isCount(bytes) || !isCount(parts) || parts < 1 || !isCount(part) || part >= parts) return "the part's sizes are not whole numbers in range";
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) return "the part has no SHA-256";
  if (typeof data !== "string" || !BASE64.test(data)) return "the part's data is not base64";
  return { bundleId, bytes, sha256, parts, part, data };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
