/**
 * The box page's actions and config editor on the fleet server (tools/fleet/serverActions.ts),
 * over a fake FleetView and a fake BoxLink, on plain HTTP: a POST is taken only from the service's
 * own page (JSON, same origin, small), only the allow-listed commands reach the box, a repeated
 * request id runs once, a person's flood is bounded, diagnostics arrive as a checked file, and
 * a config layer is checked before it is published. Without a roster nobody may act, unless the
 * service was started to let everyone act (--act-without-roster). Roles by roster: serverActionsAccess.test.ts.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { ConfigReported } from "../../../agent/core/api.ts";
import { scopedId } from "../../../tools/fleet/actionLedger.ts";
import type { BoxCommand } from "../../../tools/fleet/types/boxLink.ts";
import type { BoxHistoryEntry } from "../../../tools/fleet/model.ts";
import { FleetServer, type FleetServerOptions } from "../../../tools/fleet/server.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { waitFor } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();

interface Served {
  server: FleetServer;
  link: FakeBoxLink;
  journal: BoxHistoryEntry[];
}

async function serve(options: Partial<FleetServerOptions> = { actWithoutRoster: true }): Promise<Served> {
  const link = new FakeBoxLink();
  const journal: BoxHistoryEntry[] = [];
  const view = new FakeFleetView([boxRow("box-a"), boxRow("box-b")]);
  const server = await FleetServer.start({ view, port: 0, link, journal: { record: (entry) => journal.push(entry) }, ...options });
  cleanup(() => server.stop());
  return { server, link, journal };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(server: FleetServer, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: server.port, path, method: options.method ?? "GET", headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    // A server that answers before reading the whole body may close the connection under us.
    request.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error)));
    if (options.chunked) request.setHeader("transfer-encoding", "chunked");
    request.end(options.body);
  });
}

/** What the service's own page sends. */
function pageHeaders(server: FleetServer): Record<string, string> {
  return { "content-type": "application/json", origin: `http://127.0.0.1:${server.port}`, "sec-fetch-site": "same-origin" };
}

function post(server: FleetServer, path: string, body: unknown, headers: Record<string, string> = pageHeaders(server)): Promise<Reply> {
  return send(server, path, { method: "POST", headers, body: JSON.stringify(body) });
}

const json = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body.toString("utf8")) as Record<string, unknown>;
let ids = 0;
const newId = () => `request-${Date.now()}-${(ids += 1)}`;

