/**
 * Rollouts when two instances share one PostgreSQL (docs/fleet.md, "Two instances"): exactly one
 * drives them, the one holding the store's driver lock. It runs the RolloutEngine (publishes,
 * follows the boxes' reports, applies pauses and aborts) and carries out the changes the other
 * asks of it. The other answers reads from the store, and passes each change (create, pause,
 * resume, abort) through the store to the driver, answering what the driver answered: a
 * technician gets the same answers from either page or API, whichever a proxy sends them to.
 *
 * The one that does not drive tries for the lock every `retryMs`: when the driver dies its
 * connection ends, the lock goes with it, and the other takes over, taking the rollouts up as
 * after a restart (engine.ts: a box written `sending` is published only if the broker does not
 * already have it, one `sent` or settled never again). The driver checks its lock as often, and
 * stops driving the moment it finds the connection gone (the other may hold the lock by then).
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "../../../lib/log.ts";
import { messageOf } from "../../../lib/messageOf.ts";
import type { ReportKind } from "../types/boxLink.ts";
import { MAX_LIVE_ROLLOUTS, type RolloutDesk } from "./api.ts";
import type { Control, RolloutEngine, RolloutProgressLine } from "./engine.ts";
import { totalsOf, type RolloutPlan, type RolloutRecord, type RolloutReport, type RolloutSpec } from "./model.ts";
import { busyIn, isLive } from "./progress.ts";
import type { DriverLock, RolloutAnswer, RolloutAsk, SharedRolloutStore } from "./store.ts";

export interface SharedRolloutsOptions {
  store: SharedRolloutStore;
  /** A new engine over `store` (one per turn as driver: a stopped engine does not start again). */
  newEngine: () => RolloutEngine;
  log?: Logger | undefined;
  /** How often the lock is tried for, or checked while held (default 3 s). */
  retryMs?: number;
  /** How often the driver looks for changes asked of it (default 500 ms). */
  pollMs?: number;
  /** How long a change asked of the driver waits to be taken (default 15 s). */
  answerWithinMs?: number;
}

type Outcome = RolloutRecord | { error: string; status: number };

