/**
 * From a file on disk and the environment to a validated, fully resolved configuration.
 * Errors are values: every problem becomes one `path.to.key: what is wrong` line, so
 * `thea config check` and a refused remote config can show all of them at once.
 */
import { createHash, createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { configSchema, type Config, type MqttConfig, type ResolvedConfig } from "../../config/schema.ts";
import { messageOf } from "../core/errors.ts";
import { redactSecrets } from "../../lib/log.ts";

export type LoadResult =
  | { ok: true; config: ResolvedConfig; hash: string }
  | { ok: false; errors: string[] };

export interface LoadOptions {
  /** Config file (YAML or JSON); none means "environment and defaults only". */
  path?: string | undefined;
  env: Record<string, string | undefined>;
  /** Where the machine id lives; tests point it elsewhere. */
  machineIdPath?: string;
}

/** Environment variables that override a config key, for tests, containers and secrets. */
const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: readonly string[] }> = [
  { env: "THEA_MQTT_URL", path: ["mqtt", "url"] },
  { env: "THEA_MQTT_PASSWORD", path: ["mqtt", "password"] },
  { env: "THEA_DEVICE_ID", path: ["deviceId"] },
  { env: "THEA_DATA_DIR", path: ["dataDir"] },
  { env: "THEA_LOG_LEVEL", path: ["log", "level"] },
];

export async function loadConfig(options: LoadOptions): Promise<LoadResult> {
  const raw: Raw = options.path === undefined ? { ok: true, value: {} } : await readConfigFile(options.path);
  if (!raw.ok) return raw;
  const { value, sources } = applyEnvOverrides(raw.value, options.env);
  return resolveConfig(value, { ...options, sources });
}

/** Validate an already-parsed config object (a file, or later a remote desired config). */
export async function resolveConfig(
  value: unknown,
  options: LoadOptions & { sources?: Map<string, string> },
): Promise<LoadResult> {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, errors: formatIssues(parsed.error.issues, options.sources ?? new Map()) };
  }
  const config = parsed.data;
  const errors: string[] = [];

  let password = config.mqtt.password;
  if (config.mqtt.passwordFile !== undefined) {
    try {
      password = (await readFile(config.mqtt.passwordFile, "utf8")).split("\n")[0] ?? "";
    } catch (error) {
      errors.push(`mqtt.passwordFile: cannot read ${config.mqtt.passwordFile}: ${messageOf(error)}`);
    }
  }

  let deviceId = config.deviceId;
  if (deviceId === undefined) {
    const derived = await deviceIdFromMachineId(options.machineIdPath ?? "/etc/machine-id");
    if (derived.ok) deviceId = derived.deviceId;
    else errors.push(`deviceId: not set and ${derived.error}; set deviceId or THEA_DEVICE_ID`);
  }

  if (errors.length > 0 || deviceId === undefined) return { ok: false, errors };
  const resolved: ResolvedConfig = {
    ...config,
    deviceId,
    mqtt: { ...config.mqtt, clientId: config.mqtt.clientId ?? `thea-${deviceId}` },
  };
  if (password !== undefined) resolved.mqtt.password = password;
  return { ok: true, config: resolved, hash: configHash(resolved) };
}

export type Raw = { ok: true; value: unknown } | { ok: false; errors: string[] };

export async function readConfigFile(path: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return { ok: false, errors: [`${path}: cannot read: ${messageOf(error)}`] };
  }
  try {
    // YAML 1.2 is a superset of JSON, so one parser serves both file kinds.
    const value: unknown = parseYaml(text) ?? {};
    return { ok: true, value };
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` line ${error.linePos[0].line}` : "";
    return { ok: false, errors: [`${path}${where}: not valid YAML or JSON: ${messageOf(error)}`] };
  }
}

export function applyEnvOverrides(
  value: unknown,
  env: Record<string, string | undefined>,
): { value: unknown; sources: Map<string, string> } {
  const sources = new Map<string, string>();
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { value, sources };
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const override of ENV_OVERRIDES) {
    const setting = env[override.env];
    if (setting === undefined || setting === "") continue;
    setAt(copy, override.path, setting);
    sources.set(override.path.join("."), override.env);
  }
  return { value: copy, sources };
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const next = target[head];
  const child = next !== null && typeof next === "object" && !Array.isArray(next) ? next : {};
  target[head] = child;
  setAt(child as Record<string, unknown>, rest, value);
}

/** `mqtt.url: must be …` — one line per problem, naming the key (and its env var, if any). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], sources: Map<string, string>): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
    }
    const path = formatPath(issue.path);
    const env = sources.get(issue.path.join("."));
    return [`${path || "(top level)"}${env ? ` (from ${env})` : ""}: ${issue.message}`];
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

/**
 * systemd asks that the machine id itself not be exposed (machine-id(5)), so the identity is an
 * application-specific hash of it, stable for the life of the installation.
 */
export async function deviceIdFromMachineId(
  path: string,
): Promise<{ ok: true; deviceId: string } | { ok: false; error: string }> {
  let machineId: string;
  try {
    machineId = (await readFile(path, "utf8")).trim();
  } catch (error) {
    return { ok: false, error: `cannot read ${path}: ${messageOf(error)}` };
  }
  if (!/^[0-9a-f]{32}$/.test(machineId)) return { ok: false, error: `${path} does not hold a machine id` };
  const digest = createHmac("sha256", machineId).update("thea device id").digest("hex");
  return { ok: true, deviceId: `box-${digest.slice(0, 12)}` };
}

/** Short hash of the effective config (secrets redacted first, so the hash reveals nothing). */
export function configHash(config: ResolvedConfig): string {
  const canonical = JSON.stringify(sortKeys(redactSecrets(config)));
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
