/**
 * The contract every FleetStore passes (after MQTT.js's store tests: one suite, every
 * implementation): sqliteStore.test.ts, memoryStore.test.ts and pgStore.test.ts (a real
 * PostgreSQL) run it.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BoxHistoryEntry } from "../../../tools/fleet/model.ts";
import type { FleetStore } from "../../../tools/fleet/store.ts";
import type { BoxState } from "../../../tools/fleet/types/boxState.ts";

export interface StoreFactory {
  /** A new, empty store. */
  open(): Promise<FleetStore> | FleetStore;
  /** The same store opened again after close, when the store keeps its data across that. */
  reopen?(): Promise<FleetStore> | FleetStore;
}

const T0 = Date.parse("2026-12-01T00:00:00.000Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

export function box(deviceId: string, patch: Partial<BoxState> = {}): BoxState {
  return { deviceId, site: { province: "Kampong Cham" }, online: true, since: at(0), offlineReason: null, summary: null, lastSeenAt: at(0), ...patch };
}

function entry(deviceId: string, minutes: number, n = 0): BoxHistoryEntry {
  return { deviceId, at: at(minutes), kind: "event", detail: { type: "peripheral.disconnected", n } };
}

export function fleetStoreContract(name: string, factory: StoreFactory): void {
  describe(`${name} (FleetStore contract)`, () => {
    const opened: FleetStore[] = [];
    const open = async () => {
      const store = await factory.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it("keeps the latest state of each box, a batch at a time", async () => {
      const store = await open();
      await store.upsert([box("a"), box("b")]);
      await store.upsert([box("a", { online: false, offlineReason: "connection-lost", since: at(5) })]);
      const states = (await store.states()).sort((x, y) => (x.deviceId < y.deviceId ? -1 : 1));
      expect(states).toEqual([box("a", { online: false, offlineReason: "connection-lost", since: at(5) }), box("b")]);
    });

    it("gives back a box's history since a time, oldest first, appended order at equal times", async () => {
      const store = await open();
      await store.append([entry("a", 3, 1), entry("a", 1), entry("b", 2), entry("a", 3, 2)]);
      await store.append([{ deviceId: "a", at: at(2), kind: "offline", detail: { reason: "connection-lost" } }]);
      const history = await store.history("a", T0 + 2 * 60_000);
      expect(history.map((e) => [e.kind, e.at, e.detail.n])).toEqual([
        ["offline", at(2), undefined],
        ["event", at(3), 1],
        ["event", at(3), 2],
      ]);
      expect(await store.history("nobody", 0)).toEqual([]);
    });

    it("keeps an entry appended twice under the same `once` a single time, and gives it back without it", async () => {
      const store = await open();
      const transition = { deviceId: "a", at: at(1), kind: "online" as const, detail: { bootId: "b1", session: 1 } };
      await store.append([{ ...transition, once: "online:b1:1" }, entry("a", 1)]);
      // The other instance's copy, a little later by its clock, and in a batch of its own.
      await store.append([{ ...transition, at: at(1.01), once: "online:b1:1" }, { ...transition, deviceId: "b", once: "online:b1:1" }, entry("a", 2)]);
      expect(await store.history("a", 0)).toEqual([transition, entry("a", 1), entry("a", 2)]);
      expect(await store.history("b", 0)).toEqual([{ ...transition, deviceId: "b" }]);
    });

    it("prunes history past its age", async () => {
      const store = await open();
      await store.append([entry("a", 0), entry("a", 10), entry("b", 5)]);
      const removed = await store.prune({ beforeMs: T0 + 6 * 60_000, maxPerBox: 100 });
      expect(removed).toBe(2);
      expect((await store.history("a", 0)).map((e) => e.at)).toEqual([at(10)]);
      expect(await store.history("b", 0)).toEqual([]);
    });

    it("prunes each box to its newest entries, so a flapping box cannot fill the disk", async () => {
      const store = await open();
      await store.append(Array.from({ length: 50 }, (_, i) => entry("flappy", i, i)));
      await store.append([entry("calm", 1)]);
      const removed = await store.prune({ beforeMs: 0, maxPerBox: 10 });
      expect(removed).toBe(40);
      expect((await store.history("flappy", 0)).map((e) => e.detail.n)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
      expect(await store.history("calm", 0)).toHaveLength(1);
    });

    it("keeps nested summaries and site labels as given", async () => {
      const store = await open();
      const state = box("c", {
        site: { province: "Kampong Cham", district: "Batheay", commune: "Chbar Ampov" },
        summary: {
          site: { province: "Kampong Cham" },
          onlineSince: at(0),
          version: "0.1.0",
          config: { version: 3, state: "applied", refusedVersion: null },
          update: "idle",
          clockSynchronized: null,
          cpuTempC: 50,
          diskUsedPercent: 42,
          outbox: { backlog: 0, oldestAgeMin: null },
          peripherals: { connected: 1, configured: 2, down: ["bp"], downMore: 3 },
          consultations: 0,
        },
      });
      await store.upsert([state]);
      expect(await store.states()).toEqual([state]);
    });

    it("gives a state back as written, key order included (the fleet compares states by their text)", async () => {
      const store = await open();
      const state: BoxState = { lastSeenAt: at(1), summary: null, deviceId: "z", site: { district: "Batheay", province: "Kampong Cham" }, since: at(0), online: true, offlineReason: null };
      await store.upsert([state]);
      expect((await store.states()).map((kept) => JSON.stringify(kept))).toEqual([JSON.stringify(state)]);
    });

    if (factory.reopen) {
      const reopen = factory.reopen;
      it("keeps states and history across close and reopen", async () => {
        const store = await open();
        await store.upsert([box("a", { online: false, offlineReason: "shutdown", since: at(7) })]);
        await store.append([entry("a", 7)]);
        await store.close();
        const again = await reopen();
        opened.push(again);
        expect(await again.states()).toEqual([box("a", { online: false, offlineReason: "shutdown", since: at(7) })]);
        expect(await again.history("a", 0)).toEqual([entry("a", 7)]);
      });
    }
  });
}
