/**
 * The router against an in-process session: paths a real broker does not take on its own (a
 * retained command delivered despite retain handling) and floods too big for an integration test.
 */
import { EventEmitter } from "node:events";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { afterEach, describe, expect, it } from "vitest";
import { defineCommand, type Command } from "../../../agent/commands/command.ts";
import { CommandRouter, newCommandCounters } from "../../../agent/commands/router.ts";
import { createLogger } from "../../../lib/log.ts";
import { LogRing } from "../../../lib/logRing.ts";
import type { IncomingMessage, PublishOptions, ConnectionEvents, SubscribeOptions } from "../../../agent/mqtt/connection.ts";
import { deviceTopics } from "../../../agent/core/topics.ts";
import { TopicRouter } from "../../../agent/mqtt/routes.ts";

class FakeSession extends EventEmitter<ConnectionEvents> {
  readonly subscriptions = new Map<string, SubscribeOptions>();
  readonly published: { topic: string; body: unknown; options: PublishOptions }[] = [];

  subscribe(filter: string, options: SubscribeOptions = {}): void {
    this.subscriptions.set(filter, options);
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<boolean> {
    this.published.push({ topic, body: JSON.parse(payload.toString()), options });
    return Promise.resolve(true);
  }
}

const topics = deviceTopics("clinic-7");

function setUp(options: { dataDir?: string; extraCommands?: Command[] } = {}) {
  const session = new FakeSession();
  const ring = new LogRing({ maxLines: 100, maxBytes: 100_000 });
  const counters = newCommandCounters();
  const runs = { ping: 0, restart: 0 };
  const commands: Command[] = [
    defineCommand({ name: "ping", description: "", params: z.strictObject({}), run: () => ({ pong: ++runs.ping }) }),
    defineCommand({ name: "agent.restart", description: "", params: z.strictObject({}), sideEffects: true, resultIfInterrupted: { restarting: true }, run: () => ({ restarting: ++runs.restart }) }),
    ...(options.extraCommands ?? []),
  ];
  const log = createLogger({ level: "info", destination: new LogRing(), keep: ring });
  const routes = new TopicRouter({ broker: session, log });
  routes.start();
  const router = new CommandRouter({ broker: session, routes, topics, commands, log, counters, maxPayloadBytes: 1024, ...(options.dataDir !== undefined && { dataDir: options.dataDir }) });
  router.start();
  const send = (name: string, fields: Partial<IncomingMessage> = {}) =>
    session.emit("message", { topic: topics.command(name), payload: Buffer.from("{}"), retain: false, ...fields });
  /** Waits until the router has had its say on every request sent (stop lets those in flight finish). */
  const settle = () => router.stop(10_000);
  return { session, ring, counters, runs, send, settle, router };
}

describe("CommandRouter", () => {
  it("subscribes to commands without retained messages, and with their retain flag kept", () => {
    const { session } = setUp();
    expect(session.subscriptions.get(topics.commandFilter)).toEqual({ retainHandling: 2, retainAsPublished: true });
  });

  it("answers a retained command retained-command and does not run it", async () => {
    const { session, counters, runs, send, settle } = setUp();
    const replyTo = topics.reply("technician.ana");
    send("agent.restart", { retain: true, responseTopic: replyTo, correlationData: Buffer.from("r1") });
    send("ping", { retain: true });
    await settle();
    expect(session.published.map((p) => [p.topic, p.body])).toEqual([
      [replyTo, { ok: false, error: { code: "retained-command", message: expect.any(String) } }],
      [topics.commandResponse("ping"), { ok: false, error: { code: "retained-command", message: expect.any(String) } }],
    ]);
    expect(runs).toEqual({ ping: 0, restart: 0 });
    expect(counters.retainedCommandsRefused).toBe(2);
  });

  it("neither runs nor answers a request whose response topic is not a reply topic", async () => {
    const { session, ring, counters, runs, send, settle } = setUp();
    const hostile = [topics.status, topics.updateDesired, topics.peripheralReading("oximeter"), topics.viewerGone("v1"), "thea/v1/clinic-8/reply/me", `thea/v1/clinic-7/reply/${"x".repeat(500)}`];
    for (const responseTopic of hostile) send("agent.restart", { responseTopic, correlationData: Buffer.from(responseTopic) });
    // A retained request to a hostile topic is not answered either.
    send("ping", { responseTopic: topics.status, retain: true });
    send("ping", { responseTopic: topics.reply("technician.ana") });
    await settle();
    expect(session.published.map((p) => p.topic)).toEqual([topics.reply("technician.ana")]);
    expect(runs).toEqual({ ping: 1, restart: 0 });
    expect(counters).toMatchObject({ replyTopicsRefused: hostile.length + 1, retainedCommandsRefused: 0 });
    const refusals = ring.tail(100).filter((line) => line.msg === "response topic refused: request not run, not answered");
    expect(refusals).toHaveLength(hostile.length + 1);
    expect(refusals.map((line) => String(line.responseTopic).length).every((length) => length <= 65)).toBe(true);
  });

  it("answers a retried agent.restart from the cache after a ping flood under many requester ids", async () => {
    const { session, runs, send, settle } = setUp();
    const replyTo = topics.reply("technician.ana", "console");
    const requestId = Buffer.from("restart-1");
    send("agent.restart", { responseTopic: replyTo, correlationData: requestId });
    for (let i = 0; i < 1000; i++) send("ping", { responseTopic: topics.reply("mallory"), correlationData: Buffer.from(`p${i}`) });
    for (let i = 0; i < 1000; i++) send("ping", { responseTopic: topics.reply(`mallory-${i}`), correlationData: Buffer.from("p") });
    send("agent.restart", { responseTopic: replyTo, correlationData: requestId });
    await settle();
    const restarts = session.published.filter((p) => p.topic === replyTo);
    expect(restarts.map((p) => p.body)).toEqual([
      { ok: true, result: { restarting: 1 } },
      { ok: true, result: { restarting: 1 } },
    ]);
    expect(runs.restart).toBe(1);
  });
});

describe("CommandRouter across restarts (answers recorded in the data directory)", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  const dataDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-answers-"));
    dirs.push(dir);
    return dir;
  };
  const replyTo = topics.reply("technician.ana");

