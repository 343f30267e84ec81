/**
 * Remote configuration, the pure parts: what a desired-config message may say, JSON merge patch
 * (RFC 7396), which keys a remote change may not touch without permission, and which changes
 * the agent can take without restarting.
 */
import { z } from "zod";

/** `thea/v1/{deviceId}/config/desired`: a full remote layer, or a merge patch over the current one. */
export const desiredConfigSchema = z
  .strictObject({
    version: z.int().min(1).describe("Increases with every change; a version at or below the applied one is not applied again."),
    config: z.record(z.string(), z.unknown()).optional().describe("The whole remote layer (replaces the previous one)."),
    patch: z.record(z.string(), z.unknown()).optional().describe("A JSON merge patch (RFC 7396) over the current remote layer."),
    allowBootstrap: z.boolean().default(false).describe("This change may touch deviceId, dataDir or mqtt (only if the box's own file allows it)."),
  })
  .refine((desired) => (desired.config === undefined) !== (desired.patch === undefined), { error: "give either config or patch" });

export type DesiredConfig = z.output<typeof desiredConfigSchema>;

export type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === "object" && !Array.isArray(value);

/** RFC 7396: objects merge key by key, null deletes, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

/**
 * `object[key] = value` for keys from afar: a key named `__proto__` would otherwise replace the
 * object's prototype (and slip values past the strict schema as inherited properties) instead of
 * becoming a key the schema then refuses as unknown.
 */
function setOwn(object: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The local file's values with the remote layer over them (objects merge; lists and values replace). */
export function layer(local: unknown, remote: JsonObject): unknown {
  return mergePatch(local, stripNulls(remote));
}

function stripNulls(value: unknown): unknown {
  if (!isObject(value)) return value;
  // Object.fromEntries defines own properties, so a `__proto__` key stays a key (see setOwn).
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== null).map(([key, inner]) => [key, stripNulls(inner)]));
}

/**
 * Settings the box needs to reach anyone at all, and whom it trusts for software: set by its own
 * file, not from afar by default.
 */
export const BOOTSTRAP_KEYS = ["deviceId", "dataDir", "mqtt", "update"] as const;

export function touchedBootstrapKeys(remote: JsonObject): string[] {
  return BOOTSTRAP_KEYS.filter((key) => Object.hasOwn(remote, key));
}

/**
 * Top-level keys the running agent takes on the fly; a change anywhere else is applied by a
 * clean restart.
 */
export const LIVE_KEYS = ["log", "telemetry", "peripherals", "cameras"] as const;

/** Top-level keys whose values differ between two configs. */
export function changedKeys(before: JsonObject, after: JsonObject): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort();
}

export function needsRestart(changed: readonly string[]): boolean {
  return changed.some((key) => !(LIVE_KEYS as readonly string[]).includes(key));
}
