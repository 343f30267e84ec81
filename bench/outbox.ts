/**
 * Outbox figures (printed, nothing asserted), against a mosquitto started here on loopback:
 *  - enqueue throughput on the data disk (each entry committed and fsynced, as in production),
 *    on an empty outbox and behind the backlog of a long outage (BIG_BACKLOG entries);
 *  - replay throughput of a backlog to the broker (rate limit lifted);
 *  - latency from a reading entering the outbox to the broker's PUBACK, online, p50/p99.
 * Run: `make bench` (or `node bench/outbox.ts` after bin/setup).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createLogger } from "../lib/log.ts";
import { BrokerConnection, newConnectionCounters } from "../agent/mqtt/connection.ts";
import { Outbox } from "../agent/outbox/outbox.ts";
import { OutboxSender } from "../agent/outbox/sender.ts";
import { PRIORITY } from "../agent/outbox/priority.ts";
import { Mosquitto } from "../test/helpers/mosquitto.ts";

const BACKLOG = 5000;
const LATENCY_SAMPLES = 1000;
const BIG_BACKLOG = 100_000;
const log = createLogger({ level: "silent" });
const reading = (seq: number) => JSON.stringify({ id: `r${seq}`, seq, observations: [{ type: "spo2", value: 97, unit: "%" }], pad: "x".repeat(200) });

function newOutbox(dir: string): Outbox {
  const outbox = new Outbox({ dataDir: dir, settings: { maxMessages: 1_000_000, maxBytes: 1 << 30, maxAgeSec: 86_400 }, log });
  outbox.start();
  return outbox;
}

function session(url: string): BrokerConnection {
  return new BrokerConnection({
    mqtt: {
      url, clientId: `bench-${process.pid}`, allowInsecureCredentials: false, tls: { rejectUnauthorized: true },
      keepaliveSec: 30, connectTimeoutSec: 5, reconnect: { initialDelaySec: 0.1, maxDelaySec: 1, stableAfterSec: 60 }, maxPayloadBytes: 262144,
    },
    will: { topic: "bench/will", payload: "gone" },
    log,
    counters: newConnectionCounters(),
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const broker = await Mosquitto.start();
const dir = await mkdtemp(path.join(tmpdir(), "thea-bench-outbox-"));
const outbox = newOutbox(dir);

// 1. Enqueue throughput (offline: nothing is sent).
let start = performance.now();
for (let i = 0; i < BACKLOG; i++) outbox.enqueue({ topic: "bench/reading", priority: PRIORITY.clinical, createdAt: Date.now(), payload: reading });
const enqueueSec = (performance.now() - start) / 1000;
console.log(`enqueue (committed + fsynced each): ${Math.round(BACKLOG / enqueueSec)} entries/s  (${BACKLOG} in ${enqueueSec.toFixed(2)} s)`);

// 1b. The same behind a long outage's backlog, in a separate outbox: must not slow down with depth.
const deep = newOutbox(await mkdtemp(path.join(tmpdir(), "thea-bench-deep-")));
while (deep.stats().depth < BIG_BACKLOG) deep.enqueue({ topic: "bench/reading", priority: PRIORITY.clinical, createdAt: Date.now(), payload: reading });
start = performance.now();
for (let i = 0; i < 1000; i++) deep.enqueue({ topic: "bench/reading", priority: PRIORITY.clinical, createdAt: Date.now(), payload: reading });
console.log(`enqueue behind a ${BIG_BACKLOG.toLocaleString("en")}-entry backlog: ${((performance.now() - start) / 1000).toFixed(2)} ms per entry`);
deep.stop();

// 2. Replay throughput: connect with the backlog waiting, rate limit lifted.
const mqtt = session(broker.url);
const sender = new OutboxSender({ outbox, broker: mqtt, settings: { replayRatePerSec: 1_000_000, inFlight: 64 }, log });
let acknowledged = 0;
const drained = new Promise<void>((resolve) => outbox.on("acknowledged", () => ++acknowledged === BACKLOG && resolve()));
sender.start();
start = performance.now();
mqtt.start();
await drained;
const replaySec = (performance.now() - start) / 1000;
console.log(`replay to mosquitto (QoS 1, PUBACK then delete): ${Math.round(BACKLOG / replaySec)} entries/s  (${BACKLOG} in ${replaySec.toFixed(2)} s, connect included)`);

// 3. Online latency, one entry every 5 ms (a busy station is far slower).
const enqueuedAt = new Map<number, number>();
const latencies: number[] = [];
const done = new Promise<void>((resolve) =>
  outbox.on("acknowledged", (id) => {
    const at = enqueuedAt.get(id);
    if (at === undefined) return;
    latencies.push(performance.now() - at);
    if (latencies.length === LATENCY_SAMPLES) resolve();
  }),
);
for (let i = 0; i < LATENCY_SAMPLES; i++) {
  const t = performance.now();
  const entry = outbox.enqueue({ topic: "bench/reading", priority: PRIORITY.clinical, createdAt: Date.now(), payload: reading });
  enqueuedAt.set(entry.id, t);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await done;
latencies.sort((a, b) => a - b);
console.log(`enqueue → PUBACK, online: p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(2)} ms  (n=${LATENCY_SAMPLES})`);

sender.stop();
await mqtt.stop();
outbox.stop();
await broker.stop();
