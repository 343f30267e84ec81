/**
 * A rollout request as the API receives it (POST /api/rollouts, JSON), checked into a RolloutSpec
 * (pure). Every problem is said in words, by path; nothing unknown is let through.
 */
import { z } from "zod";
import { DEVICE_ID_PATTERN } from "../../../config/schema.ts";
import type { Amount, RolloutSpec } from "./model.ts";

/** A selection naming more boxes than the largest fleet is a mistake (issue 16: ~2,050 boxes). */
const MAX_LISTED = 10_000;
/** A week: longer than any box takes, short enough that a lost box does not hold a rollout for ever. */
const MAX_DEADLINE_SEC = 7 * 24 * 3600;

export const DEFAULTS = {
  canary: { count: 1 },
  batchSize: 20,
  /** Any failure halts, unless the technician allows some. */
  failureThreshold: { count: 0 },
  /** A 60 MB bundle over a slow clinic link, the install and the 120 s health check. */
  boxDeadlineSec: 1800,
} as const;

const label = z.string().min(1).max(64);
const amount = z.union([
  z.int().min(0).max(MAX_LISTED),
  z.string().regex(/^\d{1,3}(\.\d+)?%$/, { error: "must be a count or a percentage such as \"10%\"" }),
]);

const requestSchema = z
  .strictObject({
    selection: z.strictObject({
      province: label.optional(),
      district: label.optional(),
      commune: label.optional(),
      version: label.optional(),
      deviceIds: z.array(z.string().regex(DEVICE_ID_PATTERN, { error: "must be a device id" })).min(1).max(MAX_LISTED).optional(),
    }),
    /** The signed manifest file's content, as text or as its JSON object. */
    release: z.union([z.string().min(2).max(256 * 1024), z.record(z.string(), z.unknown())]).optional(),
    patch: z.record(z.string(), z.unknown()).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    canary: amount.optional(),
    batchSize: z.int().min(1).max(MAX_LISTED).optional(),
    failureThreshold: amount.optional(),
    boxDeadlineSec: z.int().min(10).max(MAX_DEADLINE_SEC).optional(),
    dryRun: z.boolean().optional(),
  })
  .check((context) => {
    const changes = ["release", "patch", "config"].filter((key) => context.value[key as "release"] !== undefined);
    if (changes.length !== 1) context.issues.push({ code: "custom", input: context.value, path: [], message: "give exactly one change: release, patch or config" });
  });

export type RolloutRequest = { ok: true; spec: RolloutSpec; dryRun: boolean } | { ok: false; error: string };

export function rolloutRequestOf(body: unknown): RolloutRequest {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    return { ok: false, error: parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "request"}: ${issue.message}`).join("; ") };
  }
  const request = parsed.data;
  const canary = amountOf(request.canary) ?? DEFAULTS.canary;
  const failureThreshold = amountOf(request.failureThreshold) ?? DEFAULTS.failureThreshold;
  if ("percent" in canary && canary.percent > 100) return { ok: false, error: "canary: a percentage is at most 100%" };
  const change: RolloutSpec["change"] =
    request.release !== undefined
      ? { kind: "release", manifest: typeof request.release === "string" ? request.release : JSON.stringify(request.release) }
      : request.patch !== undefined
        ? { kind: "config", patch: request.patch }
        : { kind: "config", config: request.config ?? {} };
  return {
    ok: true,
    dryRun: request.dryRun ?? false,
    spec: {
      selection: request.selection,
      change,
      canary,
      batchSize: request.batchSize ?? DEFAULTS.batchSize,
      failureThreshold,
      boxDeadlineMs: (request.boxDeadlineSec ?? DEFAULTS.boxDeadlineSec) * 1000,
    },
  };
}

function amountOf(value: number | string | undefined): Amount | undefined {
  if (value === undefined) return undefined;
  return typeof value === "number" ? { count: value } : { percent: Number(value.slice(0, -1)) };
}
