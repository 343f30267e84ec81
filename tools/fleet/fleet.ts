/**
 * The fleet as the service knows it: boxes' states from their `status`, `summary` and `event`
 * messages (ingest.ts checks them), kept in memory for the page and the API (2,050 boxes are a
 * few MB) and written to the store in batches. Availability transitions and events go to each
 * box's history. A timer looks again at offline boxes, so one that stays silent crosses into
 * "needs attention" without a new message. Another takes a box that has stopped saying it is alive
 * for offline (`silent`) before the broker's will does (silence.ts); heard again before the
 * will, it is online again; the will after it changes only the reason.
 *
 * Two instances of the service may share one store (PostgreSQL): each sees every `status` and
 * `summary` (ingest.ts), so each holds the whole fleet and both append each availability
 * transition; the transition carries what it records (`once`: the box's boot id and connection
 * number), and the store keeps it once. Events come to one instance only, each with its own id.
 */
import type { StatusPayload, SummaryPayload } from "../../agent/core/api.ts";
import type { Service } from "../../agent/core/service.ts";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { byUrgency, countsOf, DEFAULT_OFFLINE_ATTENTION_MIN, isUpdating, rowOf, type AttentionRules } from "./attention.ts";
import type { FleetMessage } from "./messages.ts";
import { SilenceWatch } from "./silence.ts";
import type { BoxHistoryEntry, BoxRow, FleetCounts, FleetQuery, FleetView } from "./model.ts";
import { HISTORY_MAX_AGE_MS, HISTORY_MAX_PER_BOX, type FleetStore, type HistoryRecord } from "./store.ts";
import type { BoxState } from "./types/boxState.ts";

export interface FleetOptions {
  store: FleetStore;
  /** Minutes offline before a box needs attention (default 10). */
  offlineAttentionMin?: number;
  /** The service's clock, epoch ms. */
  now?: () => number;
  /** How long changes gather before one write and one onChange call (default 200 ms). */
  flushDelayMs?: number;
  /** How often offline boxes are looked at again (default 15 s: a crossing shows within that). */
  recheckIntervalMs?: number;
  /** How often boxes are looked at for silence (default 0.5 s: it counts against issue 16's 5 s, silence.ts). */
  silenceCheckMs?: number;
  /** How often history past 30 days or the per-box cap is dropped (default hourly). */
  pruneIntervalMs?: number;
  /** Where a failed write or a failing listener is reported; without it they are thrown. */
  log?: Logger;
}

/** History held for a store that cannot be written (disk full): beyond it the oldest go, counted. */
const MAX_UNWRITTEN_HISTORY = 10_000;
/**
 * A store that keeps failing (PostgreSQL down) is tried again after the flush delay, then twice as
 * long each time up to this: not five attempts, and five log lines, a second for as long as it lasts.
 */
const MAX_RETRY_DELAY_MS = 30_000;

export class Fleet implements FleetView, Service {
  readonly #store: FleetStore;
  readonly #rules: AttentionRules;
  readonly #now: () => number;
  readonly #flushDelayMs: number;
  readonly #recheckIntervalMs: number;
  readonly #pruneIntervalMs: number;
  readonly #silenceCheckMs: number;
  readonly #silence = new SilenceWatch();
  readonly #log: Logger | undefined;
  #historyDropped = 0;
  #writeFailures = 0;
  /** Writes failed in a row, and when the next may be tried (epoch ms, the service's clock). */
  #failures = 0;
  #retryAt = 0;
  readonly #states = new Map<string, BoxState>();
  /** A summary that came before its box's first status (retained messages arrive in any order). */
  readonly #pendingSummaries = new Map<string, SummaryPayload>();
  /** Ids heard from only by events so far: counted, so the ingest's bound covers them. */
  readonly #eventOnly = new Set<string>();
  /** Each box's attention kinds when last told, so the timer reports crossings only. */
  readonly #attentionKinds = new Map<string, string>();
  /** Changed since the listeners were last told. */
  readonly #dirty = new Set<string>();
  /** Told, not yet written. */
  readonly #unwritten = new Set<string>();
  readonly #history: HistoryRecord[] = [];
  /** Each box's last connection (its online status's boot id and number): what its next offline ends. */
  readonly #connections = new Map<string, { bootId: string; session: number }>();
  /** The write under way, if any: batches are written one after the other, in order. */
  #writing: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(deviceIds: readonly string[]) => void>();
  #flushTimer: NodeJS.Timeout | undefined;
  #recheckTimer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #silenceTimer: NodeJS.Timeout | undefined;

