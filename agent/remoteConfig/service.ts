/**
 * Declarative configuration from afar. Technicians write the remote layer the box should run to
 * `…/config/desired` (retained); the agent validates it over its own file, applies it — live for
 * log level, telemetry, peripherals and cameras nobody is watching, by a clean restart for the rest — persists it atomically
 * and reports on `…/config/reported` (retained). A change that restarts the agent is on trial
 * until the agent is back and has reached the broker; if it does not within
 * management.configGraceSec (or keeps crashing, see startup.ts), the last known good layer comes
 * back by itself. An invalid or forbidden change is refused with every problem listed, and the
 * running config is kept.
 */
import { z } from "zod";
import type { Service } from "../core/service.ts";
import type { AgentContext } from "../core/context.ts";
import { messageOf, TheaError } from "../core/errors.ts";
import { redactSecrets, type Logger } from "../../lib/log.ts";
import type { ConnectedInfo, IncomingMessage, BrokerConnection } from "../mqtt/connection.ts";
import { publishJson } from "../mqtt/publish.ts";
import type { Routes } from "../mqtt/routes.ts";
import type { DeviceTopics } from "../core/topics.ts";
import { formatIssues } from "../config/load.ts";
import type { ResolvedConfig } from "../../config/schema.ts";
import { changedKeys, desiredConfigSchema, mergePatch, needsRestart, touchedBootstrapKeys, type JsonObject } from "../config/remote.ts";
import type { ConfigError, RemoteConfigState, RemoteConfigStore } from "../config/remoteStore.ts";
import type { ConfigReported } from "../core/api.ts";
import { resolveLayered, revert } from "../config/startup.ts";
import { policyViolations } from "../config/policy.ts";
import { parseRemoteJson } from "../../lib/remoteJson.ts";
import type { Consultations } from "../core/consultations.ts";
import { defineCommand, type Command } from "../commands/command.ts";

export interface ConfigServiceOptions {
  ctx: AgentContext;
  broker: BrokerConnection;
  /** Where `config/desired` comes from. */
  routes: Routes;
  topics: DeviceTopics;
  store: RemoteConfigStore;
  state: RemoteConfigState;
  /** The box's own file as parsed (the base of every remote layer). */
  localRaw: unknown;
  /** The box's own file, validated: bootstrap permission comes from here only. */
  local: ResolvedConfig;
  /** Takes a config whose changes are all live-applicable. */
  applyLive: (config: ResolvedConfig, hash: string, changed: readonly string[]) => Promise<void>;
  /** A restart waits for the last viewer to leave. */
  consultations: Consultations;
  machineIdPath?: string;
}

/** The answer to config.reset. */
export interface ConfigResetAnswer {
  /** The remote layer that was dropped: its version and top-level keys. */
  dropped: { version: number; keys: string[] };
  /** Desired versions at or below this (the one retained on the broker) are not applied again. */
  skipUpTo: number;
  /** The box's own file differs in settings taken only by a restart: the agent restarts onto it. */
  restarting: boolean;
}

export type { ConfigReported } from "../core/api.ts";

const VERSION_ONLY = z.object({ version: z.int() }).partial();

