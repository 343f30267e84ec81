import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SiteLabels, StatusOnline, StatusPayload, SummaryPayload } from "../../../agent/core/api.ts";
import { createLogger } from "../../../lib/log.ts";
import { Fleet } from "../../../tools/fleet/fleet.ts";
import type { FleetMessage } from "../../../tools/fleet/messages.ts";
import { MemoryFleetStore } from "../../../tools/fleet/memoryStore.ts";

const T0 = Date.parse("2026-12-03T12:00:00.000Z");
const MINUTE = 60_000;

const online = (site: SiteLabels = {}, session = 1): StatusOnline => ({
  online: true,
  version: "0.1.0",
  startedAt: new Date(T0).toISOString(),
  configHash: "900112fa3b254c0c",
  bootId: "boot-1",
  session,
  clockSynchronized: true,
  site,
});
const lost: StatusPayload = { online: false, reason: "connection-lost", bootId: "boot-1" };

function summary(patch: Partial<SummaryPayload> = {}): SummaryPayload {
  return {
    site: {},
    onlineSince: new Date(T0).toISOString(),
    version: "0.1.0",
    config: { version: 3, state: "applied", refusedVersion: null },
    update: "idle",
    clockSynchronized: true,
    cpuTempC: 50,
    diskUsedPercent: 42,
    outbox: { backlog: 0, oldestAgeMin: null },
    peripherals: { connected: 1, configured: 1, down: [] },
    consultations: 0,
    ...patch,
  };
}

const status = (deviceId: string, payload: StatusPayload, retained = false): FleetMessage => ({ kind: "status", deviceId, payload, retained });
const summaryOf = (deviceId: string, payload: SummaryPayload, retained = false): FleetMessage => ({ kind: "summary", deviceId, payload, retained });