  constructor(options: FleetOptions) {
    this.#store = options.store;
    this.#rules = { offlineAttentionMin: options.offlineAttentionMin ?? DEFAULT_OFFLINE_ATTENTION_MIN };
    this.#now = options.now ?? Date.now;
    this.#flushDelayMs = options.flushDelayMs ?? 200;
    this.#recheckIntervalMs = options.recheckIntervalMs ?? 15_000;
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 60 * 60_000;
    this.#silenceCheckMs = options.silenceCheckMs ?? 500;
    this.#log = options.log?.child({ ns: "fleet" });
  }

  /** Loads what the store holds, prunes old history, and starts the timers. */
  async start(): Promise<void> {
    for (const state of await this.#store.states()) {
      if (this.#states.has(state.deviceId)) continue; // a message applied before start is newer
      this.#states.set(state.deviceId, state);
      this.#attentionKinds.set(state.deviceId, this.#kindsOf(state));
    }
    await this.#prune();
    this.#recheckTimer = setInterval(() => this.#recheck(), this.#recheckIntervalMs);
    this.#silenceTimer = setInterval(() => this.#checkSilence(), this.#silenceCheckMs);
    this.#pruneTimer = setInterval(() => void this.#prune().catch((error: unknown) => this.#failed(error, "fleet history prune failed")), this.#pruneIntervalMs);
  }

  /** Clears the timers and writes what is pending. The store stays open: its owner closes it. */
  async stop(): Promise<void> {
    clearInterval(this.#recheckTimer);
    clearInterval(this.#pruneTimer);
    clearInterval(this.#silenceTimer);
    this.#silenceTimer = undefined;
    this.#recheckTimer = undefined;
    this.#pruneTimer = undefined;
    this.#retryAt = 0; // one last attempt, whatever the last failure
    await this.flush();
    // A failed last write schedules a retry that nothing would stop.
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  /** Whether the fleet holds anything of this box. */
  has(deviceId: string): boolean {
    return this.#states.has(deviceId) || this.#pendingSummaries.has(deviceId) || this.#eventOnly.has(deviceId);
  }

  /** How many boxes the fleet holds anything of (the ingest bounds this). */
  get size(): number {
    return this.#states.size + this.#pendingSummaries.size + this.#eventOnly.size;
  }

  /** What the store's failures cost so far (metrics.ts shows it). */
  storeStats(): { writeFailures: number; historyDropped: number } {
    return { writeFailures: this.#writeFailures, historyDropped: this.#historyDropped };
  }

  apply(message: FleetMessage): void {
    const at = new Date(this.#now()).toISOString();
    // Anything live but a status (which says for itself whether the box is online) is a sign of life.
    if (message.kind !== "status" && !message.retained) this.#heard(message.deviceId, at);
    switch (message.kind) {
      case "status":
        return this.#applyStatus(message.deviceId, message.payload, message.retained, at);
      case "summary":
        return this.#applySummary(message.deviceId, message.payload, message.retained, at);
      case "alive":
        return; // #heard above is all it does: never a write, never a change to tell
      case "event": {
        // The event's own id: a copy the broker delivers again (QoS 1) is kept once.
        this.#record({ deviceId: message.deviceId, at, kind: "event", detail: message.payload, once: `event:${message.payload.id}` });
        const state = this.#states.get(message.deviceId);
        if (state) this.#update(state, { lastSeenAt: at });
        else this.#eventOnly.add(message.deviceId);
      }
    }
  }

  list(query: FleetQuery): BoxRow[] {
    const now = this.#now();
    return this.#rows(now)
      .filter((row) => matches(row, query))
      .sort(byUrgency(now));
  }

  counts(): FleetCounts {
    return countsOf(this.#rows(this.#now()));
  }

  box(deviceId: string): BoxRow | undefined {
    const state = this.#states.get(deviceId);
    return state && rowOf(state, this.#now(), this.#rules);
  }

  async history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]> {
    await this.flush(); // what happened in the last 200 ms belongs in the answer
    return this.#store.history(deviceId, sinceMs);
  }

  onChange(listener: (deviceIds: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds an entry to a box's history (an action a person took: serverActions.ts), written with the next batch. */
  record(entry: BoxHistoryEntry): void {
    this.#record(entry);
  }

  /**
   * Tells the listeners of the changed boxes at once (the page reads them from memory), and
   * writes the changed states and new history in one batch each after any write under way.
   * Resolves once written; without a log, a failed write rejects it.
   */
  flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const ids = [...this.#dirty];
    this.#dirty.clear();
    for (const id of ids) {
      this.#unwritten.add(id);
      this.#attentionKinds.set(id, this.#kindsOf(this.#states.get(id)));
    }
    if (ids.length > 0) this.#emit(ids);
    const written = this.#writing.then(() => this.#write());
    // The next batch waits for this one whatever its outcome; the outcome goes to this caller.
    this.#writing = written.catch(() => undefined);
    return written;
  }

  async #write(): Promise<void> {
    if (this.#unwritten.size === 0 && this.#history.length === 0) return;
    const wait = this.#retryAt - this.#now();
    if (wait > 0) return this.#schedule(wait); // kept for when the store may be tried again
    const ids = [...this.#unwritten];
    this.#unwritten.clear();
    const states = ids.flatMap((id) => this.#states.get(id) ?? []);
    const entries = this.#history.splice(0);
    try {
      await this.#store.upsert(states);
      await this.#store.append(entries);
      this.#failures = 0;
      this.#retryAt = 0;
    } catch (error) {
      // Kept for the next batch; the page still shows the change, from memory.
      for (const id of ids) this.#unwritten.add(id);
      this.#history.unshift(...entries);
      const over = this.#history.length - MAX_UNWRITTEN_HISTORY;
      if (over > 0) this.#historyDropped += this.#history.splice(0, over).length;
      this.#writeFailures += 1;
      this.#failures += 1;
      const delay = Math.min(this.#flushDelayMs * 2 ** (this.#failures - 1), MAX_RETRY_DELAY_MS);
      this.#retryAt = this.#now() + delay;
      if (!this.#log) throw error;
      this.#log.error({ err: messageOf(error), states: states.length, entries: entries.length, historyDropped: this.#historyDropped, failures: this.#failures, retryInMs: delay }, "fleet store write failed");
      this.#schedule(delay);
    }
  }

  #applyStatus(deviceId: string, payload: StatusPayload, retained: boolean, at: string): void {
    const known = this.#states.get(deviceId);
    // The retained online status of a connection already taken for silent (the service's own
    // reconnect brings the snapshot again): old news, not a sign of life; its will is still to come.
    const last = this.#connections.get(deviceId);
    if (retained && payload.online && known?.offlineReason === "silent" && last?.bootId === payload.bootId && last.session === payload.session) return;
    const pending = this.#pendingSummaries.get(deviceId);
    this.#pendingSummaries.delete(deviceId);
    this.#eventOnly.delete(deviceId);
    const base: BoxState = known ?? { deviceId, site: pending?.site ?? {}, online: !payload.online, since: at, offlineReason: null, summary: null, lastSeenAt: at };
    const patch: Partial<BoxState> = retained && known ? {} : { lastSeenAt: at };
    if (pending) patch.summary = pending;
    if (payload.online) {
      patch.site = payload.site;
      patch.offlineReason = null;
    } else {
      patch.offlineReason = payload.reason;
    }
    const once = this.#connectionOf(deviceId, payload);
    if (payload.online) this.#silence.connected(deviceId, payload.keepaliveSec, this.#now());
    else this.#silence.disconnected(deviceId);
    if (!known || known.online !== payload.online) {
      patch.online = payload.online;
      patch.since = at;
      const detail = payload.online ? { bootId: payload.bootId, session: payload.session, version: payload.version } : { reason: payload.reason, bootId: payload.bootId };
      this.#record({ deviceId, at, kind: payload.online ? "online" : "offline", detail, once });
    }
    this.#update(base, patch, !known);
  }

  #applySummary(deviceId: string, payload: SummaryPayload, retained: boolean, at: string): void {
    const known = this.#states.get(deviceId);
    if (!known) {
      this.#pendingSummaries.set(deviceId, payload);
      this.#eventOnly.delete(deviceId);
      return;
    }
    this.#update(known, { summary: payload, site: payload.site, ...(retained ? {} : { lastSeenAt: at }) });
  }

  /** Replaces a box's state when the patch changes it, and schedules the write. */
  #update(state: BoxState, patch: Partial<BoxState>, isNew = false): void {
    const next = { ...state, ...patch };
    if (!isNew && JSON.stringify(next) === JSON.stringify(state)) return;
    this.#states.set(state.deviceId, next);
    this.#dirty.add(state.deviceId);
    this.#schedule();
  }

  /**
   * What a status's transition records: the connection it begins (`online:{bootId}:{n}`), or the
   * one it ends (`offline:{bootId}:{n}`; a last will carries no connection number, so the last
   * online status seen gives it, `?` when none was seen since the service started).
   */
  #connectionOf(deviceId: string, payload: StatusPayload): string {
    if (payload.online) {
      this.#connections.set(deviceId, { bootId: payload.bootId, session: payload.session });
      return `online:${payload.bootId}:${payload.session}`;
    }
    const last = this.#connections.get(deviceId);
    return `offline:${payload.bootId}:${last?.bootId === payload.bootId ? last.session : "?"}`;
  }

  /** A sign of life: times the box again, and brings one taken for silent back online (a glitch, not a death). */
  #heard(deviceId: string, at: string): void {
    if (!this.#silence.heard(deviceId, this.#now())) return;
    const state = this.#states.get(deviceId);
    if (!state || state.online || state.offlineReason !== "silent") return;
    const connection = this.#connections.get(deviceId);
    const detail = { reason: "heard-again", bootId: connection?.bootId ?? null, session: connection?.session ?? null };
    this.#update(state, { online: true, since: at, offlineReason: null, lastSeenAt: at });
    this.#record({ deviceId, at, kind: "online", detail, once: `heard-again:${connection?.bootId ?? "?"}:${connection?.session ?? "?"}:${this.#silence.silences(deviceId)}` });
  }

  /**
   * Boxes unheard past their keep-alive + 4 s go offline (`silent`), recorded as the transition
   * that ends their connection; `lastSeenAt` says when they were last heard (the page's "silent
   * for"). Its own record per silence, so two instances keep one, and a later will none.
   */
  #checkSilence(): void {
    const now = this.#now();
    const at = new Date(now).toISOString();
    for (const { deviceId, heardAt, silences } of this.#silence.silent(now, (id) => this.#states.get(id)?.online === true)) {
      const state = this.#states.get(deviceId);
      if (!state) continue;
      const connection = this.#connections.get(deviceId);
      const detail = { reason: "silent", silentSec: Math.round((now - heardAt) / 1000), bootId: connection?.bootId ?? null };
      this.#update(state, { online: false, since: at, offlineReason: "silent", lastSeenAt: new Date(heardAt).toISOString() });
      this.#record({ deviceId, at, kind: "offline", detail, once: `silent:${connection?.bootId ?? "?"}:${connection?.session ?? "?"}:${silences}` });
    }
  }

  #record(entry: HistoryRecord): void {
    this.#history.push(entry);
    this.#schedule();
  }

  #schedule(delayMs = this.#flushDelayMs): void {
    this.#flushTimer ??= setTimeout(() => void this.flush().catch((error: unknown) => this.#failed(error, "fleet store write failed")), delayMs);
  }

  /** A failure of work the timers started: logged, or thrown as before there was a log. */
  #failed(error: unknown, message: string): void {
    if (!this.#log) throw error;
    this.#log.error({ err: messageOf(error) }, message);
  }

  /** Tells the listeners of boxes whose attention changed by time alone (offline past N minutes). */
  #recheck(): void {
    const crossed: string[] = [];
    for (const [id, state] of this.#states) {
      const kinds = this.#kindsOf(state);
      if (this.#attentionKinds.get(id) === kinds) continue;
      this.#attentionKinds.set(id, kinds);
      crossed.push(id);
    }
    if (crossed.length > 0) this.#emit(crossed);
  }

  async #prune(): Promise<void> {
    await this.flush();
    await this.#store.prune({ beforeMs: this.#now() - HISTORY_MAX_AGE_MS, maxPerBox: HISTORY_MAX_PER_BOX });
  }

  #kindsOf(state: BoxState | undefined): string {
    return state ? rowOf(state, this.#now(), this.#rules).attention.map((reason) => reason.kind).join(",") : "";
  }

  #rows(now: number): BoxRow[] {
    return [...this.#states.values()].map((state) => rowOf(state, now, this.#rules));
  }

  #emit(ids: readonly string[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(ids);
      } catch (error) {
        // One listener's bug (a page's stream) must not stop the others or the writes.
        if (!this.#log) throw error;
        this.#log.error({ err: messageOf(error) }, "fleet change listener failed");
      }
    }
  }
}

function matches(row: BoxRow, query: FleetQuery): boolean {
  if (query.province !== undefined && row.site.province !== query.province) return false;
  if (query.district !== undefined && row.site.district !== query.district) return false;
  if (query.commune !== undefined && row.site.commune !== query.commune) return false;
  if (query.version !== undefined && row.summary?.version !== query.version) return false;
  if (query.state !== undefined && !inState(row, query.state)) return false;
  if (query.q !== undefined && query.q !== "") {
    const q = query.q.toLowerCase();
    const haystack = [row.deviceId, row.site.province, row.site.district, row.site.commune];
    if (!haystack.some((text) => text?.toLowerCase().includes(q))) return false;
  }
  return true;
}

function inState(row: BoxRow, state: NonNullable<FleetQuery["state"]>): boolean {
  switch (state) {
    case "online":
      return row.online;
    case "offline":
      return !row.online;
    case "attention":
      return row.attention.length > 0;
    case "updating":
      return isUpdating(row);
  }
}
