/**
 * The fleet service's link to the boxes against a real mosquitto and a real agent: what the box
 * page and rollouts rely on — a command answered, a retry not run twice, desired state published
 * retained and the box's report read back and followed, and every failure an answer.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import type { BoxReport } from "../../../tools/fleet/types/boxLink.ts";
import { MqttBoxLink } from "../../../tools/fleet/mqttBoxLink.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TopicLog } from "../../helpers/topicLog.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const log = createLogger({ level: "silent" });

async function startLink(options: { maxPending?: number; requesterId?: string } = {}): Promise<MqttBoxLink> {
  const link = new MqttBoxLink({ url: fixture.broker.url, requesterId: options.requesterId ?? "fleet.test", log, ...options });
  link.start();
  fixture.cleanup(() => link.stop());
  await link.ready();
  return link;
}

/** Reports as they arrive, and a wait for one that matches. */
class Reports {
  readonly seen: BoxReport[] = [];
  readonly #arrivals = new Set<() => void>();
  readonly add = (report: BoxReport): void => {
    this.seen.push(report);
    for (const arrival of this.#arrivals) arrival();
  };
  next(match: (report: BoxReport) => boolean, what: string): Promise<BoxReport> {
    return waitFor(what, 20_000, (done) => {
      const look = () => {
        const found = this.seen.find(match);
        if (found) done(found);
      };
      this.#arrivals.add(look);
      look();
      return () => this.#arrivals.delete(look);
    });
  }
}

async function startAgent(): Promise<AgentProcess> {
  const online = fixture.watcher.armed("thea/v1/+/status", (message) => (message.json() as { online?: boolean }).online === true, 30_000);
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, env: { THEA_LOG_LEVEL: "" } });
  fixture.cleanup(() => agent.stop());
  await (await online).message;
  fixture.cleanup(() => fixture.watcher.publish(`thea/v1/${agent.deviceId}/config/desired`, "", { qos: 1, retain: true }));
  return agent;
}

describe("MqttBoxLink", { timeout: 60_000 }, () => {
  it("asks a box and gets its answer; the same request id asked again is answered, not run twice", async () => {
    const agent = await startAgent();
    const link = await startLink();
    const ping = await link.command({ deviceId: agent.deviceId, name: "ping" });
    expect(ping).toMatchObject({ ok: true, result: { deviceId: agent.deviceId } });

    const first = await link.command({ deviceId: agent.deviceId, name: "ping", requestId: "r-1" });
    expect(await link.command({ deviceId: agent.deviceId, name: "logs.tail", params: { lines: 1 } })).toMatchObject({ ok: true, result: { lines: [expect.anything()] } });
    // The box's own retry memory: the first answer again (its `time` unchanged), the command not run again.
    expect(await link.command({ deviceId: agent.deviceId, name: "ping", requestId: "r-1" })).toEqual(first);
    const unknown = await link.command({ deviceId: agent.deviceId, name: "no.such.command" });
    expect(unknown).toMatchObject({ ok: false, error: { code: "unknown-command" } });
    const bad = await link.command({ deviceId: agent.deviceId, name: "logs.tail", params: { lines: "all" } });
    expect(bad).toMatchObject({ ok: false, error: { code: "invalid-params" } });
  });

  it("shares one answer between two asks of the same request id in flight, and sends the box one request", async () => {
    const agent = await startAgent();
    const link = await startLink();
    const requests = await TopicLog.open<object>(fixture.watcher, `thea/v1/${agent.deviceId}/cmd/ping`);
    const [a, b] = await Promise.all([
      link.command({ deviceId: agent.deviceId, name: "ping", requestId: "same" }),
      link.command({ deviceId: agent.deviceId, name: "ping", requestId: "same" }),
    ]);
    expect(a).toEqual(b);
    expect(a.ok).toBe(true);
    expect(requests.messages).toHaveLength(1);
  });

  it("answers no-answer for a box that is not there, link-busy past its bound, and never throws", async () => {
    const link = await startLink({ maxPending: 1 });
    const waiting = link.command({ deviceId: "nobody-here", name: "ping", timeoutMs: 1500 });
    expect(await link.command({ deviceId: "nobody-else", name: "ping" })).toMatchObject({ ok: false, error: { code: "link-busy" } });
    expect(await waiting).toMatchObject({ ok: false, error: { code: "no-answer" } });
    expect(await link.command({ deviceId: "../other", name: "ping" })).toMatchObject({ ok: false, error: { code: "invalid-params" } });
    expect(await link.command({ deviceId: "box-1", name: "cmd/+" })).toMatchObject({ ok: false, error: { code: "invalid-params" } });
  });

  it("keeps only its own answers: another requester's answer on a box is not taken for ours", async () => {
    const agent = await startAgent();
    const link = await startLink();
    // A reply published under another requester's space, with the correlation the link awaits.
    const asked = link.command({ deviceId: agent.deviceId, name: "ping", requestId: "mine", timeoutMs: 20_000 });
    await fixture.watcher.publish(`thea/v1/${agent.deviceId}/reply/someone.else/fleet`, JSON.stringify({ ok: true, result: { forged: true } }), {
      qos: 1,
      properties: { correlationData: Buffer.from("mine") },
    });
    const answer = await asked;
    expect(answer).toMatchObject({ ok: true, result: { deviceId: agent.deviceId } });
  });

  it("publishes desired config retained, reads it back, and follows the box's report to applied", async () => {
    const agent = await startAgent();
    const link = await startLink();
    const reports = new Reports();
    const unfollow = await link.follow("config", (report) => report.deviceId === agent.deviceId && reports.add(report));
    // The retained report of the box as it started comes first.
    await reports.next((report) => report.kind === "config" && report.payload.version === 0, "the box's initial config/reported");

    const desired = JSON.stringify({ version: 1, patch: { telemetry: { healthIntervalSec: 9 } } });
    await link.setDesired(agent.deviceId, "config", desired);
    expect(await link.desired(agent.deviceId, "config")).toBe(desired);
    await reports.next((report) => report.kind === "config" && report.payload.version === 1 && report.payload.state === "applied", "config version 1 applied");
    await unfollow();

    const reported = await link.reported(agent.deviceId, "config");
    expect(reported).toMatchObject({ kind: "config", deviceId: agent.deviceId, payload: { version: 1, state: "applied", config: { telemetry: { healthIntervalSec: 9 } } } });
    expect(await link.reported(agent.deviceId, "update")).toMatchObject({ kind: "update", payload: { state: "idle" } });
    expect(await link.desired("nobody-here", "update")).toBeUndefined();
  });

  it("reads a malformed report as none, and follows past it", async () => {
    const link = await startLink();
    const reports = new Reports();
    const unfollow = await link.follow("update", reports.add);
    fixture.cleanup(unfollow);
    const topic = "thea/v1/forged-box/update/state";
    await fixture.watcher.publish(topic, JSON.stringify({ state: "committed", runningVersion: 7 }), { qos: 1, retain: true });
    fixture.cleanup(() => fixture.watcher.publish(topic, "", { qos: 1, retain: true }));
    expect(await link.reported("forged-box", "update")).toBeUndefined();
    const good = { state: "committed", version: "1.2.0", runningVersion: "1.2.0", floor: "1.2.0", progress: null, result: "ok", reason: null, since: new Date().toISOString() };
    await fixture.watcher.publish(topic, JSON.stringify(good), { qos: 1, retain: true });
    await reports.next((report) => report.deviceId === "forged-box", "the well-formed report");
    expect(reports.seen.filter((report) => report.deviceId === "forged-box")).toEqual([{ kind: "update", deviceId: "forged-box", payload: good }]);
  });
});
