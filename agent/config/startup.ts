/**
 * The configuration an agent run starts with: the box's own file, the remote layer from the data
 * disk over it, and the environment over both. A remote change on probation (trial) that keeps
 * the agent from coming up — it was started too often without reaching the broker, or no longer
 * validates — is undone here, before anything else runs, so a bad change cannot keep a box down.
 */
import { applyEnvOverrides, readConfigFile, resolveConfig, type LoadResult } from "./load.ts";
import type { ResolvedConfig } from "../../config/schema.ts";
import { policyViolations } from "./policy.ts";
import { layer, type JsonObject } from "./remote.ts";
import { EMPTY_STATE, RemoteConfigStore, type RemoteConfigState } from "./remoteStore.ts";

/** Starts of the agent on a trial config without reaching the broker before it is undone. */
export const MAX_TRIAL_STARTS = 3;

export interface StartupConfig {
  config: ResolvedConfig;
  hash: string;
  /** The box's own file as parsed, before the environment (the base of every remote layer). */
  localRaw: unknown;
  /** The box's own file with the environment, validated: what bootstrap permissions come from. */
  local: ResolvedConfig;
  state: RemoteConfigState;
  store: RemoteConfigStore;
}

export interface StartupOptions {
  path?: string | undefined;
  env: Record<string, string | undefined>;
  machineIdPath?: string;
  now?: () => Date;
}

export async function loadStartupConfig(options: StartupOptions): Promise<{ ok: true; startup: StartupConfig } | { ok: false; errors: string[] }> {
  const raw = options.path === undefined ? { ok: true as const, value: {} } : await readConfigFile(options.path);
  if (!raw.ok) return raw;
  const resolveWith = (remote: JsonObject) => resolveLayered(raw.value, remote, options);
  const local = await resolveWith({});
  if (!local.ok) return local; // the box's own file must stand on its own

  const store = new RemoteConfigStore(local.config.dataDir);
  const loaded = await store.load();
  const at = (options.now?.() ?? new Date()).toISOString();
  const state = loaded.ok ? loaded.state : { ...structuredClone(EMPTY_STATE), lastError: { version: null, at, errors: [`remote layer unreadable, running on the local file: ${loaded.error}`] } };
  let dirty = !loaded.ok;

  if (state.trial) {
    state.trial.starts += 1;
    dirty = true;
    if (state.trial.starts > MAX_TRIAL_STARTS) revert(state, at, `the agent started ${MAX_TRIAL_STARTS} times on it without reaching the broker`);
  }
  let effective = await resolveWith(state.applied.layer);
  // A layer kept from before the box's file narrowed remotePolicy is held to it as well.
  const problems = !effective.ok ? effective.errors : await policyViolations(effective.config, local.config);
  if (!effective.ok || problems.length > 0) {
    dirty = true;
    if (state.trial) revert(state, at, `it does not validate: ${problems.join("; ")}`);
    else {
      state.lastError = { version: state.applied.version, at, errors: [`the remote layer no longer validates; running on the local file: ${problems.join("; ")}`] };
      state.applied = { version: state.applied.version, layer: {}, appliedAt: at };
    }
    effective = await resolveWith(state.applied.layer);
    if (!effective.ok) return effective;
  }
  if (dirty) await store.save(state).catch(() => undefined); // a read-only disk must not stop the agent
  return { ok: true, startup: { config: effective.config, hash: effective.hash, localRaw: raw.value, local: local.config, state, store } };
}

/** The effective config: the box's file, a remote layer over it, the environment over both. */
export function resolveLayered(localRaw: unknown, remote: JsonObject, options: { env: Record<string, string | undefined>; machineIdPath?: string | undefined }): Promise<LoadResult> {
  const { value, sources } = applyEnvOverrides(layer(localRaw, remote), options.env);
  return resolveConfig(value, { env: options.env, sources, ...(options.machineIdPath !== undefined && { machineIdPath: options.machineIdPath }) });
}

/** Goes back to the trial's previous layer, saying why. */
export function revert(state: RemoteConfigState, at: string, why: string): void {
  const trial = state.trial;
  if (!trial) return;
  state.lastError = { version: state.applied.version, at, errors: [`version ${state.applied.version} was undone (back to version ${trial.previous.version}): ${why}`] };
  state.skipUpTo = Math.max(state.skipUpTo ?? 0, state.applied.version);
  state.applied = trial.previous;
  state.trial = null;
}