export class ConfigService implements Service {
  readonly #options: ConfigServiceOptions;
  readonly #log: Logger;
  readonly #state: RemoteConfigState;
  readonly #onConnected = (info: ConnectedInfo) => void this.#connected(info);
  readonly #onMessage = (message: IncomingMessage) => {
    // Whatever a desired message does, the queue goes on and nothing escapes as an unhandled rejection.
    this.#queue = this.#queue.then(() => this.#desired(message.payload)).catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "handling a desired config failed"));
  };
  #queue: Promise<void> = Promise.resolve();
  #unroute: (() => void) | undefined;
  #phase: ConfigReported["state"];
  #graceTimer: NodeJS.Timeout | undefined;
  #cancelIdleWait: (() => void) | undefined;
  /** Version of the desired message last taken (applied, or skipped as settled): what a reset leaves alone. */
  #retainedVersion: number | null = null;

  constructor(options: ConfigServiceOptions) {
    this.#options = options;
    this.#log = options.ctx.log.child({ ns: "config" });
    this.#state = options.state;
    this.#phase = options.state.trial ? "trial" : "applied";
  }

  start(): void {
    const { broker, routes, topics, ctx } = this.#options;
    broker.on("connected", this.#onConnected);
    this.#unroute = routes.route(topics.configDesired, this.#onMessage);
    if (this.#state.trial) {
      const graceSec = ctx.config.management.configGraceSec;
      this.#graceTimer = setTimeout(() => void this.#undoTrial(`the broker was not reached within ${graceSec} s`), graceSec * 1000);
    }
  }

  /** Where the remote config stands, for the summary: the version run, its phase, the last refused version. */
  standing(): { version: number; state: ConfigReported["state"]; refusedVersion: number | null } {
    return { version: this.#state.applied.version, state: this.#phase, refusedVersion: this.#state.lastError?.version ?? null };
  }

  async stop(): Promise<void> {
    clearTimeout(this.#graceTimer);
    this.#cancelIdleWait?.();
    this.#options.broker.off("connected", this.#onConnected);
    this.#unroute?.();
    await this.#queue;
  }

  async #connected(_info: ConnectedInfo): Promise<void> {
    if (this.#state.trial) {
      // Back up on the new config and talking to the broker: it is the new known good.
      clearTimeout(this.#graceTimer);
      this.#state.trial = null;
      this.#phase = "applied";
      await this.#save();
      this.#log.info({ version: this.#state.applied.version }, "remote config confirmed after restart");
    }
    await this.#report();
  }

  async #desired(payload: Buffer): Promise<void> {
    if (payload.length === 0) {
      this.#retainedVersion = null; // the retained desired config was cleared
      return;
    }
    const parsedJson = parseRemoteJson(payload, { maxBytes: this.#options.ctx.config.mqtt.maxPayloadBytes });
    if (!parsedJson.ok) return this.#reject(null, [`(payload): ${parsedJson.message}`]);
    const json = parsedJson.value;
    const claimed = VERSION_ONLY.safeParse(json);
    const version = claimed.success ? (claimed.data.version ?? null) : null;
    const parsed = desiredConfigSchema.safeParse(json);
    if (!parsed.success) return this.#reject(version, formatIssues(parsed.error.issues, new Map()));
    const desired = parsed.data;
    // Applied, undone, or retained at a reset already: the retained message comes back on every
    // reconnect. A refused version is not remembered: it is refused again, and a later valid
    // version (even a lower one) is taken (issue 14, item 4).
    const settled = Math.max(this.#state.applied.version, this.#state.skipUpTo ?? 0);
    if (desired.version <= settled) {
      this.#retainedVersion = desired.version;
      return;
    }
    this.#retainedVersion = null;

    const newLayer = (desired.config ?? mergePatch(this.#state.applied.layer, desired.patch)) as JsonObject;
    const forbidden = this.#forbiddenKeys(newLayer, desired.allowBootstrap);
    if (forbidden.length > 0) return this.#reject(desired.version, forbidden);

    const resolved = await resolveLayered(this.#options.localRaw, newLayer, { env: this.#options.ctx.env, machineIdPath: this.#options.machineIdPath });
    if (!resolved.ok) return this.#reject(desired.version, resolved.errors);
    const outside = await policyViolations(resolved.config, this.#options.local);
    if (outside.length > 0) return this.#reject(desired.version, outside);

    const changed = changedKeys(this.#options.ctx.config as unknown as JsonObject, resolved.config as unknown as JsonObject);
    const previous = this.#state.applied;
    this.#state.applied = { version: desired.version, layer: newLayer, appliedAt: new Date().toISOString() };
    this.#state.lastError = null;
    this.#retainedVersion = desired.version;
    if (!needsRestart(changed)) {
      try {
        await this.#options.applyLive(resolved.config, resolved.hash, changed);
        await this.#save();
        this.#log.info({ version: desired.version, changed }, "remote config applied live");
        return await this.#report();
      } catch (error) {
        // A watched camera is not rebuilt under its viewers: the change goes in by a restart once they leave.
        if (!(error instanceof TheaError && error.code === "consultation-live")) {
          this.#state.applied = previous;
          return this.#reject(desired.version, [`applying it failed: ${messageOf(error)}`]);
        }
      }
    }
    this.#state.trial = { previous, since: new Date().toISOString(), starts: 0 };
    await this.#save();
    this.#log.info({ version: desired.version, changed }, "remote config needs a restart");
    this.#restartWhenIdle(`config version ${desired.version}`);
  }

  /** `config.reset`: the technician's way back to the box's own file. */
  commands(): Command[] {
    return [
      defineCommand({
        name: "config.reset",
        // A retry must not run again: by then a newer layer may have arrived, and it would go too.
        sideEffects: true,
        description:
          "Drop the remote config layer and every remembered version; run on the box's own file. The desired message retained on the broker now is not applied again; a newer version is.",
        params: z.strictObject({}),
        run: () => {
          const done = this.#queue.then(() => this.#reset());
          this.#queue = done.then(
            () => undefined,
            () => undefined,
          );
          return done;
        },
      }),
    ];
  }

  async #reset(): Promise<ConfigResetAnswer> {
    const dropped = { version: this.#state.applied.version, keys: Object.keys(this.#state.applied.layer).sort() };
    clearTimeout(this.#graceTimer);
    this.#cancelIdleWait?.();
    this.#cancelIdleWait = undefined;
    const resolved = await resolveLayered(this.#options.localRaw, {}, { env: this.#options.ctx.env, machineIdPath: this.#options.machineIdPath });
    if (!resolved.ok) throw new TheaError("config-invalid", `the box's own file no longer validates: ${resolved.errors.join("; ")}`);
    const skipUpTo = this.#retainedVersion ?? 0;
    this.#state.applied = { version: 0, layer: {}, appliedAt: new Date().toISOString() };
    this.#state.trial = null;
    this.#state.lastError = null;
    this.#state.skipUpTo = skipUpTo;
    const changed = changedKeys(this.#options.ctx.config as unknown as JsonObject, resolved.config as unknown as JsonObject);
    await this.#save();
    this.#log.warn({ dropped, skipUpTo, changed }, "remote config reset; running on the box's own file");
    let restarting = needsRestart(changed);
    if (!restarting) {
      try {
        await this.#options.applyLive(resolved.config, resolved.hash, changed);
        this.#phase = "applied";
        await this.#report();
      } catch (error) {
        if (!(error instanceof TheaError && error.code === "consultation-live")) throw error;
        restarting = true;
      }
    }
    if (restarting) this.#restartWhenIdle("config.reset");
    return { dropped, skipUpTo, restarting };
  }

  /**
   * deviceId and mqtt only with both permissions; dataDir (the layer itself lives there) and
   * update (whose signatures the box trusts) never.
   */
  #forbiddenKeys(newLayer: JsonObject, allowBootstrap: boolean): string[] {
    const allowed = allowBootstrap && this.#options.local.management.allowRemoteBootstrap;
    const never = new Set(["dataDir", "update", "remotePolicy"]);
    return [...touchedBootstrapKeys(newLayer), ...(Object.hasOwn(newLayer, "remotePolicy") ? ["remotePolicy"] : [])]
      .filter((key) => never.has(key) || !allowed)
      .map((key) =>
        never.has(key)
          ? `${key}: cannot be set remotely`
          : `${key}: set by the box's own file; a remote change may touch it only with allowBootstrap and management.allowRemoteBootstrap in that file`,
      );
  }

  #restartWhenIdle(reason: string): void {
    const restart = () => {
      this.#phase = "restarting";
      void this.#report().finally(() => this.#options.ctx.lifecycle.restart(reason));
    };
    if (this.#options.consultations.live() === 0) return restart();
    this.#phase = "waiting-for-idle";
    void this.#report();
    this.#cancelIdleWait?.();
    this.#cancelIdleWait = this.#options.consultations.onceIdle(restart);
  }

  async #undoTrial(why: string): Promise<void> {
    if (!this.#state.trial) return;
    const version = this.#state.applied.version;
    revert(this.#state, new Date().toISOString(), why);
    await this.#save();
    this.#log.error({ version, why }, "remote config undone; restarting on the last known good");
    this.#options.ctx.lifecycle.restart(`config version ${version} undone`);
  }

  async #reject(version: number | null, errors: string[]): Promise<void> {
    this.#retainedVersion = null; // a refused message may be evaluated again: it is refused again
    const last = this.#state.lastError;
    // The same refused retained message, back with a reconnect: already said.
    if (last && last.version === version && JSON.stringify(last.errors) === JSON.stringify(errors)) return;
    this.#state.lastError = { version, at: new Date().toISOString(), errors };
    this.#log.warn({ version, errors }, "remote config refused; keeping the running one");
    await this.#save();
    await this.#report();
  }

  async #save(): Promise<void> {
    try {
      await this.#options.store.save(this.#state);
    } catch (error) {
      this.#log.error({ err: messageOf(error), file: this.#options.store.file }, "cannot save the remote config state");
    }
  }

  async #report(): Promise<void> {
    const { ctx, broker, topics } = this.#options;
    const reported: ConfigReported = {
      version: this.#state.applied.version,
      hash: ctx.configHash,
      appliedAt: this.#state.applied.appliedAt,
      state: this.#phase,
      config: redactSecrets(ctx.config),
      lastError: this.#state.lastError,
    };
    await publishJson(broker, topics.configReported, reported, { qos: 1, retain: true });
  }
}
