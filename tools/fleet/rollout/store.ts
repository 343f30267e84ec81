/**
 * Where rollouts are kept, so that a restart of the service (a `kill -9` included) carries on
 * where it was: each rollout, and each of its boxes with its state. SQLite in the service's data
 * directory (sqliteStore.ts), memory for tests (memoryStore.ts); PostgreSQL to come. Every store
 * passes one contract suite (test/tools/fleet/rollout/storeContract.ts).
 *
 * Asynchronous, so a store over the network fits the same interface. Every write is in one
 * transaction and is durable when its promise resolves: the engine writes a box `sending`
 * before it publishes to it (write-ahead), and counts on finding that after a crash.
 */
import type { RolloutBox, RolloutRecord } from "./model.ts";

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