  it("answers a retry after a restart with the recorded answer, without running it again", async () => {
    const dir = await dataDir();
    const before = setUp({ dataDir: dir });
    before.send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("r1") });
    before.send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("bad"), payload: Buffer.from('{"x":1}') });
    await before.settle();

    const after = setUp({ dataDir: dir });
    after.send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("r1") });
    // Refused before it ran (invalid-params): struck off the record, so the corrected retry runs.
    after.send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("bad") });
    // Another requester's request id is another request.
    after.send("agent.restart", { responseTopic: topics.reply("technician.ben"), correlationData: Buffer.from("r1") });
    await after.settle();
    expect(after.session.published.map((p) => p.body)).toEqual([
      { ok: true, result: { restarting: 1 } },
      { ok: true, result: { restarting: 1 } },
      { ok: true, result: { restarting: 2 } },
    ]);
    expect(after.runs.restart).toBe(2);
  });

  it("answers a retry of a request cut short by the restart with the command's stand-in, and does not run it", async () => {
    const dir = await dataDir();
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let inflations = 0;
    const inflate = defineCommand({
      name: "cuff.inflate",
      description: "",
      params: z.strictObject({}),
      sideEffects: true,
      run: () => {
        inflations += 1;
        started();
        return new Promise(() => undefined); // the agent dies while it runs
      },
    });
    const before = setUp({ dataDir: dir, extraCommands: [inflate] });
    before.send("cuff.inflate", { responseTopic: replyTo, correlationData: Buffer.from("c1") });
    await running; // its request was on disk before it ran
    await before.router.stop(0);
    // agent.restart recorded by a run that stopped before its answer was written down.
    const restartKey = createHash("sha256").update(`${replyTo}\u0000agent.restart\u0000`).update("r9").digest("hex");
    const file = path.join(dir, "commandAnswers.json");
    const recorded = JSON.parse(await readFile(file, "utf8")) as { version: 1; requests: object[] };
    recorded.requests.push({ requester: "technician.ana", key: restartKey, command: "agent.restart", at: Date.now() });
    await writeFile(file, JSON.stringify(recorded));

    const after = setUp({ dataDir: dir, extraCommands: [inflate] });
    after.send("cuff.inflate", { responseTopic: replyTo, correlationData: Buffer.from("c1") });
    after.send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("r9") });
    await after.settle();
    expect(after.session.published.map((p) => p.body)).toEqual([
      { ok: false, error: { code: "repeated-request", message: expect.stringContaining("cuff.inflate") } },
      { ok: true, result: { restarting: true } },
    ]);
    expect([inflations, after.runs.restart]).toEqual([1, 0]);
  });

  it("writes nothing to disk for side-effect requests refused before running (bad parameters, expired)", async () => {
    const dir = await dataDir();
    const { session, runs, send, settle } = setUp({ dataDir: dir });
    // Fewer than the 32 a requester may have pending (responseCache.ts), so none is refused busy.
    for (let i = 0; i < 15; i++) send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from(`bad${i}`), payload: Buffer.from('{"forse":true}') });
    for (let i = 0; i < 15; i++) send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from(`old${i}`), userProperties: { "expires-at": "2001-01-01T00:00:00Z" } });
    await settle();
    expect(new Set(session.published.map((p) => (p.body as { error: { code: string } }).error.code))).toEqual(new Set(["invalid-params", "expired"]));
    expect(runs.restart).toBe(0);
    await expect(readFile(path.join(dir, "commandAnswers.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("still runs a side-effect command when its request cannot be written down (a failing disk)", async () => {
    const dir = await dataDir();
    await writeFile(path.join(dir, "not-a-dir"), "");
    const { session, runs, send, settle, ring } = setUp({ dataDir: path.join(dir, "not-a-dir") });
    send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("r1") });
    send("agent.restart", { responseTopic: replyTo, correlationData: Buffer.from("r1") });
    await settle();
    expect(session.published.map((p) => p.body)).toEqual([
      { ok: true, result: { restarting: 1 } },
      { ok: true, result: { restarting: 1 } }, // still protected in memory
    ]);
    expect(runs.restart).toBe(1);
    expect(ring.tail(100).map((line) => line.msg)).toContain("cannot record the request; running it unrecorded");
  });
});
