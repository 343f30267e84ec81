/**
 * Where rollouts are kept, so that a restart of the service (a `kill -9` included) carries on
 * where it was: each rollout, and each of its boxes with its state. SQLite in the service's data
 * directory (sqliteStore.ts), memory for tests (memoryStore.ts), PostgreSQL when two instances
 * share one database (pgStore.ts, a SharedRolloutStore). Every store passes one contract suite
 * (test/tools/fleet/rollout/storeContract.ts).
 *
 * Asynchronous, so a store over the network fits the same interface. Every write is in one
 * transaction and is durable when its promise resolves: the engine writes a box `sending`
 * before it publishes to it (write-ahead), and counts on finding that after a crash.
 */
import type { RolloutBox, RolloutPlan, RolloutRecord, RolloutSpec } from "./model.ts";

export interface RolloutStore {
  /** Stores a new rollout with all its boxes, in one transaction; rejects if the id is taken. */
  create(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void>;
  /** Replaces the rollout's record and the given boxes' rows (by deviceId), in one transaction. */
  update(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void>;
  /** Every rollout, newest first. */
  list(): Promise<RolloutRecord[]>;
  /** One rollout and its boxes (by batch, then deviceId), or undefined. */
  get(id: string): Promise<{ rollout: RolloutRecord; boxes: RolloutBox[] } | undefined>;
  close(): Promise<void>;
}

/** A change asked of the instance that drives the rollouts by one that does not (shared.ts). */
export type RolloutAsk =
  | { kind: "create"; spec: RolloutSpec; plan: RolloutPlan; by: string | null }
  | { kind: "control"; id: string; action: "pause" | "resume" | "abort"; by: string | null };

/** Its answer: the rollout as it is now, or why not (an HTTP status and words). */
export type RolloutAnswer = { rollout: RolloutRecord } | { error: string; status: number };

/**
 * The one lock among instances that says which drives the rollouts (publishes, follows reports,
 * applies changes); held on a connection of its own, so that it goes with the holder.
 */
export interface DriverLock {
  /** Takes the lock if no one holds it; true while this instance holds it. */
  tryTake(): Promise<boolean>;
  /** Whether this instance still holds it (its connection answers); false once lost. */
  check(): Promise<boolean>;
  release(): Promise<void>;
}

/** A store two instances share: rollouts, the changes one asks of the other, and the driver's lock. */
export interface SharedRolloutStore extends RolloutStore {
  /** Queues `ask` for the driving instance; its number, or undefined when too many wait already. */
  ask(ask: RolloutAsk): Promise<number | undefined>;
  /** The asks no one has taken nor given up on, oldest first; each is taken once. */
  take(): Promise<Array<{ number: number; ask: RolloutAsk }>>;
  answer(number: number, answer: RolloutAnswer): Promise<void>;
  /** The answer given, if any. */
  answerOf(number: number): Promise<RolloutAnswer | undefined>;
  /** Answers `answer` in place of the driver if no one has taken the ask yet; false if one has. */
  withdraw(number: number, answer: RolloutAnswer): Promise<boolean>;
  driverLock(): DriverLock;
}

export function isShared(store: RolloutStore): store is SharedRolloutStore {
  return "driverLock" in store && "take" in store;
}
