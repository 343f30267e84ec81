/** A RolloutStore in memory, for tests of what is built on it; passes the same contract suite. */
import type { RolloutBox, RolloutRecord } from "./model.ts";
import type { RolloutStore } from "./store.ts";

export class MemoryRolloutStore implements RolloutStore {
  readonly #rollouts = new Map<string, { rollout: RolloutRecord; boxes: Map<string, RolloutBox> }>();
  #closed = false;

  async create(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void> {
    this.#open();
    if (this.#rollouts.has(rollout.id)) throw new Error(`rollout ${rollout.id} exists already`);
    this.#rollouts.set(rollout.id, { rollout: structuredClone(rollout), boxes: new Map(boxes.map((box) => [box.deviceId, structuredClone(box)])) });
  }

  async update(rollout: RolloutRecord, boxes: readonly RolloutBox[]): Promise<void> {
    this.#open();
    const kept = this.#rollouts.get(rollout.id);
    if (!kept) throw new Error(`no rollout ${rollout.id}`);
    kept.rollout = structuredClone(rollout);
    for (const box of boxes) kept.boxes.set(box.deviceId, structuredClone(box));
  }

  async list(): Promise<RolloutRecord[]> {
    this.#open();
    return [...this.#rollouts.values()].map(({ rollout }) => structuredClone(rollout)).sort(newestFirst);
  }

  async get(id: string): Promise<{ rollout: RolloutRecord; boxes: RolloutBox[] } | undefined> {
    this.#open();
    const kept = this.#rollouts.get(id);
    if (!kept) return undefined;
    const boxes = [...kept.boxes.values()].map((box) => structuredClone(box)).sort((a, b) => a.batch - b.batch || (a.deviceId < b.deviceId ? -1 : 1));
    return { rollout: structuredClone(kept.rollout), boxes };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new Error("the rollout store is closed");
  }
}

export function newestFirst(a: RolloutRecord, b: RolloutRecord): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1;
}
