/**
 * docs/fleet-api.openapi.json kept honest against the real FleetServer on a small fleet: the
 * document has OpenAPI 3.1's shape and every reference in it resolves; it is what
 * /api/openapi.json serves; every documented GET path answers with a documented status and
 * content type, its JSON matching the documented schema (required fields, types, enums); every
 * documented parameter is taken in its range and refused out of it, an undocumented one refused
 * on every path, each refusal with a documented status and an Error body. The server serves staged
 * rollouts with one under way, so the rollouts' GET routes are checked as the others. The box
 * page's POST routes, the roles and the paths the document does not name: openapiActions.test.ts;
 * the rollouts' POST routes and refusals: openapiRollouts.test.ts.
 */
import { once } from "node:events";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { FleetMetrics } from "../../../tools/fleet/metrics.ts";
import { FleetServer, type FleetServerOptions } from "../../../tools/fleet/server.ts";
import type { ConfigReported } from "../../../agent/core/api.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink, signedManifestText } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { rolloutsOver } from "../../helpers/fleetRollouts.ts";
import { resolvePointer, schemaErrors } from "../../helpers/jsonSchemaLite.ts";
import { deref, doc, document, expectDocumented, node, parametersOf, paths, type Reply } from "../../helpers/openApiDocument.ts";
import { readEventStream } from "../../helpers/rawEventStream.ts";
import { waitFor } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();

const operations = Object.entries(paths).flatMap(([path, item]) => (node(item, path).get === undefined ? [] : [{ path, get: node(node(item, path).get, `GET ${path}`), post: node(item, path).post !== undefined }]));

function fleet(): FakeFleetView {
  return new FakeFleetView([
    boxRow("box-a"),
    boxRow("box-b", { online: false, offlineReason: "connection-lost", attention: [{ kind: "offline", forMin: 42 }] }),
    boxRow("box-c", { summary: null, site: {} }),
    boxRow("box-d", {
      attention: [
        { kind: "peripheral-down", ids: ["spo2-1"], more: 0 },
        { kind: "disk-full", usedPercent: 91 },
        { kind: "outbox-stale", oldestAgeMin: 60 },
        { kind: "clock-unsynchronized" },
        { kind: "update-failed", state: "rolled-back" },
        { kind: "config-refused", version: 12 },
      ],
    }),
  ]);
}

/** A box's retained config/reported as the agent publishes it (docs/mqtt-api.md). */
const REPORTED: ConfigReported = {
  version: 3,
  hash: "2d1ce01bbae60e7a",
  appliedAt: "2026-12-03T08:00:00.000Z",
  state: "applied",
  config: { deviceId: "box-a", log: { level: "info" } },
  lastError: { version: 2, at: "2026-12-03T07:00:00.000Z", errors: ["mqtt: cannot be set remotely"] },
};

/** Technicians' hands on the boxes (--act-without-roster), so that every route of the box page answers 200. */
function boxLink(): FakeBoxLink {
  const link = new FakeBoxLink();
  link.reports.set("box-a", REPORTED);
  link.desiredText.set("box-a", JSON.stringify({ version: 3, patch: { log: { level: "info" } } }));
  link.desiredText.set("box-b", "not json");
  return link;
}

/** The id of the rollout each served server has under way (its canary sent to box-a). */
let rolloutId = "";

async function serve(view = fleet(), options: Partial<FleetServerOptions> = { link: boxLink(), actWithoutRoster: true }): Promise<FleetServer> {
  const { api } = await rolloutsOver(new FakeBoxLink(), view, cleanup);
  const server = await FleetServer.start({ view, port: 0, metrics: new FleetMetrics({ view, defaultMetrics: false, minIntervalMs: 0 }), streamIntervalMs: 20, rollouts: api, ...options });
  cleanup(() => server.stop());
  const created = await fetch(new URL("/api/rollouts", server.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ selection: { deviceIds: ["box-a", "box-b"] }, release: signedManifestText({ version: "1.5.0" }), canary: 1 }),
  });
  expect(created.status).toBe(201);
  rolloutId = ((await created.json()) as { rollout: { id: string } }).rollout.id;
  return server;
}

async function call(server: FleetServer, path: string, method = "GET"): Promise<Reply> {
  const response = await fetch(new URL(path, server.url), { method });
  return { status: response.status, type: response.headers.get("content-type") ?? "", body: await response.text() };
}

/** A request path for a documented template, with a box that exists. */
const concrete = (path: string, id = "box-d") => path.replace("{id}", id).replace("{rolloutId}", rolloutId);

