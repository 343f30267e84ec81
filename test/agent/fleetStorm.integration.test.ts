/**
 * A broker restart under a fleet: 60 agent cores (the real composition root, in two processes;
 * test/helpers/fleet.ts), each with a simulated oximeter reading twice a second, at default
 * reconnect settings. The broker goes down and comes back; every box must come back online by
 * itself, and every reading taken before, during and after must reach the hospital's
 * subscriber — no sequence number missing, the backlog replayed oldest first. (bench/fleet.ts
 * does the same at 2,050 boxes and prints how long it takes and how hard the broker is hit.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ReadingPayload } from "../../agent/core/api.ts";
import { fleetDeviceId, startFleet, type Fleet } from "../helpers/fleet.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { waitFor } from "../helpers/wait.ts";

const SIZE = 60;
let work: string;
let broker: Mosquitto;
let fleet: Fleet;
let hospital: mqtt.MqttClient;
/** Per device: reading seqs in arrival order, and when its status last said online. */
const readings = new Map<string, number[]>();
const onlineAt = new Map<string, number>();
const changed = new Set<() => void>();

function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  return waitFor(what, timeoutMs, (done) => {
    const check = () => condition() && done();
    changed.add(check);
    check();
    return () => changed.delete(check);
  });
}

const missing = (seqs: number[]) => {
  const seen = new Set(seqs);
  const first = 1; // the hospital listens from before the first reading
  return Array.from({ length: Math.max(...seqs) - first + 1 }, (_, i) => first + i).filter((seq) => !seen.has(seq));
};

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "thea-storm-"));
  // With persistence the hospital's session (and what is queued for it) outlives the restart, as
  // with a production broker; the boxes keep clean sessions and their own outboxes.
  broker = await Mosquitto.startWith((port) => `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence true\npersistence_location ${work}/\n`);
  hospital = await mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: "hospital-ingest",
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    reconnectPeriod: 200,
  });
  hospital.on("message", (topic, payload) => {
    const deviceId = topic.split("/")[2] ?? "";
    if (topic.endsWith("/reading")) {
      const list = readings.get(deviceId) ?? [];
      list.push((JSON.parse(payload.toString()) as ReadingPayload).seq);
      readings.set(deviceId, list);
    } else if (topic.endsWith("/status") && payload.length > 0 && (JSON.parse(payload.toString()) as { online?: boolean }).online) {
      onlineAt.set(deviceId, Date.now());
    }
    for (const check of changed) check();
  });
  await hospital.subscribeAsync(["thea/v1/+/peripherals/+/reading", "thea/v1/+/status"], { qos: 1 });
  fleet = await startFleet({ brokerUrl: broker.url, size: SIZE, workers: 2, workDir: work, readingIntervalSec: 0.5 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await hospital?.endAsync(true);
  await broker?.stop();
  await rm(work, { recursive: true, force: true });
});

it("brings every box back after a broker restart and loses no reading", async () => {
  const ids = Array.from({ length: SIZE }, (_, index) => fleetDeviceId(index));
  await until("every box online with readings flowing", () => ids.every((id) => onlineAt.has(id) && (readings.get(id)?.length ?? 0) >= 2), 60_000);

  const restartedAt = Date.now();
  await broker.pause();
  await broker.resume();
  const lastBefore = new Map(ids.map((id) => [id, Math.max(...(readings.get(id) ?? [0]))]));
  // Default backoff: a box tries again within its first 15 s window, then 30 s, 60 s.
  await until("every box online again", () => ids.every((id) => (onlineAt.get(id) ?? 0) > restartedAt), 90_000);
  await until(
    "every box's backlog and live readings",
    () => ids.every((id) => Math.max(...(readings.get(id) ?? [0])) > (lastBefore.get(id) ?? 0) + 4),
    60_000,
  );
  await until("no reading missing at any box", () => ids.every((id) => missing(readings.get(id) ?? [0]).length === 0), 30_000);

  for (const id of ids) {
    const seqs = readings.get(id) ?? [];
    const replayed = seqs.filter((seq) => seq > (lastBefore.get(id) ?? 0));
    expect(missing(seqs), id).toEqual([]);
    // What was taken while the broker was away goes out oldest first (live readings may interleave).
    const backlog = replayed.filter((seq) => seq <= (lastBefore.get(id) ?? 0) + 2);
    expect(backlog, id).toEqual([...backlog].sort((a, b) => a - b));
  }
  expect(fleet.faults).toEqual([]);
}, 240_000);
