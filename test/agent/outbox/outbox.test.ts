/** The outbox on a real SQLite file in a temporary data directory. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import { Outbox, OUTBOX_FILE, type OutboxSettings } from "../../../agent/outbox/outbox.ts";
import { PRIORITY, type Priority } from "../../../agent/outbox/priority.ts";

const log = createLogger({ level: "silent" });
const roomy: OutboxSettings = { maxMessages: 1000, maxBytes: 10_000_000, maxAgeSec: 3600 };

async function outbox(settings = roomy, dataDir?: string): Promise<{ outbox: Outbox; dir: string }> {
  const dir = dataDir ?? (await mkdtemp(path.join(tmpdir(), "thea-outbox-")));
  const opened = new Outbox({ dataDir: dir, settings, log });
  opened.start();
  return { outbox: opened, dir };
}

const add = (box: Outbox, priority: Priority, createdAt = Date.now()) =>
  box.enqueue({ topic: "t", priority, createdAt, payload: (seq) => JSON.stringify({ seq }) });

describe("Outbox", () => {
  it("numbers readings without gaps, also across a reopen (as after a crash) and between health reports", async () => {
    const { outbox: first, dir } = await outbox();
    const health = first.enqueue({ topic: "h", priority: PRIORITY.telemetry, createdAt: Date.now(), payload: "{}" });
    const seqs = [add(first, PRIORITY.clinical), add(first, PRIORITY.clinical)].map((entry) => JSON.parse(entry.payload).seq as number);
    expect(health.payload).toBe("{}");
    first.stop();
    const { outbox: second } = await outbox(roomy, dir);
    const next = JSON.parse(add(second, PRIORITY.clinical).payload).seq as number;
    expect([...seqs, next]).toEqual([1, 2, 3]);
    expect(second.stats().depth).toBe(4); // nothing acknowledged: everything is still pending
    second.stop();
  });

  it("removes an entry only when acknowledged, and hands out pending ones oldest first", async () => {
    const { outbox: box } = await outbox();
    const [a, b, c] = [add(box, PRIORITY.clinical), add(box, PRIORITY.telemetry), add(box, PRIORITY.clinical)];
    box.acknowledge(b.id);
    expect(box.after(0, 10).map((entry) => entry.id)).toEqual([a.id, c.id]);
    expect(box.after(a.id, 10, c.id)).toEqual([]);
    box.stop();
  });

  it("deletes what the broker acknowledged within one turn of the event loop, on disk", async () => {
    const { outbox: box, dir } = await outbox();
    const entries = [add(box, PRIORITY.clinical), add(box, PRIORITY.clinical), add(box, PRIORITY.clinical)];
    for (const entry of entries.slice(0, 2)) box.acknowledge(entry.id);
    expect(box.after(0, 10).map((entry) => entry.id)).toEqual([entries[2]?.id]); // gone at once for the sender
    await new Promise((resolve) => setImmediate(resolve)); // the batch is written in the next turn
    const onDisk = new DatabaseSync(path.join(dir, OUTBOX_FILE), { readOnly: true });
    expect(onDisk.prepare("SELECT id FROM outbox").all().map((row) => row.id)).toEqual([entries[2]?.id]);
    onDisk.close();
    box.stop();
  });

  it("when full, drops health telemetry first and clinical readings last, counting each drop", async () => {
    const { outbox: box } = await outbox({ ...roomy, maxMessages: 3 });
    add(box, PRIORITY.clinical);
    add(box, PRIORITY.telemetry);
    add(box, PRIORITY.event);
    add(box, PRIORITY.clinical); // over by one: the telemetry entry goes
    add(box, PRIORITY.clinical); // over by one again: the event goes
    expect(box.stats()).toMatchObject({ depth: 3, dropped: { telemetry: 1, event: 1, clinical: 0 } });
    add(box, PRIORITY.clinical); // only clinical left: the oldest clinical goes
    expect(box.stats().dropped).toEqual({ telemetry: 1, event: 1, clinical: 1 });
    box.stop();
  });

  it("drops entries older than the age bound", async () => {
    const { outbox: box } = await outbox({ ...roomy, maxAgeSec: 60 });
    add(box, PRIORITY.clinical, Date.now() - 120_000);
    add(box, PRIORITY.clinical);
    expect(box.stats()).toMatchObject({ depth: 1, dropped: { clinical: 1 } });
    box.stop();
  });

  it("keeps working in memory, loudly, when the data directory cannot be written", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "thea-outbox-")), "not-a-dir");
    await writeFile(file, "");
    const { outbox: box } = await outbox(roomy, path.join(file, "data"));
    const entry = add(box, PRIORITY.clinical);
    expect(box.stats()).toMatchObject({ depth: 1, degraded: true, degradedReason: expect.stringContaining("cannot open") });
    expect(JSON.parse(entry.payload).seq).toBeGreaterThan(0);
    box.stop();
  });

  it("keeps its depth and size figures right through acknowledgements, drops and expiry", async () => {
    const { outbox: box, dir } = await outbox({ maxMessages: 4, maxBytes: 10_000_000, maxAgeSec: 60 });
    add(box, PRIORITY.clinical, Date.now() - 120_000); // expires at the next enqueue
    const kept = [add(box, PRIORITY.clinical), add(box, PRIORITY.telemetry), add(box, PRIORITY.clinical), add(box, PRIORITY.clinical)];
    add(box, PRIORITY.clinical); // over the bound: the telemetry entry is evicted
    box.acknowledge(kept[0]?.id ?? 0);
    box.acknowledge(kept[0]?.id ?? 0); // a second acknowledgement of the same entry changes nothing
    const running = box.stats();
    box.stop();
    const { outbox: reopened } = await outbox({ maxMessages: 4, maxBytes: 10_000_000, maxAgeSec: 60 }, dir);
    const counted = reopened.stats(); // counted from the database afresh
    expect(running.depth).toBe(3);
    expect({ depth: running.depth, bytes: running.bytes }).toEqual({ depth: counted.depth, bytes: counted.bytes });
    reopened.stop();
  });
});
