import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PeripheralMemoryStore } from "../../../agent/devices/memoryStore.ts";
import { createLogger } from "../../../lib/log.ts";
import { LogRing } from "../../../lib/logRing.ts";
import type { PeripheralConfig } from "../../../config/schema.ts";
import { bleHealth } from "../../../drivers/ble-health/descriptor.ts";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fileIn(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-memory-"));
  dirs.push(dir);
  return path.join(dir, "peripheralMemory.json");
}

function storeAt(file: string): { store: PeripheralMemoryStore; ring: LogRing } {
  const ring = new LogRing();
  const store = new PeripheralMemoryStore({ file, log: createLogger({ level: "info", destination: ring }) });
  store.load();
  return { store, ring };
}

const meter = (address = "E8:00:11:22:33:44", id = "meter"): PeripheralConfig => ({ id, driver: "ble-health", ble: { address, pair: false }, options: {}, publishRateHz: 1, silentAfterSec: 0 });
const CURSOR = { glucoseCursor: { sequenceNumber: 41, baseTime: "2026-12-03T08:05:00" } };

/** A memory as the driver gives it back: its JSON is the observable part. */
const json = (store: PeripheralMemoryStore, config: PeripheralConfig) => bleHealth.memoryJson(store.memoryFor(config, bleHealth));

describe("PeripheralMemoryStore", () => {
  it("gives a peripheral its driver's memory back after a restart", async () => {
    const file = await fileIn();
    const before = storeAt(file).store;
    before.save(meter(), bleHealth, CURSOR);
    await before.settled();
    expect(json(storeAt(file).store, meter())).toEqual(CURSOR);
  });

  it("does not hand a cursor to another meter, another peripheral id or another driver's peripheral", async () => {
    const file = await fileIn();
    const before = storeAt(file).store;
    before.save(meter(), bleHealth, CURSOR);
    await before.settled();
    const after = storeAt(file).store;
    expect(json(after, meter("E8:00:11:22:33:55"))).toEqual({});
    expect(json(after, meter(undefined, "other"))).toEqual({});
    // The same address, written in lower case: the same meter.
    expect(json(after, meter("e8:00:11:22:33:44"))).toEqual(CURSOR);
  });

  it("starts as if never read, with a warning, from a corrupt file or an entry the driver rejects", async () => {
    const file = await fileIn();
    await writeFile(file, '{"version":1,"entr');
    const corrupt = storeAt(file);
    expect(json(corrupt.store, meter())).toEqual({});
    expect(corrupt.ring.tail(10).map((line) => line.msg)).toContain("peripheral memory not loaded: devices start as if never read");

    const entry = { peripheral: "meter", driver: "ble-health", address: "E8:00:11:22:33:44", savedAt: "2026-12-03T08:00:00.000Z", memory: { glucoseCursor: { sequenceNumber: 70000 } } };
    await writeFile(file, JSON.stringify({ version: 1, entries: [entry] }));
    const rejected = storeAt(file);
    expect(json(rejected.store, meter())).toEqual({});
    expect(rejected.ring.tail(10).map((line) => line.msg)).toContain("saved peripheral memory not valid: the device starts as if never read");
  });

  it("keeps at most 64 peripherals, dropping the least recently saved", async () => {
    const file = await fileIn();
    const store = storeAt(file).store;
    for (let n = 0; n < 70; n++) store.save(meter(undefined, `m${n}`), bleHealth, { glucoseCursor: { sequenceNumber: n } });
    await store.settled();
    const written = JSON.parse(await readFile(file, "utf8")) as { entries: { peripheral: string }[] };
    expect(written.entries).toHaveLength(64);
    expect(written.entries[0]?.peripheral).toBe("m6");
    expect(json(storeAt(file).store, meter(undefined, "m69"))).toEqual({ glucoseCursor: { sequenceNumber: 69 } });
  });
});
