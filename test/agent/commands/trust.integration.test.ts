/**
 * The command plane's trust boundary, against a real mosquitto and the real agent process: a
 * retained command never runs, answers go only to reply topics, and one requester's flood does
 * not make another's retried command run twice.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PeripheralState, StatusOnline } from "../../../agent/core/api.ts";
import { deviceTopics, type DeviceTopics } from "../../../agent/core/topics.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { TestClient, type ReceivedMessage } from "../../helpers/mqttClient.ts";
import { PtyPair } from "../../helpers/ptyPair.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";

const fixture = useBroker();

type Answer = { ok: true; result: Record<string, unknown> } | { ok: false; error: { code: string; message: string } };
type Counters = Record<string, number>;

async function startAgent(options: { deviceId?: string; dataDir?: string; extraYaml?: string } = {}): Promise<{ agent: AgentProcess; topics: DeviceTopics; bootId: string }> {
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, ...options });
  fixture.cleanup(() => agent.stop());
  const topics = deviceTopics(agent.deviceId);
  const status = await fixture.watcher.next(topics.status, (m) => (m.json() as { online: boolean }).online);
  return { agent, topics, bootId: (status.json() as StatusOnline).bootId };
}

async function command(topics: DeviceTopics, name: string, params: object = {}, options: { correlationData?: Buffer } = {}): Promise<Answer> {
  return (await fixture.watcher.request(topics.command(name), JSON.stringify(params), options)).body as Answer;
}

async function counters(topics: DeviceTopics): Promise<Counters> {
  const answer = await command(topics, "health.now");
  if (!answer.ok) throw new Error(answer.error.code);
  return (answer.result as { agent: { counters: Counters } }).agent.counters;
}

/** Every message on `filter` from now on, for checking afterwards that nothing came. */
async function recorder(filter: string): Promise<ReceivedMessage[]> {
  const client = await TestClient.connect(fixture.broker.url);
  fixture.cleanup(() => client.close());
  const seen: ReceivedMessage[] = [];
  client.client.on("message", (topic, payload, packet) => seen.push({ topic, payload, packet, json: () => JSON.parse(payload.toString()) as unknown }));
  await client.client.subscribeAsync(filter, { qos: 1, rh: 2 });
  return seen;
}

describe("a retained command never runs", () => {
  it("leaves a retained ping and bp.start alone at two agent starts: no answer, no measurement", async () => {
    const deviceId = `retained-${randomBytes(3).toString("hex")}`;
    const topics = deviceTopics(deviceId);
    const dir = await mkdtemp(path.join(tmpdir(), "thea-retained-"));
    const replyTo = topics.reply("technician.ana", "retained");
    const answers = await recorder(`${replyTo}/#`);
    const measurements = await recorder(topics.peripheralReading("cuff"));
    for (const name of ["ping", "bp.start"]) {
      await fixture.watcher.publish(topics.command(name), "{}", {
        qos: 1,
        retain: true,
        properties: { responseTopic: `${replyTo}/${name}`, correlationData: Buffer.from(name) },
      });
      fixture.cleanup(() => fixture.watcher.publish(topics.command(name), "", { qos: 1, retain: true }));
    }
    for (const start of [1, 2]) {
      // A cuff on a fresh pty each time (socat ends a pair when the agent closes its end).
      const pty = new PtyPair(dir, `cuff-${start}`);
      await pty.open();
      fixture.cleanup(() => pty.close());
      const simulator = await SimulatorProcess.start("and-bp", pty.deviceEnd);
      fixture.cleanup(() => simulator.stop());
      const cuffUp = fixture.watcher.next(topics.peripheralState("cuff"), (m) => {
        const state = m.json() as PeripheralState;
        return state.connected && state.path === pty.agentEnd;
      });
      const { agent } = await startAgent({
        deviceId,
        dataDir: path.join(dir, "data"),
        extraYaml: ["peripherals:", `  - { id: cuff, driver: and-bp, port: "${pty.agentEnd}" }`].join("\n"),
      });
      await cuffUp;
      // The broker sends retained messages right after the subscription, before the agent's
      // online status: by now a retained command would have been taken up.
      expect(await counters(topics), `start ${start}`).toMatchObject({ commandsOk: 0, commandsFailed: 0 });
      await agent.stop();
    }
    expect(answers.map((m) => m.topic)).toEqual([]);
    expect(measurements).toEqual([]);
  });

  it("answers a command published retained while it listens retained-command, and does not run it", async () => {
    const { topics, bootId } = await startAgent();
    const replyTo = topics.reply("technician.ana", "oops");
    const answer = fixture.watcher.next(replyTo);
    fixture.cleanup(() => fixture.watcher.publish(topics.command("agent.restart"), "", { qos: 1, retain: true }));
    await fixture.watcher.publish(topics.command("agent.restart"), '{"force":true}', {
      qos: 1,
      retain: true,
      properties: { responseTopic: replyTo, correlationData: Buffer.from("r1") },
    });
    expect((await answer).json()).toMatchObject({ ok: false, error: { code: "retained-command" } });
    const ping = await command(topics, "ping");
    expect(ping).toMatchObject({ ok: true, result: { bootId } });
    expect(await counters(topics)).toMatchObject({ retainedCommandsRefused: 1 });
  });
});

