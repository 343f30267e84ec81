/**
 * Two `thea fleet serve` processes on one PostgreSQL and one mosquitto, as a hospital runs them
 * for availability (docs/fleet.md, "Two instances"): light simulated boxes (plain MQTT clients
 * publishing what an agent publishes: a retained status with its last will, a retained summary,
 * events) report to the broker. Each instance's API shows every box and every change; each event,
 * and each availability transition both instances see, is stored once; an instance killed with
 * -9 leaves the other serving everything, the events that follow included. The database's
 * password reaches them as a hospital's would: from a libpq password file (PGPASSFILE), never on
 * the command line or in the logs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { StatusPayload, SummaryPayload } from "../../../agent/core/api.ts";
import { deviceTopics } from "../../../agent/core/topics.ts";
import type { BoxHistoryEntry } from "../../../tools/fleet/model.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { historyOf, nextRow, startFleetServe, type FleetServeProcess } from "../../helpers/fleetServe.ts";
import { TestClient } from "../../helpers/mqttClient.ts";
import type { Postgres } from "../../helpers/postgres.ts";
import { usePostgres } from "../../helpers/postgresFixture.ts";
import { terminate, waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const postgres = usePostgres();

const BOOT = randomUUID();
const online: StatusPayload = {
  online: true,
  version: "0.1.0",
  startedAt: new Date().toISOString(),
  configHash: "900112fa3b254c0c",
  bootId: BOOT,
  session: 1,
  clockSynchronized: true,
  site: { province: "Kampong Cham" },
};

const summary = (diskUsedPercent: number): SummaryPayload => ({
  site: { province: "Kampong Cham" },
  onlineSince: new Date().toISOString(),
  version: "0.1.0",
  config: { version: 1, state: "applied", refusedVersion: null },
  update: "idle",
  clockSynchronized: true,
  cpuTempC: 50,
  diskUsedPercent,
  outbox: { backlog: 0, oldestAgeMin: null },
  peripherals: { connected: 1, configured: 1, down: [] },
  consultations: 0,
});

/** A box as the broker sees one: its last will set, its retained status and summary published. */
async function connectBox(deviceId: string): Promise<TestClient> {
  const topics = deviceTopics(deviceId);
  const will: StatusPayload = { online: false, reason: "connection-lost", bootId: BOOT };
  const box = await TestClient.connect(fixture.broker.url, { reconnectPeriod: 0, will: { topic: topics.status, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true } });
  fixture.cleanup(async () => {
    box.client.end(true);
    // Retained messages outlive the test: cleared, as an administrator would (docs/mqtt-api.md).
    for (const topic of [topics.status, topics.summary]) await fixture.watcher.publish(topic, "", { qos: 1, retain: true });
  });
  await box.publish(topics.status, JSON.stringify(online), { qos: 1, retain: true });
  await box.publish(topics.summary, JSON.stringify(summary(40)), { qos: 1, retain: true });
  return box;
}

async function sendEvents(box: TestClient, deviceId: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const id of ids) {
    await box.publish(deviceTopics(deviceId).event, JSON.stringify({ id, type: "peripheral.disconnected", time: new Date().toISOString(), peripheral: "spo2-1" }), { qos: 1 });
  }
  return ids;
}

/**
 * A summary both instances get after the events before it (one publisher, one broker: in order),
 * so once each shows it, each has taken in the events it was given.
 */
async function markAfterEvents(box: TestClient, deviceId: string, fleets: readonly FleetServeProcess[], diskUsedPercent: number): Promise<void> {
  await box.publish(deviceTopics(deviceId).summary, JSON.stringify(summary(diskUsedPercent)), { qos: 1, retain: true });
  await Promise.all(fleets.map((fleet) => nextRow(fleet, deviceId, (row) => row.summary?.diskUsedPercent === diskUsedPercent, `disk ${diskUsedPercent} % on ${fleet.url.port}`)));
}

/** A database owned by a role with a password, and a password file (libpq's format) that holds it. */
async function databaseWithPassword(server: Postgres): Promise<{ url: string; password: string; env: Record<string, string> }> {
  const password = randomBytes(12).toString("hex");
  const role = `fleet_${randomBytes(3).toString("hex")}`; // roles are the server's, not one database's
  const url = await server.createDatabase({ role, password });
  const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-pgpass-"));
  const file = path.join(dir, "pgpass");
  // node-postgres, like libpq, ignores a password file that others may read.
  await writeFile(file, `*:*:*:${role}:${password}\n`, { mode: 0o600 });
  return { url, password, env: { PGPASSFILE: file } };
}