export class SharedRollouts implements RolloutDesk {
  readonly #options: SharedRolloutsOptions;
  readonly #store: SharedRolloutStore;
  readonly #lock: DriverLock;
  #engine: RolloutEngine | undefined;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  /** One lock attempt or check, or one round of asks, at a time. */
  #turn: Promise<void> = Promise.resolve();
  #asks: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: SharedRolloutsOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#lock = options.store.driverLock();
  }

  /** Whether this instance drives the rollouts now. */
  get driving(): boolean {
    return this.#engine !== undefined;
  }

  start(): void {
    const every = (ms: number, work: () => void) => {
      const timer = setInterval(work, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    const turn = () => {
      this.#turn = this.#turn.then(() => this.#takeOrCheck());
    };
    turn();
    every(this.#options.retryMs ?? 3000, turn);
    every(this.#options.pollMs ?? 500, () => {
      this.#asks = this.#asks.then(() => this.#carryOutAsks());
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    await this.#turn;
    await this.#asks;
    await this.#engine?.stop();
    this.#engine = undefined;
    await this.#lock.release();
  }

  async #takeOrCheck(): Promise<void> {
    if (this.#stopped) return;
    const engine = this.#engine;
    try {
      if (engine) {
        if (await this.#lock.check()) return;
        this.#engine = undefined;
        this.#options.log?.warn("lost the lock that makes this instance drive the rollouts (its database connection ended); stopping");
        await engine.abandon();
        return;
      }
      if (!(await this.#lock.tryTake())) return;
    } catch (error) {
      this.#options.log?.warn({ err: messageOf(error) }, "cannot reach the database for the rollouts' driver lock; trying again");
      return;
    }
    const next = this.#options.newEngine();
    this.#engine = next;
    this.#options.log?.info("this instance drives the rollouts");
    // Not awaited, as a single instance's: the engine waits for the broker.
    next.start().catch((error: unknown) => this.#options.log?.error({ err: messageOf(error) }, "staged rollouts could not start"));
  }

  /** The driver carries out, in order, the changes the other instance asked of it. */
  async #carryOutAsks(): Promise<void> {
    const engine = this.#engine;
    if (this.#stopped || !engine?.started) return;
    try {
      for (const { number, ask } of await this.#store.take()) {
        const outcome = await this.#carryOut(engine, ask).catch((error: unknown): Outcome => {
          this.#options.log?.error({ err: messageOf(error), ask: ask.kind }, "a rollout change asked by the other instance failed");
          return { status: 500, error: "the rollout change failed; see the driving instance's log" };
        });
        await this.#store.answer(number, "error" in outcome ? outcome : { rollout: outcome });
      }
    } catch (error) {
      this.#options.log?.warn({ err: messageOf(error) }, "cannot read the rollout changes asked of this instance; trying again");
    }
  }

  async #carryOut(engine: RolloutEngine, ask: RolloutAsk): Promise<Outcome> {
    if (ask.kind === "control") return engine.control(ask.id, ask.action, ask.by);
    // Checked again here: the asker checked the store, but a change of this instance's may have come between.
    const busy = engine.busyBoxes(ask.plan.kind);
    const taken = ask.plan.boxes.filter((box) => busy.has(box.deviceId)).map((box) => box.deviceId);
    if (taken.length > 0) return { status: 409, error: `${taken.length} of these boxes are in another rollout that is not over (${taken.slice(0, 5).join(", ")})` };
    if (engine.live >= MAX_LIVE_ROLLOUTS) return { status: 503, error: `${MAX_LIVE_ROLLOUTS} rollouts are under way; wait for one to end` };
    return engine.create(ask.spec, ask.plan, ask.by);
  }

  /** The other instance's answers to a change: the driver's, or why there was none. */
  async #relay(ask: RolloutAsk): Promise<Outcome> {
    const number = await this.#store.ask(ask);
    if (number === undefined) return { status: 503, error: "too many rollout changes are waiting for the instance that drives rollouts; try again" };
    const within = this.#options.answerWithinMs ?? 15_000;
    let answer = await this.#answerOf(number, within);
    if (!answer) {
      const unheard: RolloutAnswer = { status: 503, error: "no instance is carrying out rollout changes right now (none holds the driver's lock, or the one that does has no broker connection yet; one that died is replaced within seconds): nothing was changed; try again" };
      if (await this.#store.withdraw(number, unheard)) return unheard;
      answer = await this.#answerOf(number, within);
    }
    if (!answer) return { status: 504, error: "the instance that drives the rollouts took the change but has not answered: look at the rollout before asking again" };
    return "rollout" in answer ? answer.rollout : answer;
  }

  async #answerOf(number: number, withinMs: number): Promise<RolloutAnswer | undefined> {
    const until = Date.now() + withinMs;
    for (;;) {
      const answer = await this.#store.answerOf(number);
      if (answer || Date.now() >= until) return answer;
      await delay(200);
    }
  }

  /** Rollouts that may still send or settle, with their boxes, as the store has them. */
  async #liveInStore(): Promise<Array<{ rollout: RolloutRecord; boxes: RolloutReport["boxes"] }>> {
    const live: Array<{ rollout: RolloutRecord; boxes: RolloutReport["boxes"] }> = [];
    for (const rollout of await this.#store.list()) {
      if (rollout.status !== "running" && rollout.status !== "paused" && rollout.status !== "halted" && rollout.status !== "aborted") continue;
      const kept = await this.#store.get(rollout.id);
      if (kept && isLive(kept.rollout, kept.boxes)) live.push(kept);
    }
    return live;
  }

  get started(): boolean {
    // The other instance takes changes for the driver, which answers 503 itself until it follows the boxes.
    return this.#engine?.started ?? true;
  }

  get live(): number | Promise<number> {
    return this.#engine?.live ?? this.#liveInStore().then((live) => live.length);
  }

  busyBoxes(kind: ReportKind): Set<string> | Promise<Set<string>> {
    return this.#engine?.busyBoxes(kind) ?? this.#liveInStore().then((live) => busyIn(live, kind));
  }

  create(spec: RolloutSpec, plan: RolloutPlan, createdBy: string | null): Promise<Outcome> {
    return this.#engine?.create(spec, plan, createdBy) ?? this.#relay({ kind: "create", spec, plan, by: createdBy });
  }

  control(id: string, action: Control, by: string | null): Promise<Outcome> {
    return this.#engine?.control(id, action, by) ?? this.#relay({ kind: "control", id, action, by });
  }

  async report(id: string): Promise<RolloutReport | undefined> {
    if (this.#engine) return this.#engine.report(id);
    const kept = await this.#store.get(id);
    return kept && { rollout: kept.rollout, totals: totalsOf(kept.boxes, kept.rollout.skipped.length), boxes: kept.boxes };
  }

  /** Only the driving instance has rollouts in memory: the other's /metrics has no rollout series. */
  progress(): RolloutProgressLine[] {
    return this.#engine?.progress() ?? [];
  }

  async list(limit: number): Promise<RolloutReport[]> {
    if (this.#engine) return this.#engine.list(limit);
    const reports: RolloutReport[] = [];
    for (const rollout of (await this.#store.list()).slice(0, limit)) {
      const report = await this.report(rollout.id);
      if (report) reports.push(report);
    }
    return reports;
  }
}