describe("answers go only to reply topics", () => {
  it("neither answers nor runs a request whose response topic is another of the box's topics", async () => {
    const { agent, topics, bootId } = await startAgent();
    const everything = await recorder(`${topics.root}/#`);
    const hostile = [topics.status, topics.updateDesired, topics.configDesired, topics.peripheralReading("oximeter"), topics.viewerGone("viewer-1"), "thea/v1/other-box/reply/me"];
    for (const responseTopic of hostile) {
      await fixture.watcher.publish(topics.command("agent.restart"), '{"force":true}', {
        qos: 1,
        properties: { responseTopic, correlationData: Buffer.from(`hostile:${responseTopic}`) },
      });
    }
    // Requests are taken in order: once this is answered, the hostile ones have been refused.
    expect(await counters(topics)).toMatchObject({ replyTopicsRefused: hostile.length });
    expect(await command(topics, "ping")).toMatchObject({ ok: true, result: { bootId } });
    const answered = everything.filter((m) => m.topic !== topics.command("agent.restart") && m.packet.properties?.correlationData?.toString().startsWith("hostile:"));
    expect(answered.map((m) => m.topic)).toEqual([]);
    expect(agent.stdout.text).toContain("response topic refused");
  });
});

describe("repeated request ids", () => {
  it("a retried reboot request gets its first answer after another requester's ping flood", async () => {
    const { topics } = await startAgent();
    const requestId = Buffer.from("reboot-step-1");
    const first = await command(topics, "system.reboot", {}, { correlationData: requestId });
    expect(first).toMatchObject({ ok: true, result: { confirmToken: expect.any(String) } });

    // 600 pings (more than the 512 answers the cache used to hold in all) under one requester.
    const mallory = await TestClient.connect(fixture.broker.url);
    fixture.cleanup(() => mallory.close());
    const floodTopic = topics.reply("operator.mallory", "flood");
    let answered = 0;
    const flooded = mallory.next(floodTopic, () => ++answered >= 600, 60_000);
    await mallory.client.subscribeAsync(floodTopic, { qos: 1 });
    for (let i = 0; i < 600; i++) {
      await mallory.publish(topics.command("ping"), "{}", { qos: 1, properties: { responseTopic: floodTopic, correlationData: Buffer.from(`p${i}`) } });
    }
    await flooded;

    // The same token: the reboot request was answered from the cache, not run again.
    expect(await command(topics, "system.reboot", {}, { correlationData: requestId })).toEqual(first);
  });
});
