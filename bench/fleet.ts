/**
 * Fleet figures (printed, nothing asserted): THEA_FLEET_SIZE agent cores (default 2,050, today's
 * national network) in THEA_FLEET_WORKERS processes (test/helpers/fleet.ts) against one
 * mosquitto on loopback, all at default settings (reconnect backoff, health interval, keepalive),
 * each with a simulated oximeter reading every THEA_FLEET_READING_SEC seconds (default 10).
 * An operator's client watches from outside, as a hospital would:
 *  - time for the whole fleet to come online from cold;
 *  - round-trip of a `ping` command to every device (p50/p99), paced and all at once;
 *  - telemetry (status, health, events, peripheral states) bytes per device per day, measured
 *    over THEA_FLEET_WINDOW_SEC (default 130 s: two health reports at the default 60 s);
 *  - a broker restart: time until every device is back online, and connection attempts reaching
 *    the broker per second (from its log), peak and as a share of the fleet.
 * Run: `node bench/fleet.ts` after bin/setup (about 5 minutes at 2,050), or `make bench`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import mqtt from "mqtt";
import { Mosquitto } from "../test/helpers/mosquitto.ts";
import { withoutNagle } from "../test/helpers/mqttClient.ts";
import { fleetDeviceId, startFleet } from "../test/helpers/fleet.ts";
import { processFigures } from "./lib/station.ts";

const SIZE = Number(process.env.THEA_FLEET_SIZE ?? 2050);
const WORKERS = Number(process.env.THEA_FLEET_WORKERS ?? 6);
const READING_SEC = Number(process.env.THEA_FLEET_READING_SEC ?? 10);
const WINDOW_SEC = Number(process.env.THEA_FLEET_WINDOW_SEC ?? 130);
const DEFAULT_KEEPALIVE_SEC = 30;
const TELEMETRY = /^thea\/v1\/[^/]+\/(status|health|event|peripherals\/[^/]+\/state|config\/reported|update\/state)$/;
const READING = /^thea\/v1\/[^/]+\/peripherals\/[^/]+\/reading$/;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const deviceOf = (topic: string) => topic.split("/")[2] ?? "";

/** Bytes of an MQTT 5 PUBLISH at QoS 1 as it crosses the wire: header, topic, packet id, properties, payload. */
function publishPacketBytes(topic: string, payloadBytes: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + 2 + 1 + payloadBytes;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : 3;
  return 1 + lengthBytes + remaining;
}

const work = await mkdtemp(path.join(tmpdir(), "thea-fleet-"));
// As the deploy kit configures it (docs/deploy/mosquitto.conf), TLS aside.
const broker = await Mosquitto.startWith((port) => `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 100000\n`);
const brokerStartedLines = () => broker.log.lines.length;

// --- the operator's view --------------------------------------------------------------------
const observer = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `fleet-observer-${randomBytes(3).toString("hex")}`, reconnectPeriod: 200 });
const FILTERS = ["thea/v1/+/status", "thea/v1/+/health", "thea/v1/+/event", "thea/v1/+/peripherals/+/+", "thea/v1/+/config/reported", "thea/v1/+/update/state", "thea/v1/+/reply/fleet"];
// No Nagle delay on its small requests, as on the boxes. After a broker restart the observer's
// session is new: subscribe again each time it connects.
withoutNagle(observer);
observer.on("connect", () => void observer.subscribeAsync(FILTERS, { qos: 1 }));
await observer.subscribeAsync(FILTERS, { qos: 1 });

const online = new Map<string, number>(); // device → when it was last seen coming online
let onlineWaiter: { count: number; resolve: () => void; since: number } | undefined;
const counting = { on: false, telemetry: 0, readings: 0 };
const pending = new Map<string, (at: number) => void>();

observer.on("message", (topic, payload, packet) => {
  const now = performance.now();
  if (topic.endsWith("/reply/fleet")) {
    const key = packet.properties?.correlationData?.toString("hex") ?? "";
    pending.get(key)?.(now);
    pending.delete(key);
    return;
  }
  if (counting.on && TELEMETRY.test(topic)) counting.telemetry += publishPacketBytes(topic, payload.length);
  if (counting.on && READING.test(topic)) counting.readings += publishPacketBytes(topic, payload.length);
  if (topic.endsWith("/status") && payload.length > 0) {
    const status = JSON.parse(payload.toString()) as { online?: boolean };
    if (status.online) online.set(deviceOf(topic), now);
    else online.delete(deviceOf(topic));
    if (onlineWaiter && [...online.values()].filter((at) => at >= onlineWaiter!.since).length >= onlineWaiter.count) onlineWaiter.resolve();
  }
});

