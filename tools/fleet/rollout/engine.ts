/**
 * RolloutEngine: carries out stored rollouts over a BoxLink. The canary first, then batch after
 * batch, each once every box of the one before is settled; halts by itself past the failure
 * threshold, leaving the boxes not yet sent untouched; pause, resume, abort.
 *
 * Write-ahead: a box is stored `sending` before its desired state is published, and `sent` once
 * the broker has it. After a crash, a `sending` box is published again only if the broker's
 * retained desired state is not already this rollout's (publishing is idempotent anyway: the
 * message is retained and a box ignores one it has acted on), and a box already settled is never
 * sent again. Every change goes through one queue, so a report, a deadline and a technician's
 * pause never interleave halfway.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../../../lib/log.ts";
import { messageOf } from "../../../lib/messageOf.ts";
import type { BoxReport, ReportKind } from "../types/boxLink.ts";
import type { RolloutLink, RolloutView } from "./ports.ts";
import { totalsOf, type RolloutBox, type RolloutPlan, type RolloutRecord, type RolloutReport, type RolloutSpec, type RolloutStatus, type RolloutTotals } from "./model.ts";
import { meaningOf } from "./outcome.ts";
import { afterDeadline, afterReport, busyIn, isLive, nextStep } from "./progress.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { RolloutStore } from "./store.ts";

export interface RolloutEngineOptions {
  store: RolloutStore;
  /** The fleet service's BoxLink (../types/boxLink.ts). */
  link: RolloutLink;
  /** Whether a box is online now (for a box that reached its deadline without a word). */
  view: Pick<RolloutView, "box">;
  clock?: Clock;
  /** How often deadlines are looked at and failed publishes tried again (default 1 s). */
  tickMs?: number;
  log?: Logger;
}

export type Control = "pause" | "resume" | "abort";

/** A rollout's status and counts, read at once without the store (for /metrics). */
export interface RolloutProgressLine {
  id: string;
  createdAt: string;
  status: RolloutStatus;
  totals: RolloutTotals;
}

/**
 * Rollouts that ended under this engine, kept in memory for progress(): one that completes
 * between two scrapes still shows its end once; past this many, the oldest goes.
 */
const RECENTLY_ENDED = 10;

interface Live {
  rollout: RolloutRecord;
  boxes: Map<string, RolloutBox>;
  /**
   * Boxes whose report changed them since the last write. A box's report is the box's own retained
   * message, read again after a restart, so it is written with the next write or tick (a second
   * at most) rather than one transaction each: a chatty or hostile box costs no fsync per message.
   */
  dirty: Set<string>;
}

export class RolloutEngine {
  readonly #options: RolloutEngineOptions;
  readonly #clock: Clock;
  /** Rollouts with something still to send or to follow, by id. */
  readonly #live = new Map<string, Live>();
  #queue: Promise<unknown> = Promise.resolve();
  #stops: Array<() => void | Promise<void>> = [];
  #started = false;
  /** The unfinished rollouts read from the store: a pause or abort asked before the broker is reached waits for it. */
  #loaded: Promise<void> = Promise.resolve();
  #stopped = false;
  /** The last RECENTLY_ENDED rollouts that left #live, oldest first. */
  readonly #ended: RolloutProgressLine[] = [];

