/**
 * A light fleet for the fleet service's benchmarks: N boxes that are only what the fleet service
 * reads of a box (issue 16), one mqtt.js connection each, all in this process. Each box connects
 * as the agent does (MQTT 5, clean start, its keep-alive, the retained last will `offline`,
 * `connection-lost`), publishes a retained online `status` and a retained `summary` built by the
 * agent's own computeSummary/encodeSummary, then a changed summary once per `summaryIntervalSec`
 * (the agent's rate limit, telemetry.summaryMinIntervalSec, 60 s), the boxes spread evenly over
 * that interval. As the agent does (agent/telemetry/alive.ts), each box says its keep-alive in its
 * status and publishes an empty QoS 1 `alive` once per keep-alive less a second
 * (agent/telemetry/alive.ts, aliveIntervalMs), the boxes spread over it.
 *
 * One box (the first) reaches the broker through a TCP relay that can be cut silently: no FIN, no
 * RST, as a power cut or a dead 4G link, so the broker only learns of it when the keep-alive runs
 * out (1.5 × keep-alive, MQTT 5 §3.1.2.10) and then publishes its will.
 */
import { randomBytes } from "node:crypto";
import { connect as connectTcp, createServer, Socket, type Server } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import type { StatusOffline, StatusOnline } from "../../agent/core/api.ts";
import { deviceTopics } from "../../agent/core/topics.ts";
import { aliveIntervalMs } from "../../agent/telemetry/alive.ts";
import { computeSummary, encodeSummary, type SummaryInputs } from "../../agent/telemetry/summary.ts";

export interface SummaryFleetOptions {
  brokerUrl: string;
  size: number;
  /** Every box's keep-alive (the agent's default, mqtt.keepaliveSec, is 30 s). */
  keepaliveSec?: number;
  /** How often each box's summary changes (default 60 s, the agent's minimum interval). */
  summaryIntervalSec?: number;
  /** Connections being opened at once while the fleet starts. */
  connectConcurrency?: number;
}

export const summaryFleetDeviceId = (index: number) => `sim-${String(index).padStart(5, "0")}`;

interface Box {
  index: number;
  deviceId: string;
  client: MqttClient;
  bootId: string;
  startedAt: Date;
  changes: number;
}

export class SummaryFleet {
  readonly #options: Required<SummaryFleetOptions>;
  readonly #boxes: Box[] = [];
  readonly #relay: SilentRelay;
  #ticker: NodeJS.Timeout | undefined;
  #next = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #nextBeat = 0;
  /** Summaries published after the first, and publishes that failed. */
  readonly counts = { changes: 0, failures: 0 };

  private constructor(options: Required<SummaryFleetOptions>, relay: SilentRelay) {
    this.#options = options;
    this.#relay = relay;
  }

