/**
 * Pure decoding of a command request's payload: size and depth caps first (remoteJson.ts), then
 * JSON. An empty payload means "no parameters", so `mosquitto_rr -m ''` works for ping.
 */
import type { CommandResponse } from "../core/api.ts";
import { isTheaError, type ErrorCode } from "../core/errors.ts";
import { parseRemoteJson } from "../../lib/remoteJson.ts";

export type DecodedRequest = { ok: true; params: unknown } | { ok: false; response: CommandResponse };

export function decodeRequest(payload: Uint8Array, maxBytes: number): DecodedRequest {
  const json = parseRemoteJson(payload, { maxBytes, whenBlank: {} });
  return json.ok ? { ok: true, params: json.value } : failure(json.code, `payload: ${json.message}`);
}

export function failure(code: ErrorCode, message: string): { ok: false; response: CommandResponse } {
  return { ok: false, response: { ok: false, error: { code, message } } };
}

/** What a remote party is told about a failure: our codes as they are, anything else as internal. */
export function errorResponse(error: unknown): CommandResponse {
  if (isTheaError(error)) return { ok: false, error: { code: error.code, message: error.message } };
  return { ok: false, error: { code: "internal-error", message: "the command failed inside the agent; see its log" } };
}

/**
 * Codes that mean the command was refused before it did anything (checks on the request, the
 * box's state or the target), so running it again later cannot do a thing twice. Not among them:
 * timeout (may still be running), device-timeout/device-rejected (the device was told),
 * internal-error (unknown).
 */
const REFUSED_BEFORE_RUNNING: ReadonlySet<string> = new Set<ErrorCode>([
  "invalid-json",
  "invalid-params",
  "payload-too-large",
  "unknown-command",
  "busy",
  "expired",
  "rate-limited",
  "retained-command",
  "consultation-live",
  "unknown-peripheral",
  "unsupported-command",
  "device-unavailable",
]);

export function refusedBeforeRunning(response: CommandResponse): boolean {
  return !response.ok && REFUSED_BEFORE_RUNNING.has(response.error.code);
}

/**
 * When a request stops being valid: the `expires-at` user property (ISO 8601), for requests that
 * may sit in a queue. (MQTT 5 message expiry is enforced by the broker before delivery.)
 */
export function expiryOf(userProperties: Record<string, string | string[]> | undefined): number | undefined | "invalid" {
  const raw = userProperties?.["expires-at"];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? "invalid" : time;
}