/** Resolves with the times (ms after `since`) at which each device came online after `since`. */
async function allOnlineAfter(since: number, timeoutMs: number): Promise<number[]> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${[...online.values()].filter((at) => at >= since).length} of ${SIZE} online after ${timeoutMs / 1000} s`)), timeoutMs);
    onlineWaiter = { count: SIZE, since, resolve: () => (clearTimeout(timer), resolve()) };
    if ([...online.values()].filter((at) => at >= since).length >= SIZE) onlineWaiter.resolve();
  });
  onlineWaiter = undefined;
  return [...online.values()].map((at) => at - since);
}

// --- the fleet --------------------------------------------------------------------------------
const coldStart = performance.now();
const fleet = await startFleet({ brokerUrl: broker.url, size: SIZE, workers: WORKERS, workDir: work, readingIntervalSec: READING_SEC });
const coldTimes = await allOnlineAfter(coldStart, 600_000);
const coldSec = round(Math.max(...coldTimes) / 1000);

// --- ping every device ----------------------------------------------------------------------
async function pingAll(ratePerSec: number): Promise<number[]> {
  const rtts: Promise<number>[] = [];
  const started = performance.now();
  for (let index = 0; index < SIZE; index++) {
    if (ratePerSec !== Infinity) {
      const due = started + (index * 1000) / ratePerSec;
      if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    }
    const deviceId = fleetDeviceId(index);
    const correlationData = randomBytes(8);
    const sent = performance.now();
    rtts.push(
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ping answer from ${deviceId}`)), 30_000);
        pending.set(correlationData.toString("hex"), (at) => (clearTimeout(timer), resolve(at - sent)));
      }),
    );
    observer.publish(`thea/v1/${deviceId}/cmd/ping`, "{}", { qos: 1, properties: { responseTopic: `thea/v1/${deviceId}/reply/fleet`, correlationData } });
  }
  return Promise.all(rtts);
}
const paced = await pingAll(200);
const burst = await pingAll(Infinity);

// --- telemetry over a steady window ---------------------------------------------------------
counting.on = true;
const windowStart = performance.now();
await new Promise((resolve) => setTimeout(resolve, WINDOW_SEC * 1000));
counting.on = false;
const windowSec = (performance.now() - windowStart) / 1000;
const perDay = (bytes: number) => (bytes / SIZE) * (86_400 / windowSec);
// Keepalive: at worst one PINGREQ (2 bytes) and PINGRESP (2 bytes) per keepalive interval.
const keepalivePerDay = (86_400 / DEFAULT_KEEPALIVE_SEC) * 4;
const telemetryMbPerDay = (perDay(counting.telemetry) + keepalivePerDay) / 1e6;
const readingsMbPerDay = perDay(counting.readings) / 1e6;
const workerFigures = await Promise.all(fleet.processes.map((child) => processFigures(child.pid ?? 0)));

// --- broker restart storm -------------------------------------------------------------------
const logFrom = brokerStartedLines();
await broker.pause();
const restartedAt = performance.now();
const restartedEpoch = Math.floor(Date.now() / 1000);
await broker.resume();
const restartTimes = await allOnlineAfter(restartedAt, 300_000);
const attemptsPerSecond = new Map<number, number>();
for (const line of broker.log.lines.slice(logFrom)) {
  const match = /^(\d+): New connection from /.exec(line);
  if (match) attemptsPerSecond.set(Number(match[1]), (attemptsPerSecond.get(Number(match[1])) ?? 0) + 1);
}
const peakAttempts = Math.max(0, ...attemptsPerSecond.values());
const attemptsTotal = [...attemptsPerSecond.values()].reduce((sum, count) => sum + count, 0);

// --- report -----------------------------------------------------------------------------------
const ms = (value: number) => `${Math.round(value)} ms`;
console.log(`fleet: ${SIZE} agent cores in ${WORKERS} processes, one mosquitto, defaults (reconnect window 15 s doubling to 60 s, health every 60 s, keepalive 30 s), oximeter reading every ${READING_SEC} s`);
console.log(`  cold start: all online after ${coldSec} s`);
console.log(`  ping round trip, paced 200/s:   p50 ${ms(percentile(paced, 50))}, p99 ${ms(percentile(paced, 99))}   (target p99 <= 500 ms)`);
console.log(`  ping round trip, all at once:   p50 ${ms(percentile(burst, 50))}, p99 ${ms(percentile(burst, 99))}`);
console.log(`  telemetry per device per day: ${round(telemetryMbPerDay, 2)} MB MQTT (status, health, events, states + keepalive; measured over ${round(windowSec, 0)} s)   (target <= 5 MB)`);
console.log(`  readings per device per day at one per ${READING_SEC} s: ${round(readingsMbPerDay, 2)} MB MQTT`);
console.log(`  broker restart: all back online after ${round(Math.max(...restartTimes) / 1000)} s (half after ${round(percentile(restartTimes, 50) / 1000)} s)   (target <= 60 s)`);
console.log(`  connection attempts reaching the broker: ${attemptsTotal} in all, peak ${peakAttempts}/s = ${round((100 * peakAttempts) / SIZE)} % of the fleet   (target <= 10 %)`);
console.log(`    per second after the restart: ${[...attemptsPerSecond.entries()].sort(([a], [b]) => a - b).map(([second, count]) => `+${second - restartedEpoch}s:${count}`).join(" ")}`);
console.log(`  fleet processes: ${workerFigures.map((figures) => `${figures.rssMb} MB RSS, ${figures.fds} fds`).join("; ")} (${round(workerFigures.reduce((sum, f) => sum + f.rssMb, 0) / SIZE, 2)} MB per core)`);
if (fleet.faults.length > 0) console.log(`  faults reported by the fleet (${fleet.faults.length}): ${fleet.faults.slice(0, 5).join(" | ")}`);

await fleet.stop();
await observer.endAsync(true);
await broker.stop();
await rm(work, { recursive: true, force: true });
