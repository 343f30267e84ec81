/**
 * A box's retained reports and its command answers as the fleet service reads them: checked for
 * size, depth and shape before anything uses them (the topic is the box's, but anything may be
 * published there by a box running other code or a misconfigured ACL). Pure.
 */
import { z } from "zod";
import { UPDATE_STATES, type CommandResponse } from "../../agent/core/api.ts";
import { parseRemoteJson } from "../../lib/remoteJson.ts";
import type { BoxReport, ReportKind } from "./types/boxLink.ts";

/**
 * `config/reported` carries the box's whole effective config; the agent refuses a desired layer
 * over 256 KiB (mqtt.maxPayloadBytes), so its report stays within a small multiple of that.
 */
export const MAX_REPORT_BYTES = 1024 * 1024;
/** A diagnostics part is 96 KiB of gzip as base64 (~128 KiB); logs.tail of 1,000 lines is larger. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** The config itself nests; 32 is the agent's own bound on remote JSON (docs/mqtt-api.md). */
const MAX_DEPTH = 32;

const text = z.string().max(1024);

const configReported = z.object({
  version: z.number().int().nonnegative(),
  hash: text,
  appliedAt: text.nullable(),
  state: z.enum(["applied", "restarting", "waiting-for-idle", "trial"]),
  config: z.unknown(),
  lastError: z
    .object({ version: z.number().int().nullable(), at: text, errors: z.array(z.string().max(4096)).max(1000) })
    .nullable(),
});

const updateState = z.object({
  state: z.enum(UPDATE_STATES),
  version: text.nullable(),
  runningVersion: text,
  floor: text.nullable(),
  progress: z.number().nullable(),
  // Kept as text: a newer agent may add a result code; the fleet shows it rather than dropping the report.
  result: text.nullable(),
  reason: z.string().max(4096).nullable(),
  since: text,
});

const answer = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: text, message: z.string().max(4096) }) }),
]);

/** The report in `payload`, or why it is not one. */
export function parseBoxReport(kind: ReportKind, deviceId: string, payload: Uint8Array): { ok: true; report: BoxReport } | { ok: false; detail: string } {
  const json = parseRemoteJson(payload, { maxBytes: MAX_REPORT_BYTES, maxDepth: MAX_DEPTH });
  if (!json.ok) return { ok: false, detail: json.message };
  if (kind === "config") {
    const checked = configReported.safeParse(json.value);
    return checked.success ? { ok: true, report: { kind, deviceId, payload: checked.data } } : { ok: false, detail: issuesOf(checked.error) };
  }
  const checked = updateState.safeParse(json.value);
  return checked.success ? { ok: true, report: { kind, deviceId, payload: checked.data } } : { ok: false, detail: issuesOf(checked.error) };
}

/** A command's answer, or the fleet's own `bad-answer` when the box sent something else. */
export function parseAnswer(payload: Uint8Array): CommandResponse {
  const json = parseRemoteJson(payload, { maxBytes: MAX_ANSWER_BYTES, maxDepth: MAX_DEPTH });
  if (!json.ok) return { ok: false, error: { code: "bad-answer", message: `the box's answer is not usable: ${json.message}` } };
  const checked = answer.safeParse(json.value);
  return checked.success ? checked.data : { ok: false, error: { code: "bad-answer", message: `the box's answer has the wrong shape: ${issuesOf(checked.error)}` } };
}

function issuesOf(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "payload"}: ${issue.message}`)
    .join("; ");
}
