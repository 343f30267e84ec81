/**
 * JSON from afar (command requests, desired config, update manifests): the size is checked before
 * any parsing work, and the nesting depth before JSON.parse. Depth matters because everything
 * after parsing walks values recursively (merge patch, canonical JSON, structuredClone, even
 * JSON.stringify in a log line): a 200 kB payload of `[[[[…` would otherwise overflow the stack
 * wherever it is first walked, far from here. Pure.
 */
import { messageOf } from "./messageOf.ts";

export const MAX_JSON_DEPTH = 32;

/** Messages name no place: callers prefix where the payload came from (`payload: …`). */
export type RemoteJson = { ok: true; value: unknown } | { ok: false; code: "payload-too-large" | "invalid-json"; message: string };

export interface RemoteJsonOptions {
  maxBytes: number;
  maxDepth?: number;
  /** What an empty or all-blank payload means; without it, such a payload is not JSON. */
  whenBlank?: unknown;
}

export function parseRemoteJson(payload: Uint8Array, { maxBytes, maxDepth = MAX_JSON_DEPTH, whenBlank }: RemoteJsonOptions): RemoteJson {
  if (payload.byteLength > maxBytes) {
    return { ok: false, code: "payload-too-large", message: `${payload.byteLength} bytes; the limit is ${maxBytes}` };
  }
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
  if (whenBlank !== undefined && text.trim() === "") return { ok: true, value: whenBlank };
  const depth = nestingDepth(text);
  if (depth > maxDepth) return { ok: false, code: "invalid-json", message: `nests ${depth} deep; the limit is ${maxDepth}` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, code: "invalid-json", message: `not JSON (${messageOf(error)})` };
  }
}

/** The deepest nesting of arrays and objects in JSON text, not counting brackets inside strings. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1; // backslash: the next character is escaped
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x5d || char === 0x7d) depth -= 1;
  }
  return deepest;
}
