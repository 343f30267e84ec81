/**
 * Pure decoding of a command request's payload: size cap first (before any parsing work), then
 * JSON. An empty payload means "no parameters", so `mosquitto_rr -m ''` works for ping.
 */
import type { CommandResponse } from "../mqtt/api.ts";
import { isTheaError, messageOf, type ErrorCode } from "../errors.ts";

export type DecodedRequest = { ok: true; params: unknown } | { ok: false; response: CommandResponse };

export function decodeRequest(payload: Uint8Array, maxBytes: number): DecodedRequest {
  if (payload.byteLength > maxBytes) {
    return failure("payload-too-large", `payload is ${payload.byteLength} bytes; the limit is ${maxBytes}`);
  }
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8").trim();
  if (text === "") return { ok: true, params: {} };
  try {
    return { ok: true, params: JSON.parse(text) as unknown };
  } catch (error) {
    return failure("invalid-json", `payload is not JSON: ${messageOf(error)}`);
  }
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
