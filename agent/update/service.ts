/**
 * Signed software updates, LwM2M-like: `…/update/desired` (retained) names a signed manifest;
 * the agent verifies it, downloads (resuming), checks the digest, unpacks beside the running
 * release, waits for no consultation (or the maintenance window), switches `current`, and
 * restarts. Before any of that a manifest must be for this box (channel, device ids), unexpired
 * and not below the anti-rollback floor (admission.ts, floor.ts). The new version must reach the
 * broker and pass its health check within update.healthGraceSec to be committed; otherwise it
 * switches back itself — and if it cannot even start, the launcher of the last committed release
 * does (bin/thea-launch). Every step is recorded on disk first, so a power cut resumes where it
 * was. `…/update/state` (retained) says where it is.
 */
import { createHash } from "node:crypto";
import type { Service } from "../core/service.ts";
import { createReadStream } from "node:fs";
import { access, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { AgentContext } from "../core/context.ts";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { IncomingMessage, BrokerConnection } from "../mqtt/connection.ts";
import { publishJson } from "../mqtt/publish.ts";
import type { Routes } from "../mqtt/routes.ts";
import type { DeviceTopics } from "../core/topics.ts";
import { syncDir } from "../../lib/atomicFile.ts";
import { download } from "./download.ts";
import { admit } from "./admission.ts";
import { UnpackTooLargeError } from "./extract.ts";
import { FloorStore } from "./floor.ts";
import { InstallLayout } from "./layout.ts";
import { manifestFingerprint, verifyManifest, type Manifest } from "./manifest.ts";
import { inMaintenanceWindow } from "./window.ts";
import { TERMINAL, UpdateStore, type UpdateRecord, type UpdateResult, type UpdateStateName, type UpdateStatePayload } from "./state.ts";
import { parseRemoteJson } from "../../lib/remoteJson.ts";
import type { Consultations } from "../core/consultations.ts";

export interface UpdateServiceOptions {
  ctx: AgentContext;
  broker: BrokerConnection;
  /** Where `update/desired` comes from. */
  routes: Routes;
  topics: DeviceTopics;
  /** Installing waits for the last viewer to leave (or the maintenance window). */
  consultations: Consultations;
  /** The agent's own health check, run once the broker is reached on a new version. */
  healthCheck: () => Promise<void>;
  now?: () => Date;
}

/** How often a deferred update looks whether the maintenance window has opened. */
const WINDOW_CHECK_MS = 60_000;
/** How often a downgrade held for an unsynchronised clock looks again (the clock probe caches 60 s). */
const CLOCK_CHECK_MS = 60_000;

export class UpdateService implements Service {
  readonly #options: UpdateServiceOptions;
  readonly #log: Logger;
  readonly #store: UpdateStore;
  readonly #floorStore: FloorStore;
  #floor: string | undefined;
  /** A desired manifest waiting for the clock to be synchronised, and the timer that looks again. */
  #heldForClock: { payload: Buffer; timer: NodeJS.Timeout } | undefined;
  readonly #layout: InstallLayout;
  readonly #running: string;
  readonly #onMessage = (message: IncomingMessage) => {
    // One at a time, in order, like the config service: each refusal settles before the next looks.
    this.#queue = this.#queue.then(() => this.#desired(message.payload)).catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "handling a desired update failed"));
  };
  readonly #onConnected = () => void this.#connected();
  #queue: Promise<void> = Promise.resolve();
  #cancelIdleWait: (() => void) | undefined;
  #unroute: (() => void) | undefined;
  #record: UpdateRecord | undefined;
  #work: Promise<void> = Promise.resolve();
  /** A desired manifest that came while another was in progress; judged afresh once that one ends. */
  #pending: Buffer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /**
   * The bundle (by digest) already fetched again after the copy on disk did not match: a second
   * mismatch is the mirror's bundle, not this disk's, and settles the update.
   */
  #refetched: string | undefined;

  constructor(options: UpdateServiceOptions) {
    this.#options = options;
    this.#log = options.ctx.log.child({ ns: "update" });
    this.#store = new UpdateStore(options.ctx.config.dataDir);
    this.#floorStore = new FloorStore(options.ctx.config.dataDir);
    this.#layout = new InstallLayout(options.ctx.config.update.installRoot);
    this.#running = options.ctx.version;
  }

  /** A start that fails (its records unreadable) is logged: the agent serves on without updates. */
  async start(): Promise<void> {
    await this.#start().catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "update service did not start"));
  }

  async #start(): Promise<void> {
    const record = await this.#store.load();
    this.#record = record;
    this.#floor = await this.#floorStore.load().catch((error: unknown) => {
      // Failing closed: without its record the floor is at least what runs now.
      this.#log.error({ err: messageOf(error), floor: this.#running }, "cannot read the anti-rollback floor; using the running version");
      return this.#running;
    });
    const rolledBack = await this.#layout.takeRolledBack().catch(() => undefined);
    if (rolledBack && record.target?.version === rolledBack.version) {
      await this.#finish("rolled-back", "crash-loop", `version ${rolledBack.version} did not come up (${rolledBack.starts} starts); back on ${this.#running}`);
    } else if (record.state === "restarting" || record.state === "verifying-health") {
      await this.#resumeAfterRestart(record);
    } else if (record.target && !TERMINAL.has(record.state)) {
      this.#run(record.target); // a power cut mid-way: carry on from the recorded step
    }
    const { broker, routes, topics } = this.#options;
    broker.on("connected", this.#onConnected);
    this.#unroute = routes.route(topics.updateDesired, this.#onMessage);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#heldForClock?.timer);
    this.#cancelIdleWait?.();
    this.#unroute?.();
    this.#options.broker.off("connected", this.#onConnected);
  }

  async #resumeAfterRestart(record: UpdateRecord): Promise<void> {
    const target = record.target;
    if (!target) return;
    if (target.version !== this.#running) {
      // Stopped before the switch took effect: the old release is still current. Try again.
      await this.#layout.endTrial();
      await this.#set("installing", { reason: "the restart onto the new version was interrupted; retrying" });
      this.#run(target);
      return;
    }
    await this.#set("verifying-health", { reason: `up on ${this.#running}; waiting for the broker and the health check` });
    const graceSec = this.#options.ctx.config.update.healthGraceSec;
    this.#timer = setTimeout(() => void this.#rollBack(`the broker was not reached within ${graceSec} s`), graceSec * 1000);
  }

  async #connected(): Promise<void> {
    if (this.#record?.state === "verifying-health" && this.#record.target?.version === this.#running) {
      await this.#report(); // reached the broker: say so before checking the rest
      try {
        await this.#options.healthCheck();
      } catch (error) {
        return this.#rollBack(`the health check failed: ${messageOf(error)}`);
      }
      clearTimeout(this.#timer);
      return this.#commit(); // which reports
    }
    await this.#report();
  }

  async #commit(): Promise<void> {
    const previous = this.#record?.previous;
    await this.#layout.endTrial();
    if (previous) await this.#layout.link("previous", `releases/${previous}`);
    await this.#layout.link("launch", `releases/${this.#running}/bin/thea-launch`);
    await this.#layout.prune().catch((error: unknown) => this.#log.warn({ err: messageOf(error) }, "cannot remove old releases"));
    this.#floor = await this.#floorStore.raise(this.#floor, this.#running, this.#now()).catch((error: unknown) => {
      // The commit stands; the floor on disk stays where it was until the next commit writes it.
      this.#log.error({ err: messageOf(error), version: this.#running }, "cannot raise the anti-rollback floor");
      return this.#floor;
    });
    await this.#finish("committed", "ok", `running ${this.#running}`);
    this.#log.info({ version: this.#running }, "update committed");
  }

  async #rollBack(why: string): Promise<void> {
    const previous = this.#record?.previous;
    if (!previous || this.#record?.state !== "verifying-health") return;
    this.#log.error({ version: this.#running, previous, why }, "update failed its health check; rolling back");
    await this.#layout.link("current", `releases/${previous}`);
    await this.#layout.endTrial();
    await this.#finish("rolled-back", "health-check-failed", `version ${this.#running}: ${why}; back to ${previous}`);
    this.#options.ctx.lifecycle.restart(`update ${this.#running} rolled back`);
  }

  async #desired(payload: Buffer): Promise<void> {
    clearTimeout(this.#heldForClock?.timer);
    this.#heldForClock = undefined;
    if (payload.length === 0) return;
    const parsedJson = parseRemoteJson(payload, { maxBytes: this.#options.ctx.config.mqtt.maxPayloadBytes });
    if (!parsedJson.ok) return this.#refuse(null, "bad-manifest", `update/desired: ${parsedJson.message}`);
    const json = parsedJson.value;
    const verified = verifyManifest(json, this.#options.ctx.config.update.trustedKeys);
    if (!verified.ok) return this.#refuse(null, verified.code, verified.reason);
    const manifest = verified.manifest;
    const record = this.#record;
    if (!record) return;
    // The retained desired manifest comes back on every reconnect: only news is acted on.
    const known =
      record.settled.includes(manifest.sha256) || record.settled.includes(manifestFingerprint(manifest))
        ? "already finished with"
        : record.target?.sha256 === manifest.sha256 && !TERMINAL.has(record.state)
          ? "already in progress"
          : manifest.version === this.#running
            ? "already running"
            : undefined;
    if (known) {
      this.#log.debug({ version: manifest.version, known }, "desired update ignored");
      return;
    }
    const { config } = this.#options.ctx;
    const admission = admit(manifest, {
      deviceId: config.deviceId,
      channel: config.update.channel,
      running: this.#running,
      floor: this.#floor,
      now: this.#now(),
      clockSynchronized: await this.#options.ctx.clockSynchronized(),
    });
    if (!admission.ok) {
      if (admission.result === "clock-unsynchronized") this.#holdForClock(payload);
      return this.#refuse(manifest, admission.result, admission.reason, admission.settle);
    }
    const maxBytes = config.update.maxBundleMegabytes * 1024 * 1024;
    if (manifest.size > maxBytes) return this.#refuse(manifest, "too-large", `the bundle is ${manifest.size} bytes; update.maxBundleMegabytes allows ${maxBytes}`);
    if (!TERMINAL.has(record.state)) {
      this.#pending = payload; // after the one in progress
      return;
    }
    record.target = manifest;
    record.previous = null;
    await this.#set("downloading", { progress: 0, result: null, reason: null });
    this.#run(manifest);
  }

  #holdForClock(payload: Buffer): void {
    const timer = setTimeout(() => {
      if (this.#heldForClock?.payload !== payload || this.#stopped) return;
      this.#queue = this.#queue.then(() => this.#desired(payload)).catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "handling a desired update failed"));
    }, CLOCK_CHECK_MS);
    timer.unref();
    this.#heldForClock = { payload, timer };
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  #run(manifest: Manifest): void {
    this.#work = this.#work.then(() => this.#pipeline(manifest)).catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "update step failed"));
  }

  async #pipeline(manifest: Manifest): Promise<void> {
    const bundle = path.join(this.#store.dir, `${manifest.sha256}.tar.gz`);
    const state = () => this.#record?.state;
    let verified = false;
    if (state() === "downloading" && (await sha256Of(bundle).catch(() => undefined)) === manifest.sha256) {
      // The bundle's rename survived a power cut, the state saved after it did not: it is whole.
      this.#log.info({ version: manifest.version }, "the bundle was downloaded already");
      verified = true;
      await this.#set("installing", { progress: null });
    }
    if (state() === "downloading") {
      await rm(bundle, { force: true }); // whatever lies there is not the bundle
      const failure = await this.#download(manifest, bundle);
      if (failure) return this.#finishWith(manifest, bundle, "failed", "download-failed", failure);
      await this.#set("downloaded", { progress: 100 });
    }
    if (state() === "downloaded" || state() === "verifying") {
      await this.#set("verifying");
      const digest = await sha256Of(bundle).catch(() => "unreadable");
      if (digest !== manifest.sha256) return this.#mismatch(manifest, bundle, `the bundle's SHA-256 is ${digest}, the manifest says ${manifest.sha256}`);
      verified = true;
      await this.#set("installing");
    }
    if (state() === "installing") {
      // Unpacked already if a restart onto it was interrupted (the bundle is gone by then).
      const unpacked = await this.#layout.hasRelease(manifest.version);
      const bundleLeft = await access(bundle).then(() => true, () => false);
      // Resumed after a power cut or restart: what lies on the disk now is checked again, not trusted.
      const digest = bundleLeft && !verified ? await sha256Of(bundle).catch(() => "unreadable") : manifest.sha256;
      if (digest !== manifest.sha256) return this.#mismatch(manifest, bundle, `on resuming the install, the bundle's SHA-256 is ${digest}, the manifest says ${manifest.sha256}`);
      // Neither the bundle nor its release: the disk lost what a saved state said was there.
      if (!bundleLeft && !unpacked) return this.#mismatch(manifest, bundle, "on resuming the install, neither the bundle nor its unpacked release is on the disk");
      if (bundleLeft) {
        try {
          await this.#layout.unpack(bundle, manifest.version, this.#options.ctx.config.update.maxUnpackedMegabytes * 1024 * 1024);
        } catch (error) {
          return this.#finishWith(manifest, bundle, "failed", error instanceof UnpackTooLargeError ? "unpacked-too-large" : "install-failed", messageOf(error));
        }
      }
      await rm(bundle, { force: true });
    }
    if (state() === "installing" || state() === "deferred") await this.#restartWhenAllowed(manifest);
  }

  async #download(manifest: Manifest, file: string): Promise<string | undefined> {
    const attempts = this.#options.ctx.config.update.downloadAttempts;
    let lastReported = 0;
    for (let attempt = 1; attempt <= attempts && !this.#stopped; attempt++) {
      try {
        await download({
          url: manifest.url,
          file: `${file}.part`,
          size: manifest.size,
          onProgress: (received) => {
            const percent = Math.floor((received / manifest.size) * 100);
            if (percent < lastReported + 5 || !this.#record) return;
            // Progress is only reported: a resumed download finds where it was from the partial file.
            lastReported = percent;
            this.#record.progress = percent;
            void this.#report();
          },
        });
        await rename(`${file}.part`, file);
        // The state saved next says the bundle is there: the rename must be on the disk first.
        await syncDir(path.dirname(file));
        return undefined;
      } catch (error) {
        this.#log.warn({ attempt, err: messageOf(error) }, "bundle download interrupted");
        if (attempt === attempts) return `${messageOf(error)} (after ${attempts} attempts)`;
        await this.#set("downloading", { reason: `retrying: ${messageOf(error)}` });
        await new Promise((resolve) => setTimeout(resolve, Math.min(300_000, 1000 * 2 ** (attempt - 1))));
      }
    }
    return "stopped";
  }

  async #restartWhenAllowed(manifest: Manifest): Promise<void> {
    const live = this.#options.consultations.live();
    if (live > 0 && !manifest.force && !inMaintenanceWindow(this.#options.ctx.config.update.maintenanceWindow, this.#options.now?.() ?? new Date())) {
      await this.#set("deferred", { reason: `${live} viewer session(s) live; installs when they end${this.#windowText()}` });
      // Whichever comes first: the last viewer leaving, or (with a window) a look at the clock.
      const resume = () => {
        clearTimeout(this.#timer);
        this.#cancelIdleWait?.();
        this.#cancelIdleWait = undefined;
        this.#run(manifest);
      };
      this.#cancelIdleWait = this.#options.consultations.onceIdle(resume);
      if (this.#options.ctx.config.update.maintenanceWindow) this.#timer = setTimeout(resume, WINDOW_CHECK_MS);
      return;
    }
    if (this.#record) this.#record.previous = this.#running;
    await this.#set("restarting", { reason: `switching from ${this.#running} to ${manifest.version}` });
    await this.#layout.startTrial(manifest.version, this.#running);
    await this.#layout.link("current", `releases/${manifest.version}`);
    this.#options.ctx.lifecycle.restart(`update to ${manifest.version}`);
  }

  #windowText(): string {
    const window = this.#options.ctx.config.update.maintenanceWindow;
    return window ? ` or in the maintenance window ${window.start}–${window.end}` : "";
  }

  /** `settle: false`: the refusal depends on this box's situation, so a later delivery is looked at again. */
  async #refuse(manifest: Manifest | null, result: UpdateResult, reason: string, settle = true): Promise<void> {
    this.#log.warn({ version: manifest?.version, result, reason }, "update refused");
    const record = this.#record;
    if (!record || !TERMINAL.has(record.state)) return; // the one in progress carries on; the log says why this one did not
    if (manifest) record.target = manifest;
    // Refused for what the manifest says, not for its bundle: another manifest for the same bundle
    // (a signed downgrade after a refused upgrade, say) is still judged on its own.
    await this.#finish("failed", result, reason, settle && manifest ? manifestFingerprint(manifest) : null);
  }

  /**
   * A bundle on the disk that is not the one downloaded (a power cut, a bad sector, a state saved
   * before its bytes) is fetched once more rather than settling the update for good; a second
   * mismatch is the mirror's and settles it as `digest-mismatch`.
   */
  async #mismatch(manifest: Manifest, bundle: string, why: string): Promise<void> {
    if (this.#refetched === manifest.sha256) return this.#finishWith(manifest, bundle, "failed", "digest-mismatch", why);
    this.#refetched = manifest.sha256;
    this.#log.warn({ version: manifest.version, why }, "the bundle on the disk does not match; downloading it once more");
    await rm(bundle, { force: true });
    await rm(`${bundle}.part`, { force: true });
    await this.#set("downloading", { progress: 0, reason: `${why}; downloading it once more` });
    return this.#pipeline(manifest);
  }

  async #finishWith(manifest: Manifest, bundle: string, state: UpdateStateName, result: UpdateResult, reason: string): Promise<void> {
    await rm(bundle, { force: true });
    await rm(`${bundle}.part`, { force: true });
    this.#log.warn({ version: manifest.version, result, reason }, "update failed");
    await this.#finish(state, result, reason);
  }

  /** `settled`: what is never tried again; by default the bundle's digest (null: nothing). */
  async #finish(state: UpdateStateName, result: UpdateResult, reason: string, settled: string | null | undefined = this.#record?.target?.sha256): Promise<void> {
    const record = this.#record;
    if (record && settled && !record.settled.includes(settled)) record.settled = [...record.settled, settled].slice(-20);
    await this.#set(state, { result, reason, progress: null });
    const next = this.#pending;
    this.#pending = undefined;
    // Judged again, not started as it was: the floor may have risen or its expiry passed meanwhile.
    if (next) this.#queue = this.#queue.then(() => this.#desired(next)).catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "handling a desired update failed"));
  }

  async #set(state: UpdateStateName, changes: Partial<Pick<UpdateRecord, "progress" | "result" | "reason">> = {}): Promise<void> {
    const record = this.#record;
    if (!record) return;
    if (record.state !== state) record.since = this.#now().toISOString();
    Object.assign(record, { state }, changes);
    await this.#store.save(record).catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "cannot save the update state"));
    await this.#report();
  }

  async #report(): Promise<void> {
    const record = this.#record;
    if (!record) return;
    const payload: UpdateStatePayload = {
      state: record.state,
      version: record.target?.version ?? null,
      runningVersion: this.#running,
      floor: this.#floor ?? null,
      progress: record.progress,
      result: record.result,
      reason: record.reason,
      since: record.since,
    };
    await publishJson(this.#options.broker, this.#options.topics.updateState, payload, { qos: 1, retain: true });
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