describe("docs/fleet-api.openapi.json", () => {
  it("has OpenAPI 3.1's shape: info, paths of operations with responses, unique operation ids, references that resolve", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const info = node(doc.info, "info");
    expect(typeof info.title).toBe("string");
    expect(typeof info.version).toBe("string");
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(paths)) {
      expect(path).toMatch(/^\//);
      for (const [method, operation] of Object.entries(node(item, path))) {
        expect(["get", "put", "post", "delete", "options", "head", "patch", "trace", "parameters", "summary", "description"]).toContain(method);
        if (method === "parameters" || method === "summary" || method === "description") continue;
        const op = node(operation, `${method} ${path}`);
        expect(typeof op.operationId).toBe("string");
        expect(ids.has(String(op.operationId)), `operationId ${String(op.operationId)} twice`).toBe(false);
        ids.add(String(op.operationId));
        const responses = node(op.responses, `${method} ${path} responses`);
        for (const status of Object.keys(responses)) expect(status).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        // Every {name} in the path is a required path parameter, and every path parameter is in the path.
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
        const declared = parametersOf(op).filter((parameter) => parameter.in === "path");
        expect(declared.map((parameter) => parameter.name).sort()).toEqual([...inPath].sort());
        for (const parameter of declared) expect(parameter.required).toBe(true);
      }
    }
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(() => resolvePointer(document, ref), ref).not.toThrow();
  });

  it("is what the server serves at /api/openapi.json", async () => {
    const server = await serve();
    const reply = await call(server, "/api/openapi.json");
    expect(reply.status).toBe(200);
    expect(reply.type).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toEqual(document);
  });

  it("documents every GET path as the server answers it: status, content type and the answer's schema", async () => {
    const server = await serve();
    for (const { path, get } of operations) {
      if (path === "/api/stream") continue; // an endless answer: read in its own test below
      for (const id of path.includes("{id}") ? ["box-a", "box-b", "box-c", "box-d"] : ["box-d"]) {
        const reply = await call(server, concrete(path, id));
        expect(reply.status, `GET ${concrete(path, id)}`).toBe(200);
        expectDocumented(get, reply, `GET ${concrete(path, id)}`);
      }
    }
    const list = JSON.parse((await call(server, "/api/boxes")).body) as { rows: unknown[] };
    expect(list.rows).toHaveLength(4);
  });

  it("documents the event stream's events", async () => {
    const view = fleet();
    const server = await serve(view);
    const stream = operations.find((operation) => operation.path === "/api/stream");
    const media = node(node(deref(node(stream?.get.responses, "stream responses")["200"], "stream 200").content, "stream content")["text/event-stream"], "event stream");
    const socket = net.connect(server.port, "127.0.0.1");
    cleanup(() => void socket.destroy());
    await once(socket, "connect");
    const events = readEventStream(socket, server.port);
    await waitFor("the stream to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 1 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    view.change(boxRow("box-a", { online: false, attention: [{ kind: "offline", forMin: 11 }] }));
    const data = await events.next((text) => text.includes("box-a"));
    expect(events.text()).toMatch(/content-type: text\/event-stream/i);
    expect(schemaErrors(document, media["x-thea-event-data"], JSON.parse(data))).toEqual([]);
  });

  it("takes each documented parameter in its range and refuses it out of range, as documented", async () => {
    const server = await serve();
    let checked = 0;
    for (const { path, get } of operations) {
      for (const parameter of parametersOf(get).filter((one) => one.in === "query")) {
        const { schema } = parameter;
        const good: string[] = [];
        const bad: string[] = ["x".repeat(65)]; // every parameter: at most 64 characters
        if (Array.isArray(schema.enum)) {
          good.push(...schema.enum.map(String));
          bad.push("not-a-state");
        } else if (schema.type === "integer") {
          good.push(String(schema.minimum), String(schema.maximum));
          bad.push(String(Number(schema.minimum) - 1), String(Number(schema.maximum) + 1), "1.5", "seven");
        } else {
          good.push("", "Lao Cai", "x".repeat(Number(schema.maxLength)));
        }
        for (const value of good) {
          const target = `${concrete(path)}?${new URLSearchParams({ [parameter.name]: value })}`;
          const reply = await call(server, target);
          expect(reply.status, `GET ${target}`).toBe(200);
          expectDocumented(get, reply, `GET ${target}`);
        }
        for (const value of bad) {
          const target = `${concrete(path)}?${new URLSearchParams({ [parameter.name]: value })}`;
          const reply = await call(server, target);
          expect(reply.status, `GET ${target}`).toBe(400);
          expectDocumented(get, reply, `GET ${target}`);
        }
        const twice = `${concrete(path)}?${parameter.name}=${encodeURIComponent(good[0] ?? "")}&${parameter.name}=${encodeURIComponent(good[0] ?? "")}`;
        expect((await call(server, twice)).status, `GET ${twice}`).toBe(400);
        checked += 1;
      }
    }
    // province, district, commune, version, state, q, days
    expect(checked).toBe(7);
  });

  it("refuses an undocumented parameter, another method, an unknown box and a malformed id with the documented answers", async () => {
    const server = await serve();
    for (const { path, get, post } of operations) {
      const documented = new Set(parametersOf(get).map((parameter) => parameter.name));
      const name = ["limit", "format", "page"].find((candidate) => !documented.has(candidate)) ?? "undocumented";
      const target = `${concrete(path)}?${name}=1`;
      const reply = await call(server, target);
      expect(reply.status, `GET ${target}`).toBe(400);
      expectDocumented(get, reply, `GET ${target}`);
      // A POST route's refusals are checked with its POST (openapiActions.test.ts,
      // openapiRollouts.test.ts); a rollout's report, as every rollout path, checks a POST's
      // headers before its path, so its 405 is seen with a method it never takes.
      const method = post || path.startsWith("/api/rollouts") ? "PUT" : "POST";
      const posted = await call(server, concrete(path), method);
      expect(posted.status, `${method} ${path}`).toBe(405);
      expectDocumented(get, posted, `${method} ${path}`);
    }
    for (const { path, get } of operations.filter((operation) => operation.path.includes("{id}"))) {
      const missing = await call(server, concrete(path, "box-zz"));
      expect(missing.status, `GET ${concrete(path, "box-zz")}`).toBe(404);
      expectDocumented(get, missing, `GET ${concrete(path, "box-zz")}`);
      const pattern = String(deref(parametersOf(get).find((parameter) => parameter.in === "path")?.schema, "id schema").pattern);
      expect(new RegExp(pattern).test("Box_Z")).toBe(false);
      const malformed = await call(server, concrete(path, "Box_Z"));
      expect(malformed.status, `GET ${concrete(path, "Box_Z")}`).toBe(400);
      expectDocumented(get, malformed, `GET ${concrete(path, "Box_Z")}`);
    }
  });
});