  constructor(options: RolloutEngineOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Loads the rollouts a previous run left unfinished, waits for the link to reach the broker,
   * follows the boxes' reports and takes those rollouts up. Until then `started` is false and no
   * rollout can be created (serve.ts does not wait for this: the page serves without a broker).
   */
  async start(): Promise<void> {
    this.#loaded = this.#load();
    await this.#loaded;
    while (!(await this.#follow())) {
      if (this.#stopped) return;
    }
    if (this.#stopped) return;
    this.#stops.push(this.#clock.every(this.#options.tickMs ?? 1000, () => void this.#serially(() => this.#tick())));
    await this.#serially(() => this.#resume());
    this.#started = true;
    this.#options.log?.info({ live: this.#live.size }, "rollouts following the boxes");
  }

  async #load(): Promise<void> {
    for (const rollout of await this.#options.store.list()) {
      const kept = await this.#options.store.get(rollout.id);
      if (kept && isLive(kept.rollout, kept.boxes)) this.#live.set(rollout.id, { rollout: kept.rollout, boxes: new Map(kept.boxes.map((box) => [box.deviceId, box])), dirty: new Set() });
    }
  }

  /** Whether the engine follows the boxes and may start a rollout. */
  get started(): boolean {
    return this.#started;
  }

  /** Follows both kinds of report once the link is ready; false (to try again) when the link dropped meanwhile. */
  async #follow(): Promise<boolean> {
    await this.#options.link.ready?.();
    if (this.#stopped) return true;
    const unfollows: Array<() => Promise<void>> = [];
    try {
      for (const kind of ["update", "config"] as const) unfollows.push(await this.#options.link.follow(kind, (report) => void this.#serially(() => this.#onReport(report))));
    } catch (error) {
      for (const unfollow of unfollows) await unfollow().catch(() => undefined);
      if (!this.#options.link.ready) throw error;
      this.#options.log?.warn({ err: messageOf(error) }, "cannot follow the boxes' reports yet; waiting for the broker");
      return false;
    }
    this.#stops.push(...unfollows);
    return true;
  }

  async stop(): Promise<void> {
    await this.#halt();
    await this.#serially(async () => {
      for (const live of this.#live.values()) if (live.dirty.size > 0) await this.#save(live, []);
    });
  }

  /**
   * Stops without writing what it holds: another instance drives these rollouts now (shared.ts),
   * and an older copy written over its newer one would take the rollout back. A publish under
   * way ends with the box it is at, and writes the boxes it did publish as `sent` (true, and what
   * the new driver must know); the rest stay `sending` for the new driver.
   */
  async abandon(): Promise<void> {
    await this.#halt();
    await this.idle();
  }

  async #halt(): Promise<void> {
    this.#stopped = true;
    for (const stop of this.#stops.splice(0).reverse()) await stop();
  }

  /** Resolves once every report, tick and request received so far has been handled. */
  async idle(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.#queue) {
      seen = this.#queue;
      await seen;
    }
  }

  /** Boxes of `kind` that a live rollout still has to send or is waiting on: a second rollout must not touch them. */
  busyBoxes(kind: ReportKind): Set<string> {
    return busyIn([...this.#live.values()].map(({ rollout, boxes }) => ({ rollout, boxes: [...boxes.values()] })), kind);
  }

  /** Stores a new rollout from its plan and starts it (the canary is sent before this resolves). */
  create(spec: RolloutSpec, plan: RolloutPlan, createdBy: string | null): Promise<RolloutRecord> {
    return this.#serially(async () => {
      const now = this.#iso();
      const rollout: RolloutRecord = {
        id: `${now.slice(0, 10)}-${randomBytes(4).toString("hex")}`,
        createdBy,
        createdAt: now,
        updatedAt: now,
        status: "running",
        statusReason: null,
        spec,
        kind: plan.kind,
        target: plan.target,
        payload: plan.payload,
        batches: plan.batches,
        currentBatch: -1,
        skipped: plan.skipped,
      };
      const boxes: RolloutBox[] = plan.boxes.map((planned) => ({
        ...planned,
        state: "pending",
        sentAt: null,
        deadlineAt: null,
        lastReport: null,
        result: null,
        reason: null,
        settledAt: null,
      }));
      await this.#options.store.create(rollout, boxes);
      const live: Live = { rollout, boxes: new Map(boxes.map((box) => [box.deviceId, box])), dirty: new Set() };
      this.#live.set(rollout.id, live);
      this.#options.log?.info({ rollout: rollout.id, kind: rollout.kind, target: rollout.target, boxes: boxes.length, batches: rollout.batches, by: createdBy }, "rollout created");
      await this.#advance(live);
      return structuredClone(live.rollout);
    });
  }

  /** Pauses, resumes or aborts; answers the rollout, or why not. */
  control(id: string, action: Control, by: string | null): Promise<RolloutRecord | { error: string; status: 404 | 409 }> {
    return this.#serially(async () => {
      await this.#loaded;
      const live = this.#live.get(id);
      const status = live?.rollout.status;
      if (!live || status === undefined) {
        const kept = await this.#options.store.get(id);
        return kept ? { status: 409 as const, error: `rollout ${id} has ended (${kept.rollout.status})` } : { status: 404 as const, error: `no rollout ${id}` };
      }
      const allowed = action === "pause" ? status === "running" : action === "resume" ? status === "paused" : status === "running" || status === "paused";
      if (!allowed) return { status: 409 as const, error: `rollout ${id} is ${status}: it cannot be ${action === "abort" ? "aborted" : `${action}d`}` };
      const next = action === "pause" ? "paused" : action === "resume" ? "running" : "aborted";
      live.rollout = { ...live.rollout, status: next, statusReason: `${action}${action === "abort" ? "ed" : "d"} by ${by ?? "the API"}`, updatedAt: this.#iso() };
      await this.#save(live, []);
      this.#options.log?.info({ rollout: id, action, by }, "rollout controlled");
      await this.#advance(live);
      return structuredClone(live.rollout);
    });
  }

  /** A rollout's report: its record, per box its state and why, totals (a live one as the engine has it now). */
  async report(id: string): Promise<RolloutReport | undefined> {
    const live = this.#live.get(id);
    if (live) {
      const boxes = [...live.boxes.values()].sort((a, b) => a.batch - b.batch || (a.deviceId < b.deviceId ? -1 : 1));
      return structuredClone({ rollout: live.rollout, totals: totalsOf(boxes, live.rollout.skipped.length), boxes });
    }
    const kept = await this.#options.store.get(id);
    return kept && { rollout: kept.rollout, totals: totalsOf(kept.boxes, kept.rollout.skipped.length), boxes: kept.boxes };
  }

  /** The newest `limit` rollouts' reports. */
  async list(limit: number): Promise<RolloutReport[]> {
    const reports: RolloutReport[] = [];
    for (const rollout of (await this.#options.store.list()).slice(0, limit)) {
      const report = await this.report(rollout.id);
      if (report) reports.push(report);
    }
    return reports;
  }

  /** The rollouts followed now and the last few that ended here, newest first; synchronous, so a scrape never waits for the store. */
  progress(): RolloutProgressLine[] {
    const live = [...this.#live.values()].map(({ rollout, boxes }) => progressLineOf(rollout, [...boxes.values()]));
    return [...live, ...this.#ended.filter((ended) => !this.#live.has(ended.id))].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  /** Rollouts running, paused, or with boxes still being followed. */
  get live(): number {
    return this.#live.size;
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch((error: unknown) => this.#options.log?.error({ err: messageOf(error) }, "a rollout step failed"));
    return run;
  }

  /** After a restart: boxes written `sending` are published unless the broker has it; sent ones read their report once. */
  async #resume(): Promise<void> {
    for (const live of this.#live.values()) {
      const { kind, payload } = live.rollout;
      const sending = [...live.boxes.values()].filter((box) => box.state === "sending");
      const already = new Set<string>();
      await inChunks(sending, async (box) => {
        if ((await this.#options.link.desired(box.deviceId, kind)) === payload) already.add(box.deviceId);
      });
      const sent = [...live.boxes.values()].filter((box) => box.state === "sent").length;
      this.#options.log?.info({ rollout: live.rollout.id, status: live.rollout.status, sending: sending.length, alreadyPublished: already.size, sent }, "rollout taken up after a restart");
      await this.#publish(live, sending, already);
      const reports: BoxReport[] = [];
      await inChunks([...live.boxes.values()].filter((box) => box.state === "sent"), async (box) => {
        const report = await this.#options.link.reported(box.deviceId, kind);
        if (report) reports.push(report);
      });
      for (const report of reports) await this.#onReport(report);
      await this.#advance(live);
    }
  }

  async #onReport(report: BoxReport): Promise<void> {
    for (const live of this.#live.values()) {
      if (live.rollout.kind !== report.kind) continue;
      const box = live.boxes.get(report.deviceId);
      if (!box) continue;
      const changed = afterReport(box, meaningOf(report, live.rollout.target), this.#iso());
      if (!changed) continue;
      live.boxes.set(changed.deviceId, changed);
      live.dirty.add(changed.deviceId);
      if (changed.state === "failed" && box.state !== "failed") this.#options.log?.warn({ rollout: live.rollout.id, deviceId: box.deviceId, result: changed.result, reason: changed.reason }, "a box failed the rollout");
      await this.#advance(live);
    }
  }

  async #tick(): Promise<void> {
    const now = this.#clock.now();
    for (const live of [...this.#live.values()]) {
      if (live.dirty.size > 0) await this.#save(live, []);
      const expired = [...live.boxes.values()]
        .filter((box) => box.state === "sent" && box.deadlineAt !== null && Date.parse(box.deadlineAt) <= now)
        .map((box) => afterDeadline(box, this.#options.view.box(box.deviceId)?.online ?? false, this.#iso()));
      if (expired.length > 0) await this.#save(live, expired);
      // A publish the link refused (the broker was away) is tried again.
      const unpublished = [...live.boxes.values()].filter((box) => box.state === "sending");
      if (unpublished.length > 0) await this.#publish(live, unpublished, new Set());
      if (expired.length > 0 || unpublished.length > 0) await this.#advance(live);
    }
  }

  /** Takes every step the rollout's state allows now: halt, send the next batch, complete. */
  async #advance(live: Live): Promise<void> {
    for (;;) {
      const step = nextStep(live.rollout, [...live.boxes.values()]);
      if (step.kind === "wait") break;
      if (step.kind === "send") {
        await this.#sendBatch(live, step.batch);
        continue;
      }
      const status = step.kind === "halt" ? "halted" : "completed";
      live.rollout = { ...live.rollout, status, statusReason: step.kind === "halt" ? step.reason : null, updatedAt: this.#iso() };
      await this.#save(live, []);
      const totals = totalsOf([...live.boxes.values()], live.rollout.skipped.length);
      const fields = { rollout: live.rollout.id, status, reason: live.rollout.statusReason, ...totals };
      if (status === "halted") this.#options.log?.warn(fields, "rollout halted");
      else this.#options.log?.info(fields, "rollout completed");
      break;
    }
    if (isLive(live.rollout, [...live.boxes.values()])) return;
    // Its last outcomes are written before it leaves memory, where reports about it end.
    if (live.dirty.size > 0) await this.#save(live, []);
    this.#live.delete(live.rollout.id);
    this.#ended.push(progressLineOf(live.rollout, [...live.boxes.values()]));
    if (this.#ended.length > RECENTLY_ENDED) this.#ended.shift();
  }

  async #sendBatch(live: Live, batch: number): Promise<void> {
    const boxes = [...live.boxes.values()].filter((box) => box.batch === batch && box.state === "pending").map((box): RolloutBox => ({ ...box, state: "sending" }));
    live.rollout = { ...live.rollout, currentBatch: batch, updatedAt: this.#iso() };
    // Written before anything is published: a crash from here on finds these boxes `sending`.
    await this.#save(live, boxes);
    this.#options.log?.info({ rollout: live.rollout.id, batch, boxes: boxes.length }, batch === 0 ? "rollout: canary sent" : "rollout: batch sent");
    await this.#publish(live, boxes, new Set());
  }

  /**
   * Publishes to `boxes` (skipping those in `already`, which the broker has), then stores each that
   * the broker took as `sent`; in a rollout that has ended, one the broker does not have goes back
   * to `pending`.
   */
  async #publish(live: Live, boxes: readonly RolloutBox[], already: ReadonlySet<string>): Promise<void> {
    const { kind, payload, spec } = live.rollout;
    const sent: RolloutBox[] = [];
    const ended = live.rollout.status === "halted" || live.rollout.status === "aborted";
    for (const box of boxes) {
      // Stopped (another instance may drive now): what is left stays `sending`, for whoever takes the rollout up.
      if (this.#stopped) break;
      // Halted or aborted while this box's publish had failed (or the service died before it):
      // the broker does not have it, so it was never sent, and stays untouched.
      if (ended && !already.has(box.deviceId)) {
        sent.push({ ...box, state: "pending" });
        continue;
      }
      try {
        if (!already.has(box.deviceId)) await this.#options.link.setDesired(box.deviceId, kind, payload);
      } catch (error) {
        this.#options.log?.warn({ rollout: live.rollout.id, deviceId: box.deviceId, err: messageOf(error) }, "could not publish to a box; trying again");
        continue;
      }
      const now = this.#clock.now();
      // A report may have settled it meanwhile: only the time it was sent is added then.
      const current = live.boxes.get(box.deviceId) ?? box;
      const state = current.state === "sending" ? "sent" : current.state;
      sent.push({ ...current, state, sentAt: new Date(now).toISOString(), deadlineAt: new Date(now + spec.boxDeadlineMs).toISOString() });
    }
    if (sent.length > 0) await this.#save(live, sent);
  }

  /** Writes the rollout, `boxes`, and the boxes reports changed meanwhile, in one transaction; then keeps `boxes`. */
  async #save(live: Live, boxes: readonly RolloutBox[]): Promise<void> {
    live.rollout = { ...live.rollout, updatedAt: this.#iso() };
    const given = new Set(boxes.map((box) => box.deviceId));
    const reported = [...live.dirty].filter((deviceId) => !given.has(deviceId)).flatMap((deviceId) => live.boxes.get(deviceId) ?? []);
    await this.#options.store.update(live.rollout, [...reported, ...boxes]);
    live.dirty.clear();
    for (const box of boxes) live.boxes.set(box.deviceId, box);
  }

  #iso(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

function progressLineOf(rollout: RolloutRecord, boxes: readonly RolloutBox[]): RolloutProgressLine {
  return { id: rollout.id, createdAt: rollout.createdAt, status: rollout.status, totals: totalsOf(boxes, rollout.skipped.length) };
}

/**
 * Runs `work` over `items`, RETAINED_READS at a time: a read of a topic holding nothing waits out
 * the link's grace (a second, mqttBoxLink.ts), so a batch of 50 read one by one would take 50 s,
 * and the link refuses more than 64 reads in flight.
 */
const RETAINED_READS = 32;
async function inChunks<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += RETAINED_READS) await Promise.all(items.slice(start, start + RETAINED_READS).map(work));
}
