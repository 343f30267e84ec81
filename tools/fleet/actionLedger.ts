/**
 * The actions in flight and recently answered, by person: what makes a double click, a retry or
 * a replayed request harmless, and a flood bounded.
 *
 * - A page names each action with its own request id. The id is scoped by the person (hashed with
 *   their CN), so one person's id never meets another's, and the scoped id is what the box gets
 *   as its request id (MQTT 5 correlation data): the box's own repeat cache then answers a retry
 *   with its first answer instead of running it again (docs/mqtt-api.md, Request ids).
 * - Here too: the same id while its action runs joins it; after, it gets the kept answer (for
 *   10 minutes, as the box keeps them). The same id for another box, action or parameters is a
 *   conflict, never run.
 * - At most a few actions in flight per person and a bound overall: an action costs the box work
 *   and a slot of the service's link; past the bounds a request is refused before anything is sent.
 */
import { createHash } from "node:crypto";

export const DEFAULT_MAX_IN_FLIGHT_PER_PERSON = 4;
export const DEFAULT_MAX_IN_FLIGHT = 32;
/** The box keeps answers 10 minutes (docs/mqtt-api.md, Request ids): so long a retry is a retry. */
export const DEFAULT_KEEP_MS = 10 * 60_000;
/** Answers kept at once, over everyone; the oldest go first. */
export const DEFAULT_MAX_KEPT = 512;

export interface ActionLedgerOptions {
  maxInFlightPerPerson?: number;
  maxInFlight?: number;
  keepMs?: number;
  maxKept?: number;
  now?: () => number;
}

export type LedgerEntry<T> =
  /** Run it under `commandId` (the box's request id), then `settle` with its answer. */
  | { kind: "run"; commandId: string; settle(answer: T, keep: boolean): void }
  /** The same request again: its answer, once there is one. */
  | { kind: "repeat"; answer: Promise<T> }
  | { kind: "conflict" }
  | { kind: "person-busy" }
  | { kind: "busy" };

interface Held<T> {
  person: string;
  /** SHA-256 of what was asked (box, action, parameters). */
  what: string;
  answer: Promise<T>;
  /** When it was answered (epoch ms); undefined while in flight. */
  settledAt: number | undefined;
}

export class ActionLedger<T> {
  readonly #maxPerPerson: number;
  readonly #max: number;
  readonly #keepMs: number;
  readonly #maxKept: number;
  readonly #now: () => number;
  /** By scoped id, in insertion order (the oldest kept answer first). */
  readonly #held = new Map<string, Held<T>>();
  readonly #inFlight = new Map<string, number>();

  constructor(options: ActionLedgerOptions = {}) {
    this.#maxPerPerson = options.maxInFlightPerPerson ?? DEFAULT_MAX_IN_FLIGHT_PER_PERSON;
    this.#max = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#keepMs = options.keepMs ?? DEFAULT_KEEP_MS;
    this.#maxKept = options.maxKept ?? DEFAULT_MAX_KEPT;
    this.#now = options.now ?? Date.now;
  }

  /** Actions running now, over everyone. */
  get inFlight(): number {
    let total = 0;
    for (const count of this.#inFlight.values()) total += count;
    return total;
  }

  /**
   * `person`: who asks (their CN, or one key for everyone without a roster); `requestId`: the
   * page's id; `what`: the box, action and parameters, which a repeat must match.
   */
  begin(person: string, requestId: string, what: string): LedgerEntry<T> {
    this.#expire();
    const commandId = scopedId(person, requestId);
    // Kept as a digest: a config layer is up to 64 KiB, and hundreds are remembered.
    const digest = createHash("sha256").update(what).digest("hex");
    const held = this.#held.get(commandId);
    if (held) return held.person === person && held.what === digest ? { kind: "repeat", answer: held.answer } : { kind: "conflict" };
    const mine = this.#inFlight.get(person) ?? 0;
    if (mine >= this.#maxPerPerson) return { kind: "person-busy" };
    if (this.inFlight >= this.#max) return { kind: "busy" };
    this.#inFlight.set(person, mine + 1);
    let resolve: (answer: T) => void = () => undefined;
    const entry: Held<T> = { person, what: digest, answer: new Promise<T>((done) => (resolve = done)), settledAt: undefined };
    this.#held.set(commandId, entry);
    let settled = false;
    return {
      kind: "run",
      commandId,
      settle: (answer, keep) => {
        if (settled) return;
        settled = true;
        const left = (this.#inFlight.get(person) ?? 1) - 1;
        if (left > 0) this.#inFlight.set(person, left);
        else this.#inFlight.delete(person);
        resolve(answer);
        // A large answer (a log view, a diagnostics file) is not kept: its repeat runs again, as
        // on the box, which keeps no answer over 4 KiB either; those actions change nothing.
        if (!keep) return void this.#held.delete(commandId);
        entry.settledAt = this.#now();
        // Kept last in the order, so the oldest answers are dropped first.
        this.#held.delete(commandId);
        this.#held.set(commandId, entry);
        this.#trim();
      },
    };
  }

  #expire(): void {
    const before = this.#now() - this.#keepMs;
    for (const [id, held] of this.#held) {
      if (held.settledAt !== undefined && held.settledAt < before) this.#held.delete(id);
    }
  }

  #trim(): void {
    let kept = 0;
    for (const held of this.#held.values()) if (held.settledAt !== undefined) kept += 1;
    for (const [id, held] of this.#held) {
      if (kept <= this.#maxKept) return;
      if (held.settledAt === undefined) continue;
      this.#held.delete(id);
      kept -= 1;
    }
  }
}

/**
 * The id the box sees: the person's CN and the page's id hashed together, so no page can choose
 * an id that lands in another person's answers, and the CN itself does not travel to the box.
 */
export function scopedId(person: string, requestId: string): string {
  return `fleet-${createHash("sha256").update(person).update("\0").update(requestId).digest("hex").slice(0, 32)}`;
}
