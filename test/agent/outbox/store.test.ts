import { describe, expect, it } from "vitest";
import { PRIORITY } from "../../../agent/outbox/priority.ts";
import { MemoryStore } from "../../../agent/outbox/store.ts";

describe("MemoryStore", () => {
  it("takes over entries with their ids, and numbers new ones after them", () => {
    const store = new MemoryStore(10, 5);
    store.restore({ id: 7, topic: "t", payload: "{}", priority: PRIORITY.clinical, createdAt: 1, bytes: 3 });
    const added = store.add({ topic: "t", priority: PRIORITY.clinical, createdAt: 2, payload: (seq) => String(seq) });
    expect(store.after(0, 10).map((entry) => [entry.id, entry.payload])).toEqual([[7, "{}"], [11, "6"]]);
    expect(added.id).toBe(11);
  });
});
