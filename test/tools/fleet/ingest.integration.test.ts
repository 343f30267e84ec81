/**
 * FleetIngest against a real mosquitto (MQTT 5, shared subscriptions), with plain mqtt.js clients
 * as boxes: what an operator relies on — every box seen at once on start, a box that vanishes
 * seen offline, and hostile messages counted without harm to the fleet.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as connectTcp, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { StatusPayload, SummaryPayload } from "../../../agent/core/api.ts";
import { deviceTopics } from "../../../agent/core/topics.ts";
import { createLogger } from "../../../lib/log.ts";
import { Fleet } from "../../../tools/fleet/fleet.ts";
import { FleetIngest } from "../../../tools/fleet/ingest.ts";
import { openSqliteStore } from "../../../tools/fleet/sqliteStore.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TestClient } from "../../helpers/mqttClient.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const log = createLogger({ level: "silent" });

const online = (province: string): StatusPayload => ({
  online: true,
  version: "0.1.0",
  startedAt: new Date().toISOString(),
  configHash: "900112fa3b254c0c",
  bootId: "boot-1",
  session: 1,
  clockSynchronized: true,
  site: { province },
});

const summary = (province: string, diskUsedPercent: number): SummaryPayload => ({
  site: { province },
  onlineSince: new Date().toISOString(),
  version: "0.1.0",
  config: { version: 1, state: "applied", refusedVersion: null },
  update: "idle",
  clockSynchronized: true,
  cpuTempC: 45,
  diskUsedPercent,
  outbox: { backlog: 0, oldestAgeMin: null },
  peripherals: { connected: 1, configured: 1, down: [] },
  consultations: 0,
});

/** A fleet service on the test's broker: SQLite in a temp dir, the ingest subscribed. */
async function startService(maxBoxes?: number): Promise<{ fleet: Fleet; ingest: FleetIngest }> {
  const dir = mkdtempSync(path.join(tmpdir(), "thea-fleet-ingest-"));
  const store = openSqliteStore(path.join(dir, "fleet.sqlite"));
  const fleet = new Fleet({ store, log });
  const group = `g-${Math.random().toString(16).slice(2)}`;
  const ingest = new FleetIngest({ url: fixture.broker.url, fleet, log, group, ...(maxBoxes !== undefined && { maxBoxes }) });
  await fleet.start();
  const subscribed = ingest.whenSubscribed();
  ingest.start();
  fixture.cleanup(() => rmSync(dir, { recursive: true, force: true }));
  fixture.cleanup(() => store.close());
  fixture.cleanup(() => fleet.stop());
  fixture.cleanup(() => ingest.stop());
  await subscribed;
  return { fleet, ingest };
}

/** Resolves once `check` holds, looking again at each change the fleet reports. */
function until(fleet: Fleet, what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  if (check()) return Promise.resolve();
  return waitFor<void>(what, timeoutMs, (done) =>
    fleet.onChange(() => {
      if (check()) done();
    }),
  );
}