describe("Fleet", () => {
  let store: MemoryFleetStore;
  let fleet: Fleet;
  let changes: string[][];

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0 });
    store = new MemoryFleetStore();
    fleet = new Fleet({ store, now: () => Date.now() });
    changes = [];
    fleet.onChange((ids) => changes.push([...ids]));
    await fleet.start();
  });
  afterEach(async () => {
    await fleet.stop();
    vi.useRealTimers();
  });

  it("takes a box in from its status, with the summary that came before it", () => {
    fleet.apply(summaryOf("box-a", summary({ diskUsedPercent: 91 }), true));
    expect(fleet.box("box-a")).toBeUndefined();
    fleet.apply(status("box-a", online({ province: "Kampong Cham" }), true));
    const row = fleet.box("box-a");
    expect(row).toMatchObject({ online: true, since: new Date(T0).toISOString(), site: { province: "Kampong Cham" }, attention: [{ kind: "disk-full", usedPercent: 91 }] });
    expect(fleet.counts()).toEqual({ total: 1, online: 1, offline: 0, attention: 1, updating: 0 });
  });

  it("writes changes in one batch after the delay and tells listeners their ids once", async () => {
    fleet.apply(status("box-a", online()));
    fleet.apply(status("box-b", online()));
    fleet.apply(summaryOf("box-a", summary()));
    expect(await store.states()).toEqual([]);
    expect(changes).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(changes).toEqual([["box-a", "box-b"]]);
    expect((await store.states()).map((state) => state.deviceId).sort()).toEqual(["box-a", "box-b"]);
  });

  it("records online/offline transitions with since, and not a repeated status", async () => {
    fleet.apply(status("box-a", online()));
    vi.advanceTimersByTime(5 * MINUTE);
    fleet.apply(status("box-a", online(), true)); // the retained snapshot again, after a reconnect
    fleet.apply(status("box-a", lost));
    vi.advanceTimersByTime(MINUTE);
    fleet.apply(status("box-a", online({}, 2))); // the link back: the boot's second connection
    const history = await fleet.history("box-a", 0);
    expect(history.map((entry) => [entry.kind, entry.at])).toEqual([
      ["online", new Date(T0).toISOString()],
      ["offline", new Date(T0 + 5 * MINUTE).toISOString()],
      ["online", new Date(T0 + 6 * MINUTE).toISOString()],
    ]);
    expect(history[1]?.detail).toEqual({ reason: "connection-lost", bootId: "boot-1" });
    expect(fleet.box("box-a")).toMatchObject({ online: true, since: new Date(T0 + 6 * MINUTE).toISOString(), offlineReason: null });
  });

  it("keeps events in the box's history", async () => {
    fleet.apply(status("box-a", online()));
    fleet.apply({ kind: "event", deviceId: "box-a", retained: false, payload: { id: "e1", type: "disk.usage-high", time: "2026-12-03T11:59:00.000Z", usedPercent: 81 } });
    expect((await fleet.history("box-a", T0)).map((entry) => [entry.kind, entry.detail.type])).toEqual([
      ["online", undefined],
      ["event", "disk.usage-high"],
    ]);
  });

  it("moves a silent offline box into attention after N minutes, by the timer alone", async () => {
    fleet.apply(status("box-a", online()));
    fleet.apply(status("box-a", lost));
    await vi.advanceTimersByTimeAsync(200);
    changes = [];
    expect(fleet.counts().attention).toBe(0);
    vi.advanceTimersByTime(10 * MINUTE + 15_000);
    expect(changes).toEqual([["box-a"]]);
    expect(fleet.box("box-a")?.attention).toEqual([{ kind: "offline", forMin: 10 }]);
    expect(fleet.list({ state: "attention" }).map((row) => row.deviceId)).toEqual(["box-a"]);
    vi.advanceTimersByTime(5 * MINUTE);
    expect(changes).toEqual([["box-a"]]); // minutes passing are not a change
  });

  it("records a transition once when two instances sharing a store both see it, and an event delivered twice once", async () => {
    const second = new Fleet({ store, now: () => Date.now() });
    await second.start();
    const event: FleetMessage = { kind: "event", deviceId: "box-a", retained: false, payload: { id: "e1", type: "disk.usage-high", time: "2026-12-03T11:59:00.000Z" } };
    for (const instance of [fleet, second]) {
      instance.apply(status("box-a", online()));
      instance.apply(status("box-a", lost));
    }
    fleet.apply(event);
    fleet.apply(event); // QoS 1: the broker may deliver it again
    vi.advanceTimersByTime(MINUTE);
    for (const instance of [second, fleet]) instance.apply(status("box-a", online({}, 2)));
    await second.stop();
    expect((await fleet.history("box-a", 0)).map((entry) => [entry.kind, entry.at])).toEqual([
      ["online", new Date(T0).toISOString()],
      ["offline", new Date(T0).toISOString()],
      ["event", new Date(T0).toISOString()],
      ["online", new Date(T0 + MINUTE).toISOString()],
    ]);
  });

  describe("a box that says it is alive (status.keepaliveSec, alive every keep-alive)", () => {
    const SECOND = 1000;
    const talking = (session = 1): StatusPayload => ({ ...online({}, session), keepaliveSec: 30 });
    const alive = (deviceId: string): FleetMessage => ({ kind: "alive", deviceId, retained: false });
    const transitions = async (deviceId: string) => (await fleet.history(deviceId, 0)).map((entry) => [entry.kind, entry.at, entry.detail.reason ?? null]);
    const at = (ms: number) => new Date(T0 + ms).toISOString();

    it("is taken for offline, silent, once nothing is heard for more than its keep-alive + 4 s (shown within + 5 s), and said so in its history", async () => {
      fleet.apply(status("box-a", talking()));
      await vi.advanceTimersByTimeAsync(20 * SECOND);
      fleet.apply(alive("box-a"));
      await vi.advanceTimersByTimeAsync(34 * SECOND); // 34 s after the last heartbeat: not yet more than 30 + 4
      expect(fleet.box("box-a")).toMatchObject({ online: true });
      await vi.advanceTimersByTimeAsync(SECOND / 2); // the next check
      expect(fleet.box("box-a")).toMatchObject({ online: false, offlineReason: "silent", since: at(54.5 * SECOND), lastSeenAt: at(20 * SECOND) });
      expect(fleet.counts()).toMatchObject({ online: 0, offline: 1 });
      expect(await transitions("box-a")).toEqual([
        ["online", at(0), null],
        ["offline", at(54.5 * SECOND), "silent"],
      ]);
      expect((await fleet.history("box-a", 0))[1]?.detail).toEqual({ reason: "silent", silentSec: 35, bootId: "boot-1" });
    });

    it("is online again when heard before the broker's will (a glitch), and can fall silent again", async () => {
      fleet.apply(status("box-a", talking()));
      await vi.advanceTimersByTimeAsync(36 * SECOND);
      expect(fleet.box("box-a")?.offlineReason).toBe("silent");
      fleet.apply(status("box-a", talking(), true)); // the retained snapshot again (the service reconnected): old news
      expect(fleet.box("box-a")?.online).toBe(false);
      await vi.advanceTimersByTimeAsync(4 * SECOND);
      fleet.apply(alive("box-a"));
      expect(fleet.box("box-a")).toMatchObject({ online: true, offlineReason: null, since: at(40 * SECOND) });
      await vi.advanceTimersByTimeAsync(36 * SECOND);
      expect(await transitions("box-a")).toEqual([
        ["online", at(0), null],
        ["offline", at(34.5 * SECOND), "silent"],
        ["online", at(40 * SECOND), "heard-again"],
        ["offline", at(74.5 * SECOND), "silent"],
      ]);
      // Any live message is a sign of life, not only alive.
      fleet.apply(summaryOf("box-a", summary()));
      expect(fleet.box("box-a")?.online).toBe(true);
    });

    it("stays offline when the broker's will comes after the silence: one transition, the will's reason", async () => {
      fleet.apply(status("box-a", talking()));
      await vi.advanceTimersByTimeAsync(36 * SECOND);
      await vi.advanceTimersByTimeAsync(10 * SECOND);
      fleet.apply(status("box-a", lost));
      expect(fleet.box("box-a")).toMatchObject({ online: false, offlineReason: "connection-lost", since: at(34.5 * SECOND) });
      fleet.apply(status("box-a", talking(2))); // reconnected: a new connection, timed afresh
      await vi.advanceTimersByTimeAsync(30 * SECOND);
      expect(await transitions("box-a")).toEqual([
        ["online", at(0), null],
        ["offline", at(34.5 * SECOND), "silent"],
        ["online", at(46 * SECOND), null],
      ]);
    });

    it("is left to the broker's will when its status has no keepaliveSec (an older agent)", async () => {
      fleet.apply(status("box-a", online()));
      await vi.advanceTimersByTimeAsync(10 * MINUTE);
      fleet.apply(alive("box-a"));
      expect(fleet.box("box-a")).toMatchObject({ online: true });
      expect(await transitions("box-a")).toEqual([["online", at(0), null]]);
    });

    it("costs no store write and no change to tell per heartbeat", async () => {
      fleet.apply(status("box-a", talking()));
      await vi.advanceTimersByTimeAsync(200);
      const upsert = vi.spyOn(store, "upsert");
      const append = vi.spyOn(store, "append");
      changes = [];
      for (let beat = 0; beat < 100; beat += 1) {
        await vi.advanceTimersByTimeAsync(30 * SECOND);
        fleet.apply(alive("box-a"));
      }
      await fleet.flush();
      expect(fleet.box("box-a")?.online).toBe(true);
      expect(changes).toEqual([]);
      expect(upsert.mock.calls.flatMap(([states]) => states)).toEqual([]);
      expect(append.mock.calls.flatMap(([entries]) => entries)).toEqual([]);
    });

    it("ignores an alive from a box it does not know: nothing held", () => {
      fleet.apply(alive("stranger"));
      expect(fleet.has("stranger")).toBe(false);
      expect(fleet.size).toBe(0);
    });
  });

  it("stops its timers on stop", async () => {
    fleet.apply(status("box-a", lost));
    await vi.advanceTimersByTimeAsync(200);
    await fleet.stop();
    changes = [];
    vi.advanceTimersByTime(20 * MINUTE);
    expect(changes).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("lists most urgent first and filters by site, version, state and search", () => {
    fleet.apply(status("kc-1", online({ province: "Kampong Cham", district: "Batheay" })));
    fleet.apply(summaryOf("kc-1", summary({ site: { province: "Kampong Cham", district: "Batheay" }, version: "0.2.0" })));
    fleet.apply(status("kc-2", online({ province: "Kampong Cham" })));
    fleet.apply(summaryOf("kc-2", summary({ site: { province: "Kampong Cham" }, update: "downloading" })));
    fleet.apply(status("tk-1", online({ province: "Takeo" })));
    fleet.apply(status("tk-1", lost));
    vi.advanceTimersByTime(11 * MINUTE);
    fleet.apply(status("pp-9", online({ province: "Phnom Penh" })));
    fleet.apply(summaryOf("pp-9", summary({ site: { province: "Phnom Penh" }, clockSynchronized: false })));
    const ids = (query: Parameters<Fleet["list"]>[0]) => fleet.list(query).map((row) => row.deviceId);
    expect(ids({})).toEqual(["tk-1", "pp-9", "kc-1", "kc-2"]);
    expect(ids({ province: "Kampong Cham" })).toEqual(["kc-1", "kc-2"]);
    expect(ids({ district: "Batheay" })).toEqual(["kc-1"]);
    expect(ids({ version: "0.2.0" })).toEqual(["kc-1"]);
    expect(ids({ state: "offline" })).toEqual(["tk-1"]);
    expect(ids({ state: "updating" })).toEqual(["kc-2"]);
    expect(ids({ q: "take" })).toEqual(["tk-1"]);
    expect(ids({ q: "KC-" })).toEqual(["kc-1", "kc-2"]);
    expect(fleet.counts()).toEqual({ total: 4, online: 3, offline: 1, attention: 2, updating: 1 });
  });

  it("starts from what the store holds", async () => {
    fleet.apply(status("box-a", lost));
    await fleet.stop();
    const again = new Fleet({ store, now: () => Date.now() });
    await again.start();
    vi.advanceTimersByTime(11 * MINUTE);
    expect(again.box("box-a")?.attention).toEqual([{ kind: "offline", forMin: 11 }]);
    await again.stop();
  });

  it("writes one batch after the other, the newest state last, however slow the store", async () => {
    const slow = new MemoryFleetStore();
    const writes: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const writing = new Promise<void>((resolve) => (started = resolve));
    const upsert = slow.upsert.bind(slow);
    slow.upsert = async (states) => {
      writes.push(`start ${states.map((state) => state.online).join()}`);
      if (writes.length === 1) {
        started();
        await gate; // the first write hangs (a database slow to answer)
      }
      await upsert(states);
      writes.push("end");
    };
    const other = new Fleet({ store: slow, now: () => Date.now() });
    await other.start();
    other.apply(status("box-a", online()));
    const first = other.flush();
    await writing;
    other.apply(status("box-a", lost));
    const second = other.flush();
    release();
    await Promise.all([first, second]);
    expect(writes).toEqual(["start true", "end", "start false", "end"]);
    expect((await slow.states()).map((state) => state.online)).toEqual([false]);
    await other.stop();
  });

  it("tries a store that keeps failing less and less often, and writes everything once it is back", async () => {
    const down = new MemoryFleetStore();
    let attempts = 0;
    let up = false;
    const upsert = down.upsert.bind(down);
    down.upsert = async (states) => {
      attempts += 1;
      if (!up) throw new Error("connect ECONNREFUSED /run/postgresql/.s.PGSQL.5432");
      await upsert(states);
    };
    const lines: string[] = [];
    const log = createLogger({ level: "error", destination: { write: (line: string) => void lines.push(line) } });
    const other = new Fleet({ store: down, now: () => Date.now(), log });
    await other.start();
    for (let second = 0; second < 60; second++) {
      other.apply(status(`box-${second}`, online())); // the fleet goes on changing meanwhile
      await vi.advanceTimersByTimeAsync(1000);
    }
    // 200 ms, doubling up to 30 s: 0.2+0.4+…+25.6 s is 51 s, then one more within the minute.
    expect(attempts).toBeLessThanOrEqual(10);
    // Nor does a flood of history requests (each writes what is pending first) try it each time.
    const before = attempts;
    for (let i = 0; i < 20; i++) await other.history("box-0", 0);
    expect(attempts - before).toBeLessThanOrEqual(1);
    expect(lines).toHaveLength(attempts);
    up = true;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await down.states()).toHaveLength(60);
    expect(await down.history("box-0", 0)).toHaveLength(1);
    await other.stop();
  });

  it("keeps a change it could not write and writes it with the next batch", async () => {
    const failing = new MemoryFleetStore();
    let failures = 1;
    const upsert = failing.upsert.bind(failing);
    failing.upsert = async (states) => {
      if (failures-- > 0) throw new Error("disk full");
      await upsert(states);
    };
    const lines: string[] = [];
    const log = createLogger({ level: "error", destination: { write: (line: string) => void lines.push(line) } });
    const other = new Fleet({ store: failing, now: () => Date.now(), log });
    await other.start();
    other.apply(status("box-a", online()));
    await vi.advanceTimersByTimeAsync(200);
    expect(await failing.states()).toEqual([]);
    expect(other.box("box-a")?.online).toBe(true);
    expect(lines.join("")).toContain("disk full");
    await vi.advanceTimersByTimeAsync(200);
    expect((await failing.states()).map((state) => state.deviceId)).toEqual(["box-a"]);
    expect((await failing.history("box-a", 0)).map((entry) => entry.kind)).toEqual(["online"]);
    await other.stop();
  });
});