const eventIds = (entries: readonly BoxHistoryEntry[]) => entries.filter((entry) => entry.kind === "event").map((entry) => String(entry.detail.id));

describe("two instances of thea fleet serve on one PostgreSQL", () => {
  it("each shows the whole fleet and every change, each event is stored once, and one killed -9 leaves the other serving everything", async () => {
    const { url: store, password, env } = await databaseWithPassword(postgres.server);
    const a = await startFleetServe(fixture.broker.url, ["--store", store], { env });
    fixture.cleanup(() => terminate(a.child, "fleet instance A"));
    const b = await startFleetServe(fixture.broker.url, ["--store", store], { env });
    fixture.cleanup(() => terminate(b.child, "fleet instance B"));

    const ids = ["kc-001", "kc-002", "kc-003"];
    const boxes = new Map<string, TestClient>();
    for (const id of ids) boxes.set(id, await connectBox(id));
    const box = (id: string) => boxes.get(id) ?? (() => { throw new Error(`no box ${id}`); })();
    for (const fleet of [a, b]) {
      for (const id of ids) await nextRow(fleet, id, (row) => row.online && row.summary !== null, `${id} online on ${fleet.url.port}`);
    }

    // A change of one box's state reaches both, whichever the broker would have given it to.
    await box("kc-001").publish(deviceTopics("kc-001").summary, JSON.stringify(summary(91)), { qos: 1, retain: true });
    for (const fleet of [a, b]) {
      const row = await nextRow(fleet, "kc-001", (candidate) => candidate.attention.some((reason) => reason.kind === "disk-full"), `kc-001's full disk on ${fleet.url.port}`);
      expect(row.attention).toEqual([{ kind: "disk-full", usedPercent: 91 }]);
    }

    // Events are shared between the two: each stored once, and both answer with all of them.
    const sent = await sendEvents(box("kc-002"), "kc-002", 20);
    await markAfterEvents(box("kc-002"), "kc-002", [a, b], 55);
    await historyOf(a, "kc-002"); // each writes what it holds before it answers
    await historyOf(b, "kc-002");
    const [fromA, fromB] = [await historyOf(a, "kc-002"), await historyOf(b, "kc-002")];
    expect(fromA).toEqual(fromB);
    expect(eventIds(fromA).sort()).toEqual([...sent].sort());
    // Both instances saw the box come online (its retained status): one transition kept.
    expect(fromA.filter((entry) => entry.kind === "online")).toHaveLength(1);

    // A killed -9: the broker ends its session, and every event and change goes to B.
    const gone = fixture.broker.log.lines.length;
    a.child.kill("SIGKILL");
    await waitFor<void>("instance A to exit", 10_000, (done) => {
      a.child.once("exit", () => done());
      return () => undefined;
    });
    await fixture.broker.log.waitForLine("the broker to drop instance A", (line) => /thea-fleet-\S+ (closed its connection|disconnected)/.test(line), 15_000, gone);
    const later = await sendEvents(box("kc-002"), "kc-002", 10);
    await markAfterEvents(box("kc-002"), "kc-002", [b], 60);
    expect(eventIds(await historyOf(b, "kc-002")).sort()).toEqual([...sent, ...later].sort());
    await box("kc-003").publish(deviceTopics("kc-003").summary, JSON.stringify(summary(93)), { qos: 1, retain: true });
    await nextRow(b, "kc-003", (row) => row.summary?.diskUsedPercent === 93, "kc-003's change on B");
    box("kc-001").client.end(true); // its link gone without a goodbye: the broker publishes its will
    const offline = await nextRow(b, "kc-001", (row) => !row.online, "kc-001 offline on B");
    expect(offline.offlineReason).toBe("connection-lost");
    expect((await historyOf(b, "kc-001")).map((entry) => entry.kind)).toEqual(["online", "offline"]);
    expect(b.child.exitCode).toBeNull();
    expect(a.log.text + b.log.text).not.toContain(password);
  }, 120_000);

  it("refuses to start without the database's password, and says why", async () => {
    const { url, password } = await databaseWithPassword(postgres.server);
    const started = startFleetServe(fixture.broker.url, ["--store", url], { env: { PGPASSFILE: "/nonexistent/pgpass", PGPASSWORD: "" } });
    const error = await started.then(
      (fleet) => {
        fixture.cleanup(() => terminate(fleet.child, "fleet instance"));
        throw new Error("it started");
      },
      (refused: unknown) => String(refused),
    );
    expect(error).toMatch(/exited \(2\)[\s\S]*password/);
    expect(error).not.toContain(password);
  }); // two services, a database and three boxes on a shared 2-core machine
});