describe("the box page's actions", () => {
  it("lets nobody act without a roster, unless started to let everyone act", async () => {
    const { server, link } = await serve({});
    expect(json(await send(server, "/api/boxes/box-a/actions"))).toMatchObject({ role: null, actions: [], configure: false });
    const refused = await post(server, "/api/boxes/box-a/actions/peripherals.rescan", { requestId: newId() });
    expect(refused.status).toBe(403);
    expect(json(refused).error).toMatch(/without a roster nobody/);
    expect((await send(server, "/api/boxes/box-a/config")).status).toBe(403);
    expect(link.commands).toEqual([]);

    const open = await serve({ actWithoutRoster: true });
    const allowed = json(await send(open.server, "/api/boxes/box-a/actions"));
    expect(allowed.role).toBe("technician");
    expect(allowed.configure).toBe(true);
    expect((allowed.actions as Array<{ name: string }>).map((action) => action.name)).toEqual([
      "ping", "health.now", "peripherals.list", "peripherals.rescan", "logs.tail", "diagnostics.collect", "agent.restart", "system.reboot",
    ]);
  });

  it("sends an allowed action to the box under a request id scoped to the person, answers its result, and records it", async () => {
    const { server, link, journal } = await serve();
    link.answers.set("peripherals.rescan", { ok: true, result: { rescanned: ["oximeter"], peripherals: [] } });
    const requestId = newId();
    const reply = await post(server, "/api/boxes/box-a/actions/peripherals.rescan", { requestId });
    expect(reply.status).toBe(200);
    expect(json(reply)).toEqual({ ok: true, result: { rescanned: ["oximeter"], peripherals: [] } });
    expect(link.commands).toEqual([{ deviceId: "box-a", name: "peripherals.rescan", params: {}, requestId: scopedId("*", requestId) }]);
    expect(journal).toEqual([expect.objectContaining({ deviceId: "box-a", kind: "action", detail: { cn: null, role: "technician", command: "peripherals.rescan", code: "ok" } })]);

    await post(server, "/api/boxes/box-b/actions/logs.tail", { requestId: newId(), params: { lines: 50, level: "warn" } });
    expect(link.commands[1]).toMatchObject({ deviceId: "box-b", name: "logs.tail", params: { lines: 50, level: "warn" } });
    expect(journal.map((entry) => entry.detail.command)).toEqual(["peripherals.rescan", "logs.tail"]);
    // Looking is not acting: the watching commands are logged, not kept in the box's history.
    expect((await post(server, "/api/boxes/box-a/actions/peripherals.list", { requestId: newId() })).status).toBe(200);
    expect(journal).toHaveLength(2);
  });

  it("refuses a POST that is not the service's own page's, before reading it or sending anything", async () => {
    const { server, link } = await serve();
    const path = "/api/boxes/box-a/actions/agent.restart";
    const body = { requestId: newId() };
    const own = pageHeaders(server);
    const cases: Array<[string, Record<string, string>, number]> = [
      ["cross-site", { ...own, "sec-fetch-site": "cross-site" }, 403],
      ["same-site", { ...own, "sec-fetch-site": "same-site" }, 403],
      ["a form's text/plain", { ...own, "content-type": "text/plain" }, 415],
      ["a form's urlencoded", { ...own, "content-type": "application/x-www-form-urlencoded" }, 415],
      ["no content type", { origin: own.origin ?? "" }, 415],
      ["no Origin", { "content-type": "application/json" }, 403],
      ["a foreign Origin", { ...own, origin: "http://evil.example" }, 403],
      ["an opaque Origin", { ...own, origin: "null" }, 403],
      ["another scheme", { ...own, origin: `https://127.0.0.1:${server.port}` }, 403],
      ["another port", { ...own, origin: `http://127.0.0.1:${server.port + 1}` }, 403],
    ];
    for (const [what, headers, status] of cases) {
      const reply = await post(server, path, body, headers);
      expect({ what, status: reply.status }).toEqual({ what, status });
      expect(typeof json(reply).error).toBe("string");
    }
    // An address the server also answers to is its own origin too.
    expect((await post(server, "/api/boxes/box-a/actions/ping", { requestId: newId() }, { ...own, origin: `http://localhost:${server.port}` })).status).toBe(200);
    expect(link.commands.map((command) => command.name)).toEqual(["ping"]);
  });

  it("refuses a body over the cap with 413, announced or not", async () => {
    const { server, link } = await serve();
    const big = JSON.stringify({ requestId: newId(), params: { pad: "x".repeat(10_000) } });
    const announced = await send(server, "/api/boxes/box-a/actions/ping", { method: "POST", headers: pageHeaders(server), body: big });
    expect(announced.status).toBe(413);
    const chunked = await send(server, "/api/boxes/box-a/actions/ping", { method: "POST", headers: pageHeaders(server), body: big, chunked: true });
    expect(chunked.status).toBe(413);
    expect(link.commands).toEqual([]);
  });

  it("passes no other command than the allow-listed ones, and checks their parameters", async () => {
    const { server, link } = await serve();
    for (const name of ["config.reset", "update.apply", "bp.start", "webrtc.offer", "__proto__", "constructor"]) {
      const reply = await post(server, `/api/boxes/box-a/actions/${name}`, { requestId: newId() });
      expect({ name, status: reply.status }).toEqual({ name, status: 404 });
    }
    const bad: Array<[string, unknown]> = [
      ["logs.tail", { requestId: newId(), params: { lines: 5000 } }],
      ["logs.tail", { requestId: newId(), params: { level: "loud" } }],
      ["agent.restart", { requestId: newId(), params: { force: "yes" } }],
      ["peripherals.rescan", { requestId: newId(), params: { extra: 1 } }],
      ["diagnostics.collect", { requestId: newId(), params: { bundleId: "x", part: 3 } }],
      ["ping", { requestId: "short" }],
      ["ping", { requestId: newId(), other: 1 }],
      ["ping", ["not", "an", "object"]],
    ];
    for (const [name, body] of bad) {
      const reply = await post(server, `/api/boxes/box-a/actions/${name}`, body);
      expect({ name, body, status: reply.status }).toEqual({ name, body, status: 400 });
    }
    const notJson = await send(server, "/api/boxes/box-a/actions/ping", { method: "POST", headers: pageHeaders(server), body: "{requestId" });
    expect(notJson.status).toBe(400);
    expect((await post(server, "/api/boxes/box-zz/actions/ping", { requestId: newId() })).status).toBe(404);
    const getAction = await send(server, "/api/boxes/box-a/actions/ping");
    expect([getAction.status, getAction.headers.allow]).toEqual([405, "POST"]);
    expect((await send(server, "/api/boxes/box-a", { method: "POST", headers: pageHeaders(server), body: "{}" })).status).toBe(405);
    expect(link.commands).toEqual([]);
  });

  it("runs a repeated request id once: a double click joins the first, a retry gets its answer", async () => {
    const { server, link, journal } = await serve();
    link.hold = true;
    link.answers.set("agent.restart", { ok: true, result: { restarting: true } });
    const requestId = newId();
    const path = "/api/boxes/box-a/actions/agent.restart";
    const first = post(server, path, { requestId });
    await waitFor("the first restart to reach the box", 5_000, (done) => {
      const timer = setInterval(() => link.waiting === 1 && done(undefined), 5);
      return () => clearInterval(timer);
    });
    const second = post(server, path, { requestId });
    link.release();
    const answers = await Promise.all([first, second]);
    expect(answers.map((reply) => [reply.status, json(reply)])).toEqual([
      [200, { ok: true, result: { restarting: true } }],
      [200, { ok: true, result: { restarting: true } }],
    ]);
    link.hold = false;
    expect(json(await post(server, path, { requestId }))).toEqual({ ok: true, result: { restarting: true } });
    expect(link.commands).toHaveLength(1);
    expect(journal).toHaveLength(1);
    // The same id for something else is not a retry: refused, never run.
    expect((await post(server, path, { requestId, params: { force: true } })).status).toBe(409);
    expect((await post(server, "/api/boxes/box-b/actions/agent.restart", { requestId })).status).toBe(409);
    expect(link.commands).toHaveLength(1);
  });

  it("bounds one person's actions in flight (429)", async () => {
    const { server, link } = await serve();
    link.hold = true;
    const running = [1, 2, 3, 4].map(() => post(server, "/api/boxes/box-a/actions/ping", { requestId: newId() }));
    await waitFor("four pings at the box", 5_000, (done) => {
      const timer = setInterval(() => link.waiting === 4 && done(undefined), 5);
      return () => clearInterval(timer);
    });
    const fifth = await post(server, "/api/boxes/box-a/actions/ping", { requestId: newId() });
    expect(fifth.status).toBe(429);
    link.release();
    expect((await Promise.all(running)).map((reply) => reply.status)).toEqual([200, 200, 200, 200]);
    link.hold = false;
    expect((await post(server, "/api/boxes/box-a/actions/ping", { requestId: newId() })).status).toBe(200);
  });

  it("passes the box's refusals on with their code, and a reboot's confirmation token back to the box", async () => {
    const { server, link } = await serve();
    link.answers.set("agent.restart", { ok: false, error: { code: "consultation-live", message: "a viewer session is live" } });
    const live = await post(server, "/api/boxes/box-a/actions/agent.restart", { requestId: newId() });
    expect(live.status).toBe(409);
    expect(json(live)).toEqual({ ok: false, code: "consultation-live", error: "a viewer session is live" });
    link.answers.set("system.reboot", (request: BoxCommand) =>
      request.params?.confirmToken === "tok-1" ? { ok: true, result: { rebooting: true } } : { ok: true, result: { confirmToken: "tok-1", expiresInSec: 60 } },
    );
    const step1 = json(await post(server, "/api/boxes/box-a/actions/system.reboot", { requestId: newId() }));
    expect(step1).toEqual({ ok: true, result: { confirmToken: "tok-1", expiresInSec: 60 } });
    const step2 = json(await post(server, "/api/boxes/box-a/actions/system.reboot", { requestId: newId(), params: { confirmToken: "tok-1", force: true } }));
    expect(step2).toEqual({ ok: true, result: { rebooting: true } });
    expect(link.commands.at(-1)?.params).toEqual({ confirmToken: "tok-1", force: true });
    link.answers.set("ping", { ok: false, error: { code: "no-answer", message: "no answer within 35 s" } });
    const lost = newId();
    expect((await post(server, "/api/boxes/box-a/actions/ping", { requestId: lost })).status).toBe(504);
    // A failure on the way is not kept: the retry goes to the box again, under the same id.
    link.answers.set("ping", { ok: true, result: { deviceId: "box-a" } });
    expect((await post(server, "/api/boxes/box-a/actions/ping", { requestId: lost })).status).toBe(200);
    const pings = link.commands.filter((command) => command.name === "ping");
    expect(pings).toHaveLength(2);
    expect(pings[0]?.requestId).toBe(pings[1]?.requestId);
  });

  it("hands diagnostics over as a file, put together from its parts and checked", async () => {
    const { server, link } = await serve();
    const gzipped = gzipSync(JSON.stringify({ deviceId: "box-a", recentLogs: Array.from({ length: 500 }, (_, index) => `line ${index} ${Math.random()}`) }));
    const sha256 = createHash("sha256").update(gzipped).digest("hex");
    const size = Math.ceil(gzipped.length / 3);
    const partOf = (index: number) => ({
      bundleId: "b-1", encoding: "gzip+base64", bytes: gzipped.length, sha256, parts: 3, part: index,
      data: gzipped.subarray(index * size, (index + 1) * size).toString("base64"),
    });
    link.answers.set("diagnostics.collect", (request) => ({ ok: true, result: partOf(typeof request.params?.part === "number" ? request.params.part : 0) }));
    const reply = await post(server, "/api/boxes/box-a/actions/diagnostics.collect", { requestId: newId() });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/gzip");
    expect(reply.headers["content-disposition"]).toMatch(/^attachment; filename="diagnostics-box-a-\d{8}T\d{6}Z\.json\.gz"$/);
    expect(reply.headers["x-thea-sha256"]).toBe(sha256);
    expect(reply.body.equals(gzipped)).toBe(true);
    expect(link.commands.map((command) => command.params)).toEqual([{}, { bundleId: "b-1", part: 1 }, { bundleId: "b-1", part: 2 }]);

    // One part's bytes changed on the way: no file.
    link.answers.set("diagnostics.collect", (request) => {
      const part = partOf(typeof request.params?.part === "number" ? request.params.part : 0);
      return { ok: true, result: part.part === 2 ? { ...part, data: Buffer.from("tampered!").toString("base64") } : part };
    });
    const bad = await post(server, "/api/boxes/box-a/actions/diagnostics.collect", { requestId: newId() });
    expect(bad.status).toBe(502);
    expect(json(bad)).toMatchObject({ code: "bad-bundle" });
  });
});