  static async start(options: SummaryFleetOptions): Promise<SummaryFleet> {
    const full = { keepaliveSec: 30, summaryIntervalSec: 60, connectConcurrency: 50, ...options };
    const broker = new URL(full.brokerUrl);
    const relay = await SilentRelay.start(Number(broker.port), broker.hostname);
    const fleet = new SummaryFleet(full, relay);
    for (let from = 0; from < full.size; from += full.connectConcurrency) {
      const batch = Array.from({ length: Math.min(full.connectConcurrency, full.size - from) }, (_, n) => fleet.#startBox(from + n));
      fleet.#boxes.push(...(await Promise.all(batch)));
    }
    fleet.#startChanging();
    fleet.#startBeating();
    return fleet;
  }

  get deviceIds(): string[] {
    return this.#boxes.map((box) => box.deviceId);
  }

  /** The box whose link can be cut silently. */
  get mortalDeviceId(): string {
    return summaryFleetDeviceId(0);
  }

  /** Cuts the mortal box's link without a word to the broker; returns when (epoch ms). */
  cutMortal(): number {
    // Every box has reconnectPeriod 0: a dead box does not come back.
    this.#relay.cut();
    return Date.now();
  }

  async stop(): Promise<void> {
    clearInterval(this.#ticker);
    clearInterval(this.#heartbeat);
    // Forced ends: a bench's boxes vanish without a goodbye, their retained messages stay behind
    // in a broker that is about to stop.
    await Promise.all(this.#boxes.map((box) => box.client.endAsync(true)));
    await this.#relay.close();
  }

  async #startBox(index: number): Promise<Box> {
    const deviceId = summaryFleetDeviceId(index);
    const topics = deviceTopics(deviceId);
    const bootId = randomBytes(8).toString("hex");
    const will: StatusOffline = { online: false, reason: "connection-lost", bootId };
    const url = index === 0 ? `mqtt://127.0.0.1:${this.#relay.port}` : this.#options.brokerUrl;
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      clientId: deviceId,
      clean: true,
      keepalive: this.#options.keepaliveSec,
      reconnectPeriod: 0,
      will: { topic: topics.status, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    });
    const stream = client.stream;
    if (stream instanceof Socket) stream.setNoDelay(true);
    const box: Box = { index, deviceId, client, bootId, startedAt: new Date(), changes: 0 };
    const status: StatusOnline = {
      online: true,
      version: "1.4.2",
      startedAt: box.startedAt.toISOString(),
      configHash: "sha256:3f1c",
      bootId,
      session: 1,
      clockSynchronized: true,
      site: siteOf(index),
      keepaliveSec: this.#options.keepaliveSec,
    };
    await client.publishAsync(topics.status, JSON.stringify(status), { qos: 1, retain: true });
    await client.publishAsync(topics.summary, encodeSummary(computeSummary(this.#inputs(box))), { qos: 1, retain: true });
    return box;
  }

  /** One timer for the fleet: every 100 ms, the next boxes in turn, so each changes once per interval. */
  #startChanging(): void {
    const tickMs = 100;
    const perTick = (this.#options.size * tickMs) / (this.#options.summaryIntervalSec * 1000);
    let owed = 0;
    this.#ticker = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed -= 1) {
        const box = this.#boxes[this.#next++ % this.#boxes.length];
        if (!box || !box.client.connected) continue;
        box.changes += 1;
        this.counts.changes += 1;
        const payload = encodeSummary(computeSummary(this.#inputs(box)));
        box.client.publishAsync(deviceTopics(box.deviceId).summary, payload, { qos: 1, retain: true }).catch(() => (this.counts.failures += 1));
      }
    }, tickMs);
  }

  /** One timer for the fleet: every 100 ms, the next boxes in turn, so each says `alive` once per keep-alive less a second. */
  #startBeating(): void {
    const tickMs = 100;
    const perTick = (this.#options.size * tickMs) / aliveIntervalMs(this.#options.keepaliveSec);
    let owed = 0;
    this.#heartbeat = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed -= 1) {
        const box = this.#boxes[this.#nextBeat++ % this.#boxes.length];
        if (!box || !box.client.connected) continue;
        box.client.publishAsync(deviceTopics(box.deviceId).alive, "", { qos: 1 }).catch(() => (this.counts.failures += 1));
      }
    }, tickMs);
  }

  /**
   * What an agent would feed computeSummary: about one box in 25 with a full disk, one in 29 with
   * a peripheral down, so the attention list is not empty. Each change moves the CPU temperature
   * across a 5 °C band and a consultation starts or ends, as a clinic's day would.
   */
  #inputs(box: Box): SummaryInputs {
    const { index, changes } = box;
    return {
      site: siteOf(index),
      onlineSince: box.startedAt,
      version: "1.4.2",
      config: { version: 7, state: "applied", refusedVersion: null },
      update: "idle",
      clockSynchronized: true,
      health: {
        cpu: { cores: 4, loadPercent: 12, loadAverage: [0.3, 0.2, 0.2], temperatureC: changes % 2 === 0 ? 52 : 57 },
        disk: { path: "/var/lib/thea", totalBytes: 32e9, freeBytes: 32e9 * (1 - diskOf(index) / 100), usedPercent: diskOf(index) },
      },
      outbox: { depth: 0, oldestPendingAgeSec: null },
      peripherals: [
        { peripheral: "spo2-1", connected: index % 29 !== 0 },
        { peripheral: "bp-1", connected: true },
      ],
      consultations: changes % 4 === 1 ? 1 : 0,
    };
  }
}

function siteOf(index: number): StatusOnline["site"] {
  return { province: `province-${index % 60}`, district: `district-${index % 300}`, commune: `commune-${index}` };
}

function diskOf(index: number): number {
  return index % 25 === 0 ? 91 : 40 + (index % 30);
}

/** A TCP hop to the broker whose connections can be cut silently (both ends left open, unread). */
class SilentRelay {
  readonly #server: Server;
  readonly #sockets: Socket[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(brokerPort: number, brokerHost: string): Promise<SilentRelay> {
    const server = createServer();
    const relay = new SilentRelay(server);
    server.on("connection", (box) => {
      const broker = connectTcp(brokerPort, brokerHost);
      relay.#sockets.push(box, broker);
      box.pipe(broker);
      broker.pipe(box);
      box.on("error", () => broker.destroy());
      broker.on("error", () => box.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return relay;
  }

  get port(): number {
    const address = this.#server.address();
    return address !== null && typeof address !== "string" ? address.port : 0;
  }

  /** Nothing more crosses, and neither side is told: the broker's end stays open until its keep-alive check. */
  cut(): void {
    for (const socket of this.#sockets) {
      socket.unpipe();
      socket.pause();
      // The box's own end may close or fail (mqtt.js gives up after its keep-alive); the broker must not hear of it.
      socket.removeAllListeners("error");
      socket.on("error", () => undefined);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
