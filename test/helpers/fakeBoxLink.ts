/**
 * A BoxLink in memory, for tests of what is built on one (rollouts, the box page): it keeps what
 * was published as each box's retained desired state, counts every publish, lets a test deliver a
 * box's report to the followers as the broker would, and can be told to refuse publishes (the
 * broker away). Commands are recorded and answered from a table a test fills (`ok: {}` by
 * default), and can be held back until the test releases them, to see what runs at once. Also a
 * clock whose time moves only when the test says.
 */
import { generateKeyPairSync } from "node:crypto";
import type { ConfigReported, UpdateStatePayload } from "../../agent/core/api.ts";
import { signManifest, type Manifest } from "../../agent/update/manifest.ts";
import type { BoxAnswer, BoxCommand, BoxLink, BoxReport, ReportKind } from "../../tools/fleet/types/boxLink.ts";
import type { Clock } from "../../tools/fleet/rollout/clock.ts";

export class FakeBoxLink implements BoxLink {
  /** Every publish in order: which box, which kind, what. */
  readonly published: Array<{ deviceId: string; kind: ReportKind; payload: string }> = [];
  /** Every command asked, in order. */
  readonly commands: BoxCommand[] = [];
  /** Answers by command name; a function sees the request. */
  readonly answers = new Map<string, BoxAnswer | ((request: BoxCommand) => BoxAnswer)>();
  /** Each box's retained config/reported, by device id (a test may set it directly). */
  readonly reports = new Map<string, ConfigReported>();
  /** Each box's retained config/desired text, by device id (a test may set it directly). */
  readonly desiredText = new Map<string, string>();
  /** When set, reading retained state fails with it (the link down). */
  readFailure: Error | undefined;
  /** While true, commands wait until release() is called. */
  hold = false;
  /** While true, setDesired rejects, as when the service has lost the broker. */
  down = false;
  /** Called after each accepted publish (a test's simulated box answers from here). */
  onPublish: (deviceId: string, kind: ReportKind, payload: string) => void = () => undefined;
  readonly #held: Array<() => void> = [];
  readonly #desired = new Map<string, string>();
  readonly #reported = new Map<string, BoxReport>();
  readonly #followers = new Set<{ kind: ReportKind; listener: (report: BoxReport) => void }>();

  async command(request: BoxCommand): Promise<BoxAnswer> {
    this.commands.push(request);
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    const answer = this.answers.get(request.name) ?? { ok: true, result: {} };
    return typeof answer === "function" ? answer(request) : answer;
  }

  /** Lets every held command answer. */
  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }

  /** Commands held now. */
  get waiting(): number {
    return this.#held.length;
  }

  async setDesired(deviceId: string, kind: ReportKind, payload: string): Promise<void> {
    if (this.down) throw new Error("link-down: not connected to the broker");
    this.published.push({ deviceId, kind, payload });
    this.#desired.set(`${kind}/${deviceId}`, payload);
    if (kind === "config") this.desiredText.set(deviceId, payload);
    this.onPublish(deviceId, kind, payload);
  }

  async desired(deviceId: string, kind: ReportKind): Promise<string | undefined> {
    if (this.readFailure) throw this.readFailure;
    return (kind === "config" ? this.desiredText.get(deviceId) : undefined) ?? this.#desired.get(`${kind}/${deviceId}`);
  }

  async reported(deviceId: string, kind: ReportKind): Promise<BoxReport | undefined> {
    if (this.readFailure) throw this.readFailure;
    const set = kind === "config" ? this.reports.get(deviceId) : undefined;
    return set ? { kind: "config", deviceId, payload: set } : this.#reported.get(`${kind}/${deviceId}`);
  }

  async follow(kind: ReportKind, listener: (report: BoxReport) => void): Promise<() => Promise<void>> {
    const follower = { kind, listener };
    this.#followers.add(follower);
    for (const report of this.#reported.values()) if (report.kind === kind) listener(report);
    return async () => void this.#followers.delete(follower);
  }

  /** Drops every follower, as a service killed with its connection loses its subscriptions. */
  dropFollowers(): void {
    this.#followers.clear();
  }

  /** A box's report: kept as the retained one, and given to every follower of its kind. */
  report(report: BoxReport): void {
    this.#reported.set(`${report.kind}/${report.deviceId}`, report);
    for (const follower of this.#followers) if (follower.kind === report.kind) follower.listener(report);
  }

  updateState(deviceId: string, payload: Partial<UpdateStatePayload> & Pick<UpdateStatePayload, "state" | "version">): void {
    this.report({
      kind: "update",
      deviceId,
      payload: { runningVersion: "1.2.0", floor: null, progress: null, result: null, reason: null, since: new Date(0).toISOString(), ...payload },
    });
  }

  configReported(deviceId: string, payload: Partial<ConfigReported> & Pick<ConfigReported, "version">): void {
    this.report({ kind: "config", deviceId, payload: { hash: "0", appliedAt: null, state: "applied", config: {}, lastError: null, ...payload } });
  }

  /** How many times each box was published to. */
  publishCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { deviceId } of this.published) counts.set(deviceId, (counts.get(deviceId) ?? 0) + 1);
    return counts;
  }
}

export class FakeClock implements Clock {
  #now: number;
  readonly #ticks = new Set<{ ms: number; next: number; tick: () => void }>();

  constructor(start = Date.parse("2026-12-03T10:00:00.000Z")) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  every(ms: number, tick: () => void): () => void {
    const timer = { ms, next: this.#now + ms, tick };
    this.#ticks.add(timer);
    return () => void this.#ticks.delete(timer);
  }

  /** Moves time on, calling each timer as often as it would have fired. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#ticks].filter((timer) => timer.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.#now = due.next;
      due.next += due.ms;
      due.tick();
    }
    this.#now = end;
  }
}

/** A signed manifest's file text as `thea release pack` writes it, with a key made for the test. */
export function signedManifestText(changes: Partial<Manifest> = {}): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const manifest: Manifest = {
    version: "1.3.0",
    size: 1000,
    sha256: "a".repeat(64),
    url: "https://updates.example.org/thea/thea-1.3.0.tar.gz",
    notes: "",
    force: false,
    allowDowngrade: false,
    ...changes,
  };
  return `${JSON.stringify(signManifest(manifest, privateKey.export({ type: "pkcs8", format: "pem" }).toString()))}\n`;
}
