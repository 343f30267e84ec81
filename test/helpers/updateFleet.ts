/**
 * A light fleet of boxes that take updates, for rollout tests: N boxes on one MQTT connection,
 * each with a retained online `status` and a retained `summary` (built by the agent's own
 * computeSummary/encodeSummary), each answering its `update/desired` with the retained
 * `update/state` sequence an agent publishes (docs/updates.md): downloading, verifying,
 * installing, restarting, verifying-health, then `committed` with its new version in `status` and
 * `summary` — or, for a box set to fail, `rolled-back` or `failed` with the result and reason
 * given. A manifest a box has already acted on is ignored, as the agent ignores a replay.
 *
 * It counts every `update/desired` each box receives, so a test can say which boxes were never
 * sent anything and that none was sent a release twice.
 */
import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import type { SiteLabels, StatusOnline, UpdateResult, UpdateStateName, UpdateStatePayload } from "../../agent/core/api.ts";
import { deviceTopics } from "../../agent/core/topics.ts";
import { computeSummary, encodeSummary } from "../../agent/telemetry/summary.ts";
import { waitFor } from "./wait.ts";

export interface BoxFailure {
  state: "rolled-back" | "failed";
  result: UpdateResult;
  reason: string;
}

export interface UpdateFleetOptions {
  brokerUrl: string;
  deviceIds: readonly string[];
  siteOf: (deviceId: string) => SiteLabels;
  version: string;
  /** Boxes that fail any update they are sent, and how. */
  failing?: ReadonlyMap<string, BoxFailure>;
  /** Time between two states of one box (default 20 ms): a box takes a moment, as a real one takes minutes. */
  stepMs?: number;
}

interface Box {
  deviceId: string;
  version: string;
  update: UpdateStateName;
  /** Manifests acted on, by their signature. */
  seen: Set<string>;
  startedAt: Date;
}

const STEPS: UpdateStateName[] = ["downloading", "verifying", "installing", "restarting", "verifying-health"];

export class UpdateFleet {
  readonly #options: UpdateFleetOptions;
  readonly #client: MqttClient;
  readonly #boxes = new Map<string, Box>();
  /** `update/desired` messages received, per box. */
  readonly received = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  /** While set, every box's update stands still before its next state (a slow link, a long download). */
  #held: { promise: Promise<void>; release: () => void } | undefined;

  private constructor(options: UpdateFleetOptions, client: MqttClient) {
    this.#options = options;
    this.#client = client;
  }