/** A TCP hop between a box and the broker whose link can be cut silently: no FIN, no RST, as a power cut. */
async function silentLink(brokerPort: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((box) => {
    const broker = connectTcp(brokerPort, "127.0.0.1");
    sockets.push(box, broker);
    box.pipe(broker);
    broker.pipe(box);
    box.on("error", () => broker.destroy());
    broker.on("error", () => box.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    cut: () => {
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("FleetIngest", () => {
  it("sees every box at once on start, from their retained status and summary", async () => {
    const ids = ["kc-001", "kc-002", "tk-001", "tk-002", "pp-001"];
    const boxes = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(async () => {
      // Retained messages outlive the test: clear them, as an administrator would (docs/mqtt-api.md).
      for (const id of ids) for (const topic of [deviceTopics(id).status, deviceTopics(id).summary]) await boxes.publish(topic, "", { qos: 1, retain: true });
      await boxes.close();
    });
    for (const [index, id] of ids.entries()) {
      await boxes.publish(deviceTopics(id).status, JSON.stringify(online(`P${index}`)), { qos: 1, retain: true });
      await boxes.publish(deviceTopics(id).summary, JSON.stringify(summary(`P${index}`, index === 2 ? 93 : 40)), { qos: 1, retain: true });
    }

    const { fleet } = await startService();
    await until(fleet, "every retained box with its summary", () => ids.every((id) => fleet.box(id)?.summary));

    expect(fleet.counts()).toMatchObject({ total: 5, online: 5, attention: 1 });
    expect(fleet.list({})[0]).toMatchObject({ deviceId: "tk-001", attention: [{ kind: "disk-full", usedPercent: 93 }] });
    expect(fleet.box("pp-001")?.site).toEqual({ province: "P4" });
  });

  it("sees a box offline once the broker gives up on it after its keep-alive, from its last will", async () => {
    const { fleet } = await startService();
    const link = await silentLink(fixture.broker.port);
    fixture.cleanup(() => link.close());
    const topics = deviceTopics("vanishing-box");
    const keepaliveSec = 1;
    const lastWill: StatusPayload = { online: false, reason: "connection-lost", bootId: "boot-1" };
    const box = await TestClient.connect(`mqtt://127.0.0.1:${link.port}`, {
      keepalive: keepaliveSec,
      reconnectPeriod: 0,
      will: { topic: topics.status, payload: Buffer.from(JSON.stringify(lastWill)), qos: 1, retain: true },
    });
    fixture.cleanup(async () => {
      box.client.end(true);
      await fixture.watcher.publish(topics.status, "", { qos: 1, retain: true });
    });
    await box.publish(topics.status, JSON.stringify(online("Takeo")), { qos: 1, retain: true });
    await until(fleet, "the box online", () => fleet.box("vanishing-box")?.online === true);

    const cutAt = Date.now();
    link.cut();
    await until(fleet, "the box offline", () => fleet.box("vanishing-box")?.online === false, 15_000);

    // The broker waits 1.5 keep-alives without a packet (MQTT 5 §3.1.2.10) before the will.
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(keepaliveSec * 1000);
    expect(fleet.box("vanishing-box")).toMatchObject({ online: false, offlineReason: "connection-lost" });
    expect((await fleet.history("vanishing-box", 0)).map((entry) => entry.kind)).toEqual(["online", "offline"]);
  });

  it("sees a box that says it is alive offline by its own rule, silent, before the broker's will, which then only confirms it", async () => {
    const { fleet } = await startService();
    const link = await silentLink(fixture.broker.port);
    fixture.cleanup(() => link.close());
    const topics = deviceTopics("quiet-box");
    const lastWill: StatusPayload = { online: false, reason: "connection-lost", bootId: "boot-1" };
    // The heartbeat every 5 s, the connection's keep-alive 10 s: the service's rule (more than
    // 5 + 4 s unheard) falls at most 10 s after the cut, the broker's will at least 15 s after the
    // last packet (MQTT 5 §3.1.2.10), so the order tested does not hang on the machine's load.
    // The agent uses one value for both; the margin there is half the keep-alive less 4 s.
    const box = await TestClient.connect(`mqtt://127.0.0.1:${link.port}`, {
      keepalive: 10,
      reconnectPeriod: 0,
      will: { topic: topics.status, payload: Buffer.from(JSON.stringify(lastWill)), qos: 1, retain: true },
    });
    const heartbeat = setInterval(() => void box.client.publishAsync(topics.alive, "", { qos: 1 }).catch(() => undefined), 5000);
    fixture.cleanup(async () => {
      clearInterval(heartbeat);
      box.client.end(true);
      await fixture.watcher.publish(topics.status, "", { qos: 1, retain: true });
    });
    const seen: string[] = [];
    fleet.onChange((ids) => {
      const row = fleet.box("quiet-box");
      if (ids.includes("quiet-box") && row) seen.push(row.online ? "online" : `offline:${row.offlineReason}`);
    });
    const will = fixture.watcher.next(topics.status, (message) => message.payload.length > 0 && (message.json() as StatusPayload).online === false, 40_000);
    await box.publish(topics.status, JSON.stringify({ ...online("Takeo"), keepaliveSec: 5 }), { qos: 1, retain: true });
    await until(fleet, "the box online", () => fleet.box("quiet-box")?.online === true);
    // Heard past its keep-alive + 4 s by its heartbeats alone: still online.
    let beats = 0;
    await fixture.watcher.next(topics.alive, () => ++beats === 3, 25_000);
    expect(fleet.box("quiet-box")?.online).toBe(true);

    link.cut();
    await until(fleet, "the box silent", () => fleet.box("quiet-box")?.offlineReason === "silent", 20_000);
    const silentRow = fleet.box("quiet-box");
    await will;
    await until(fleet, "the will applied", () => fleet.box("quiet-box")?.offlineReason === "connection-lost", 10_000);

    expect(seen.filter((state, index) => state !== seen[index - 1])).toEqual(["online", "offline:silent", "offline:connection-lost"]);
    // Offline since the service's rule, not since the will.
    expect(fleet.box("quiet-box")?.since).toBe(silentRow?.since);
    const history = await fleet.history("quiet-box", 0);
    expect(history.map((entry) => [entry.kind, entry.detail.reason ?? null])).toEqual([
      ["online", null],
      ["offline", "silent"],
    ]);
  }, 90_000);

  it("counts a malformed, an oversized and a wrongly named message, and keeps serving", async () => {
    const { fleet, ingest } = await startService();
    const sender = fixture.watcher;
    await sender.publish(deviceTopics("bad-json").status, "{online: yes", { qos: 1 });
    await sender.publish(deviceTopics("too-big").summary, JSON.stringify({ ...summary("x", 1), padding: "x".repeat(8000) }), { qos: 1 });
    await sender.publish(deviceTopics("Not_A_Box").status, JSON.stringify(online("x")), { qos: 1 });
    await sender.publish(deviceTopics("wrong-shape").status, JSON.stringify({ online: true }), { qos: 1 });
    await sender.publish(deviceTopics("good-box").status, JSON.stringify(online("Takeo")), { qos: 1 });
    fixture.cleanup(() => sender.publish(deviceTopics("good-box").status, "", { qos: 1, retain: true }));

    await until(fleet, "the good box after the bad ones", () => fleet.box("good-box")?.online === true);
    expect(ingest.stats().discarded).toMatchObject({ "invalid-json": 1, "too-large": 1, "device-id": 1, shape: 1 });
    expect(fleet.counts().total).toBe(1);
    expect(fleet.box("bad-json")).toBeUndefined();
  });

  it("tracks at most maxBoxes boxes: a flood of new ids is counted and ignored, known boxes still change", async () => {
    const { fleet, ingest } = await startService(2);
    const sender = fixture.watcher;
    for (const id of ["cap-1", "cap-2", "cap-3", "cap-4"]) await sender.publish(deviceTopics(id).status, JSON.stringify(online("Takeo")), { qos: 1 });
    await sender.publish(deviceTopics("cap-1").status, JSON.stringify({ online: false, reason: "shutdown", bootId: "boot-1" }), { qos: 1 });

    await until(fleet, "cap-1 offline", () => fleet.box("cap-1")?.online === false);
    expect(fleet.counts().total).toBe(2);
    expect(fleet.box("cap-3")).toBeUndefined();
    expect(ingest.stats().discarded["over-capacity"]).toBe(2);
  });
});
