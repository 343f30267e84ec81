/** A FleetStore in memory, for tests of what is built on a store; passes the same contract suite. */
import type { BoxHistoryEntry } from "./model.ts";
import { entryOf, type FleetStore, type HistoryRecord, type PruneLimits } from "./store.ts";
import type { BoxState } from "./types/boxState.ts";

export class MemoryFleetStore implements FleetStore {
  readonly #states = new Map<string, BoxState>();
  readonly #history = new Map<string, HistoryRecord[]>();
  #closed = false;

  async upsert(states: readonly BoxState[]): Promise<void> {
    this.#open();
    for (const state of states) this.#states.set(state.deviceId, structuredClone(state));
  }

  async states(): Promise<BoxState[]> {
    this.#open();
    return [...this.#states.values()].map((state) => structuredClone(state));
  }

  async append(entries: readonly HistoryRecord[]): Promise<void> {
    this.#open();
    for (const entry of entries) {
      const list = this.#history.get(entry.deviceId) ?? [];
      if (entry.once !== undefined && list.some((kept) => kept.once === entry.once)) continue;
      // Kept sorted by time; an entry at the same time as others goes after them.
      let at = list.length;
      const time = Date.parse(entry.at);
      while (at > 0 && Date.parse(list[at - 1]?.at ?? "") > time) at -= 1;
      list.splice(at, 0, structuredClone(entry));
      this.#history.set(entry.deviceId, list);
    }
  }

  async history(deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]> {
    this.#open();
    return (this.#history.get(deviceId) ?? []).filter((entry) => Date.parse(entry.at) >= sinceMs).map((entry) => structuredClone(entryOf(entry)));
  }

  async prune({ beforeMs, maxPerBox }: PruneLimits): Promise<number> {
    this.#open();
    let removed = 0;
    for (const [deviceId, list] of this.#history) {
      const kept = list.filter((entry) => Date.parse(entry.at) >= beforeMs);
      if (kept.length > maxPerBox) kept.splice(0, kept.length - Math.max(0, maxPerBox));
      removed += list.length - kept.length;
      if (kept.length > 0) this.#history.set(deviceId, kept);
      else this.#history.delete(deviceId);
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new Error("fleet store is closed");
  }
}