  static async start(options: UpdateFleetOptions): Promise<UpdateFleet> {
    const client = await mqtt.connectAsync(options.brokerUrl, { protocolVersion: 5, clientId: `update-fleet-${randomBytes(4).toString("hex")}`, reconnectPeriod: 0 });
    const fleet = new UpdateFleet(options, client);
    for (const deviceId of options.deviceIds) {
      const box: Box = { deviceId, version: options.version, update: "idle", seen: new Set(), startedAt: new Date() };
      fleet.#boxes.set(deviceId, box);
      await fleet.#announce(box);
    }
    client.on("message", (topic, payload) => fleet.#onDesired(topic, payload));
    await client.subscribeAsync("thea/v1/+/update/desired", { qos: 1 });
    return fleet;
  }

  versionOf(deviceId: string): string | undefined {
    return this.#boxes.get(deviceId)?.version;
  }

  /** Total `update/desired` messages received by all boxes. */
  get deliveries(): number {
    let total = 0;
    for (const count of this.received.values()) total += count;
    return total;
  }

  /** Calls `listener` after each `update/desired` received; returns how to stop. */
  onDelivery(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every update under way stops before its next state, and any new one before its first, until `release`. */
  hold(): void {
    if (this.#held) return;
    let release = () => undefined as void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#held = { promise, release };
  }

  /**
   * Resolves once `deliveries` releases have reached the boxes. At that delivery, in the same turn,
   * every box is held (`hold`) and `then` runs: a service killed mid-rollout, say, with updates
   * under way that stand still until `release`.
   */
  holdAt(deliveries: number, then: () => void): Promise<void> {
    return waitFor<void>(`${deliveries} boxes sent the release`, 60_000, (done) =>
      this.onDelivery(() => {
        if (this.deliveries < deliveries) return;
        this.hold();
        then();
        done();
      }),
    );
  }

  release(): void {
    this.#held?.release();
    this.#held = undefined;
  }

  async stop(): Promise<void> {
    this.release();
    await this.#client.endAsync(true);
  }

  #onDesired(topic: string, payload: Buffer): void {
    const deviceId = topic.split("/")[2] ?? "";
    const box = this.#boxes.get(deviceId);
    if (!box || payload.length === 0) return;
    this.received.set(deviceId, (this.received.get(deviceId) ?? 0) + 1);
    for (const listener of this.#listeners) listener();
    const signed = JSON.parse(payload.toString()) as { manifest: { version: string }; signature: string };
    if (box.seen.has(signed.signature)) return;
    box.seen.add(signed.signature);
    void this.#update(box, signed.manifest.version);
  }

  async #update(box: Box, version: string): Promise<void> {
    const from = box.version;
    for (const state of STEPS) {
      await this.#state(box, { state, version, runningVersion: from, progress: state === "downloading" ? 0 : null });
    }
    const failure = this.#options.failing?.get(box.deviceId);
    if (failure) {
      await this.#state(box, { state: failure.state, version, runningVersion: from, result: failure.result, reason: failure.reason });
    } else {
      box.version = version;
      await this.#state(box, { state: "committed", version, runningVersion: version, result: "ok" });
    }
    await this.#announce(box);
  }

  async #state(box: Box, fields: Partial<UpdateStatePayload> & Pick<UpdateStatePayload, "state" | "version" | "runningVersion">): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.#options.stepMs ?? 20));
    while (this.#held) await this.#held.promise;
    box.update = fields.state;
    const payload: UpdateStatePayload = { floor: null, progress: null, result: null, reason: null, since: new Date().toISOString(), ...fields };
    await this.#client.publishAsync(deviceTopics(box.deviceId).updateState, JSON.stringify(payload), { qos: 1, retain: true });
  }

  async #announce(box: Box): Promise<void> {
    const topics = deviceTopics(box.deviceId);
    const site = this.#options.siteOf(box.deviceId);
    const status: StatusOnline = {
      online: true,
      version: box.version,
      startedAt: box.startedAt.toISOString(),
      configHash: "sha256:3f1c",
      bootId: randomBytes(8).toString("hex"),
      session: 1,
      clockSynchronized: true,
      site,
    };
    const summary = computeSummary({
      site,
      onlineSince: box.startedAt,
      version: box.version,
      config: { version: 7, state: "applied", refusedVersion: null },
      update: box.update,
      clockSynchronized: true,
      health: undefined,
      outbox: { depth: 0, oldestPendingAgeSec: null },
      peripherals: [],
      consultations: 0,
    });
    await this.#client.publishAsync(topics.status, JSON.stringify(status), { qos: 1, retain: true });
    await this.#client.publishAsync(topics.summary, encodeSummary(summary), { qos: 1, retain: true });
  }
}

/**
 * The broker lines an UpdateFleet's tests need, as docs/deploy/mosquitto.conf has them: the default
 * of 1,000 queued messages per client would drop part of the retained snapshot (a status and a
 * summary per box) a fleet service reads at its start.
 */
export const UPDATE_FLEET_BROKER_CONFIG = "max_queued_messages 10000\nmax_inflight_messages 100";

export interface UpdateFleetOf extends Omit<UpdateFleetOptions, "deviceIds"> {
  /** The boxes are `PREFIX-000`, `PREFIX-001`, … */
  prefix: string;
  count: number;
}

/** `count` boxes that take updates, stopped after the test; their ids in order. */
export async function startUpdateFleet(options: UpdateFleetOf, cleanup: (step: () => Promise<void>) => void): Promise<{ ids: string[]; boxes: UpdateFleet }> {
  const { prefix, count, ...rest } = options;
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
  const boxes = await UpdateFleet.start({ ...rest, deviceIds: ids });
  cleanup(() => boxes.stop());
  return { ids, boxes };
}