describe("the config editor's API", () => {
  const reported: ConfigReported = {
    version: 4, hash: "0123456789abcdef", appliedAt: "2026-12-03T10:00:00.000Z", state: "applied", lastError: null,
    config: { deviceId: "box-a", mqtt: { url: "mqtt://127.0.0.1:1883", clientId: "thea-box-a" }, telemetry: { healthIntervalSec: 60 } },
  };

  it("shows config/desired and config/reported, and publishes a layer that checks out", async () => {
    const { server, link, journal } = await serve();
    link.reports.set("box-a", reported);
    link.desiredText.set("box-a", '{"version":4,"patch":{"telemetry":{"healthIntervalSec":60}}}');
    expect(json(await send(server, "/api/boxes/box-a/config"))).toEqual({
      deviceId: "box-a",
      desired: { text: '{"version":4,"patch":{"telemetry":{"healthIntervalSec":60}}}', value: { version: 4, patch: { telemetry: { healthIntervalSec: 60 } } } },
      reported,
    });
    const desired = { version: 5, patch: { telemetry: { healthIntervalSec: 30 }, log: { level: "debug" } } };
    const reply = await post(server, "/api/boxes/box-a/config", { requestId: newId(), desired });
    expect(reply.status).toBe(200);
    expect(json(reply)).toEqual({ published: { version: 5 } });
    expect(link.published).toEqual([{ deviceId: "box-a", kind: "config", payload: JSON.stringify(desired) }]);
    expect(journal.at(-1)).toMatchObject({ kind: "action", detail: { command: "config.desired", code: "published", version: 5 } });
  });

  it("refuses, with every problem, a layer the box would refuse, and publishes nothing", async () => {
    const { server, link } = await serve();
    link.reports.set("box-a", reported);
    const cases: Array<[unknown, RegExp]> = [
      [{ version: 4, patch: { log: { level: "debug" } } }, /^version: 4 is not above the version the box runs \(4\)/],
      [{ version: 5, config: { dataDir: "/tmp/x" } }, /^dataDir: cannot be set remotely/],
      [{ version: 5, patch: { remotePolicy: { networks: ["0.0.0.0/0"] } } }, /^remotePolicy: cannot be set remotely/],
      [{ version: 5, patch: { mqtt: { url: "mqtt://evil.example:1883" } } }, /^mqtt: set by the box's own file/],
      [{ version: 5, patch: { telemetry: { healthIntervalSec: "often" } } }, /^telemetry\.healthIntervalSec: /],
      [{ version: 5, patch: { telemetri: {} } }, /^telemetri: unknown key/],
      [{ version: 5 }, /give either config or patch/],
      [{ version: 0, patch: {} }, /^version: /],
    ];
    for (const [desired, error] of cases) {
      const reply = await post(server, "/api/boxes/box-a/config", { requestId: newId(), desired });
      expect(reply.status).toBe(422);
      expect((json(reply).errors as string[]).join("\n")).toMatch(error);
    }
    expect(link.published).toEqual([]);
  });

  it("says so, with 503, when the box's retained state cannot be read, and publishes nothing", async () => {
    const { server, link } = await serve();
    link.readFailure = new Error("the fleet service is not connected to the broker");
    const read = await send(server, "/api/boxes/box-a/config");
    expect([read.status, json(read).error]).toEqual([503, "the box's configuration cannot be read now: the fleet service is not connected to the broker"]);
    const write = await post(server, "/api/boxes/box-a/config", { requestId: newId(), desired: { version: 5, patch: {} } });
    expect(write.status).toBe(503);
    expect(link.published).toEqual([]);
  });

  it("serves the agent's configuration schema for the editor's hints", async () => {
    const { server } = await serve({});
    const schema = json(await send(server, "/api/config-schema"));
    expect(Object.keys(schema.properties as object)).toContain("telemetry");
  });
});
