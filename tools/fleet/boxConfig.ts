/**
 * A technician's remote config layer for one box, checked before the service publishes it to the
 * box's `config/desired` (docs/mqtt-api.md, Configuration from afar) with the agent's own rules, as
 * far as they can be checked without the box's file:
 * - the message's shape (`{version, config}` or `{version, patch}`), by the agent's own schema;
 * - the keys a remote layer may never set (`dataDir`, `update`, `remotePolicy`), and those it sets
 *   only with `allowBootstrap` (`deviceId`, `mqtt`), by the agent's own list;
 * - a version above the one the box reports (a lower one would be ignored by the box);
 * - every key's shape, by the agent's configuration schema (config/schema.ts, what `thea config
 *   schema` prints), over the effective config the box last reported.
 * What only the box can check: its file's `remotePolicy` (networks, listen addresses, file
 * directories, floors), `management.allowRemoteBootstrap`, and the layer merged over its own file
 * rather than over its last report. Its verdict comes back in `config/reported`.
 */
import { formatIssues } from "../../agent/config/load.ts";
import { desiredConfigSchema, layer, mergePatch, touchedBootstrapKeys, type JsonObject } from "../../agent/config/remote.ts";
import type { ConfigReported } from "../../agent/core/api.ts";
import { configSchema } from "../../config/schema.ts";

/** Keys no remote layer may set, bootstrap or not (agent/remoteConfig/service.ts). */
const NEVER_REMOTE = ["dataDir", "update", "remotePolicy"];

export type DesiredCheck = { ok: true; payload: string; version: number } | { ok: false; errors: string[] };

/** `value`: the desired message as the technician wrote it; `reported`: the box's last `config/reported`. */
export function checkDesiredConfig(value: unknown, reported: ConfigReported | undefined): DesiredCheck {
  const parsed = desiredConfigSchema.safeParse(value);
  if (!parsed.success) return { ok: false, errors: formatIssues(parsed.error.issues, new Map()) };
  const desired = parsed.data;
  const errors: string[] = [];
  const applied = reported?.version ?? 0;
  if (desired.version <= applied) errors.push(`version: ${desired.version} is not above the version the box runs (${applied}); the box would ignore it`);
  const layerKeys = (desired.config ?? desired.patch ?? {}) as JsonObject;
  const touched = [...touchedBootstrapKeys(layerKeys), ...(Object.hasOwn(layerKeys, "remotePolicy") ? ["remotePolicy"] : [])];
  for (const key of touched) {
    if (NEVER_REMOTE.includes(key)) errors.push(`${key}: cannot be set remotely`);
    else if (!desired.allowBootstrap) errors.push(`${key}: set by the box's own file; a remote change may touch it only with allowBootstrap (and management.allowRemoteBootstrap in that file)`);
  }
  errors.push(...shapeProblems(desired.config ?? desired.patch ?? {}, desired.config !== undefined, reported));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, payload: JSON.stringify(value), version: desired.version };
}

/**
 * The layer over the box's last reported effective config, through the agent's schema. Problems
 * the reported config has by itself (a secret shown as "[redacted]", a report from an older
 * agent) are not the technician's: only those the layer brings are listed.
 */
function shapeProblems(change: JsonObject, whole: boolean, reported: ConfigReported | undefined): string[] {
  const base = isObject(reported?.config) ? reported.config : {};
  const before = new Set(issuesOf(base));
  const after = whole ? layer(base, change) : mergePatch(base, change);
  return issuesOf(after).filter((issue) => !before.has(issue));
}

function issuesOf(config: unknown): string[] {
  const parsed = configSchema.safeParse(config);
  return parsed.success ? [] : formatIssues(parsed.error.issues, new Map());
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
