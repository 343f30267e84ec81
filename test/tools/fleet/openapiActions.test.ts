/**
 * docs/fleet-api.openapi.json kept honest for the box page's routes (tag `actions`) and for the
 * API as a whole: every documented POST is sent to a real FleetServer (a FakeBoxLink for the
 * boxes) as the service's page sends it and in every way the document says it is refused, each
 * answer checked against the document (status, content type, body, headers), and every status the
 * document gives for these routes is seen at least once; the roles the document names are the
 * roster's (access.ts); and the server, staged rollouts included, answers no /api/ path the
 * document does not name, so a route added without its documentation fails here. The rollouts'
 * own routes: openapiRollouts.test.ts.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { ConfigReported } from "../../../agent/core/api.ts";
import { mayCommand, mayConfigure } from "../../../tools/fleet/access.ts";
import { BOX_ACTION_NAMES, BOX_ACTIONS } from "../../../tools/fleet/boxActions.ts";
import { FleetServer, type FleetServerOptions } from "../../../tools/fleet/server.ts";
import { ROLES } from "../../../tools/roster/roles.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink, signedManifestText } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { rolloutsOver } from "../../helpers/fleetRollouts.ts";
import { schemaErrors } from "../../helpers/jsonSchemaLite.ts";
import { deref, document, expectDocumented, node, parametersOf, paths, templateOf, type Node, type Reply } from "../../helpers/openApiDocument.ts";
import { waitFor } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();

/** Every operation of the document, by method and path template. */
const operationsOf = (tag?: string) =>
  Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(node(item, path))
      .filter(([method]) => ["get", "post"].includes(method))
      .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, operation: node(operation, `${method} ${path}`) }))
      .filter(({ operation }) => tag === undefined || (Array.isArray(operation.tags) && operation.tags.includes(tag))),
  );
const operation = (key: string): Node => {
  const found = operationsOf().find((one) => one.key === key)?.operation;
  if (found === undefined) throw new Error(`${key} is not documented`);
  return found;
};

const REPORTED: ConfigReported = { version: 3, hash: "2d1ce01bbae60e7a", appliedAt: "2026-12-03T08:00:00.000Z", state: "applied", config: {}, lastError: null };

interface Served {
  server: FleetServer;
  link: FakeBoxLink;
}

/** A release for box-a and box-b, as `thea release pack` writes it. */
const MANIFEST = signedManifestText({ version: "1.5.0" });

async function serve(options: Partial<FleetServerOptions> & { noLink?: boolean } = { actWithoutRoster: true }): Promise<Served> {
  const link = new FakeBoxLink();
  link.reports.set("box-a", REPORTED);
  const view = new FakeFleetView([boxRow("box-a"), boxRow("box-b")]);
  const { noLink, ...rest } = options;
  // Rollouts publish through a link of their own: the actions' link counts only what they send.
  const { api } = await rolloutsOver(new FakeBoxLink(), view, cleanup);
  const server = await FleetServer.start({ view, port: 0, rollouts: api, ...(noLink ? {} : { link }), ...rest });
  cleanup(() => server.stop());
  return { server, link };
}

function send(server: FleetServer, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: server.port, path, method: options.method ?? "GET", headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks);
        const type = response.headers["content-type"] ?? "";
        resolve({ status: response.statusCode ?? 0, type, headers: response.headers, body: type.startsWith("application/json") ? body.toString("utf8") : body.toString("base64") });
      });
    });
    // A server that answers before reading the whole body may close the connection under us.
    request.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error)));
    request.end(options.body);
  });
}

/** What the service's own page sends with a POST (the document's required headers). */
const pageHeaders = (server: FleetServer): Record<string, string> => ({ "content-type": "application/json", origin: `http://127.0.0.1:${server.port}`, "sec-fetch-site": "same-origin" });

let ids = 0;
const newId = () => `openapi-${Date.now()}-${(ids += 1)}`;

/** The request body as the document describes it (checked against its schema before it is sent). */
function documentedBody(key: string, body: unknown): string {
  const schema = node(node(node(operation(key).requestBody, `${key} requestBody`).content, "content")["application/json"], "application/json").schema;
  expect(schemaErrors(document, schema, body), `${key}'s request body`).toEqual([]);
  return JSON.stringify(body);
}

/** A diagnostics bundle of one part, as the box answers diagnostics.collect (docs/mqtt-api.md). */
function onePartBundle(): { ok: true; result: Record<string, unknown> } {
  const gzipped = gzipSync(JSON.stringify({ health: {}, logs: [] }));
  const sha256 = createHash("sha256").update(gzipped).digest("hex");
  return { ok: true, result: { bundleId: "b-1", bytes: gzipped.length, sha256, parts: 1, part: 0, data: gzipped.toString("base64"), encoding: "gzip+base64" } };
}

const ACTION = "POST /api/boxes/{id}/actions/{name}";
const CONFIG = "POST /api/boxes/{id}/config";

describe("docs/fleet-api.openapi.json: the box page's routes", () => {
  it("documents every answer of the box page's routes, refusals included, and gives no status they cannot give", async () => {
    const seen = new Map<string, Set<number>>();
    const check = (key: string, reply: Reply, what: string, status: number) => {
      expect(reply.status, `${what}: ${reply.body.slice(0, 200)}`).toBe(status);
      expectDocumented(operation(key), reply, what);
      seen.set(key, (seen.get(key) ?? new Set()).add(reply.status));
    };
    const { server, link } = await serve();
    const headers = pageHeaders(server);
    const act = (name: string, body: unknown, extra: { headers?: Record<string, string>; id?: string; raw?: string } = {}) =>
      send(server, `/api/boxes/${extra.id ?? "box-a"}/actions/${name}`, { method: "POST", headers: extra.headers ?? headers, body: extra.raw ?? JSON.stringify(body) });
    const configure = (body: unknown, extra: { headers?: Record<string, string>; id?: string; raw?: string } = {}) =>
      send(server, `/api/boxes/${extra.id ?? "box-a"}/config`, { method: "POST", headers: extra.headers ?? headers, body: extra.raw ?? JSON.stringify(body) });

    // An action, as the page sends it.
    link.answers.set("ping", { ok: true, result: { pong: true } });
    check(ACTION, await act("ping", undefined, { raw: documentedBody(ACTION, { requestId: newId() }) }), "ping", 200);
    check(ACTION, await act("logs.tail", undefined, { raw: documentedBody(ACTION, { requestId: newId(), params: { lines: 10, level: "warn" } }) }), "logs.tail", 200);
    link.answers.set("diagnostics.collect", onePartBundle());
    const bundle = await act("diagnostics.collect", { requestId: newId() });
    check(ACTION, bundle, "diagnostics.collect", 200);
    expect(bundle.type).toBe("application/gzip");
    expect(bundle.headers?.["x-thea-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.headers?.["content-disposition"]).toMatch(/^attachment; filename="diagnostics-box-a-\d{8}T\d{6}Z\.json\.gz"$/);
    // Refused before the box is asked.
    check(ACTION, await act("ping", undefined, { raw: "{not json" }), "a body that is not JSON", 400);
    check(ACTION, await act("ping", { requestId: "short" }), "a request id too short", 400);
    check(ACTION, await act("logs.tail", { requestId: newId(), params: { lines: 0 } }), "a parameter out of range", 400);
    check(ACTION, await act("ping", { requestId: newId() }, { headers: { ...headers, origin: "https://evil.example" } }), "another origin", 403);
    const { origin: _origin, ...noOrigin } = headers;
    check(ACTION, await act("ping", { requestId: newId() }, { headers: noOrigin }), "no Origin", 403);
    check(ACTION, await act("ping", { requestId: newId() }, { headers: { ...headers, "sec-fetch-site": "same-site" } }), "a same-site page", 403);
    check(ACTION, await act("ping", { requestId: newId() }, { headers: { ...headers, "content-type": "text/plain" } }), "a form's content type", 415);
    check(ACTION, await act("ping", { requestId: newId(), params: { pad: "x".repeat(5000) } }), "a body over 4 KiB", 413);
    check(ACTION, await act("ping", { requestId: newId() }, { id: "box-zz" }), "an unknown box", 404);
    check(ACTION, await act("shell.exec", { requestId: newId() }), "an action not passed on", 404);
    check(ACTION, await send(server, "/api/boxes/box-a/actions/ping"), "a GET of an action", 405);
    const reused = newId();
    check(ACTION, await act("ping", { requestId: reused }), "a first request", 200);
    check(ACTION, await act("health.now", { requestId: reused }), "its id for another action", 409);
    // The box's refusals, by code.
    const refusals: Array<[string, number]> = [["invalid-params", 400], ["consultation-live", 409], ["rate-limited", 429], ["no-such-thing", 502], ["busy", 503], ["no-answer", 504]];
    for (const [code, status] of refusals) {
      link.answers.set("agent.restart", { ok: false, error: { code, message: `the box says ${code}` } });
      const reply = await act("agent.restart", { requestId: newId() });
      check(ACTION, reply, `the box's ${code}`, status);
      expect(JSON.parse(reply.body)).toEqual({ ok: false, code, error: `the box says ${code}` });
    }

    // The config editor.
    check("GET /api/boxes/{id}/config", await send(server, "/api/boxes/box-a/config"), "the config", 200);
    const change = (version: number, requestId = newId()) => ({ requestId, desired: { version, patch: { log: { level: "debug" } } } });
    const published = change(4);
    check(CONFIG, await configure(undefined, { raw: documentedBody(CONFIG, published) }), "a change", 200);
    check(CONFIG, await configure({ ...change(5, published.requestId) }), "its id for another change", 409);
    check(CONFIG, await configure(change(3)), "a version the box runs", 422);
    check(CONFIG, await configure({ ...change(6), extra: 1 }), "a key the body does not take", 400);
    check(CONFIG, await configure(change(6), { headers: noOrigin }), "no Origin", 403);
    check(CONFIG, await configure(change(6), { headers: { ...headers, "content-type": "application/x-www-form-urlencoded" } }), "a form", 415);
    check(CONFIG, await configure({ ...change(6), pad: "x".repeat(70_000) }), "a body over 64 KiB", 413);
    check(CONFIG, await configure(change(6), { id: "box-zz" }), "an unknown box", 404);
    check(CONFIG, await send(server, "/api/boxes/box-a/config", { method: "PUT" }), "a PUT", 405);
    link.readFailure = new Error("the link is down");
    check(CONFIG, await configure(change(6)), "a config/reported that cannot be read", 503);
    check("GET /api/boxes/{id}/config", await send(server, "/api/boxes/box-a/config"), "the config, the link down", 503);
    link.readFailure = undefined;

    // Four of one person's actions in flight: the fifth waits for none of them.
    link.hold = true;
    const running = [1, 2, 3, 4].map(() => act("peripherals.rescan", { requestId: newId() }));
    await waitFor("four actions held by the box", 5000, (done) => {
      const timer = setInterval(() => link.waiting === 4 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    check(ACTION, await act("ping", { requestId: newId() }), "a fifth action", 429);
    check(CONFIG, await configure(change(7)), "a change with four actions in flight", 429);
    link.release();
    for (const reply of await Promise.all(running)) check(ACTION, reply, "a held action", 200);

    // Nobody named (no roster, no --act-without-roster), and no link to the boxes.
    const nobody = await serve({});
    check(ACTION, await send(nobody.server, "/api/boxes/box-a/actions/peripherals.rescan", { method: "POST", headers: pageHeaders(nobody.server), body: JSON.stringify({ requestId: newId() }) }), "nobody named", 403);
    check(CONFIG, await send(nobody.server, "/api/boxes/box-a/config", { method: "POST", headers: pageHeaders(nobody.server), body: JSON.stringify(change(8)) }), "nobody named", 403);
    check("GET /api/boxes/{id}/config", await send(nobody.server, "/api/boxes/box-a/config"), "the config, nobody named", 403);
    const allowed = await send(nobody.server, "/api/boxes/box-a/actions");
    check("GET /api/boxes/{id}/actions", allowed, "what nobody may do", 200);
    expect(JSON.parse(allowed.body)).toMatchObject({ role: null, actions: [], configure: false });
    const unlinked = await serve({ actWithoutRoster: true, noLink: true });
    check(ACTION, await send(unlinked.server, "/api/boxes/box-a/actions/ping", { method: "POST", headers: pageHeaders(unlinked.server), body: JSON.stringify({ requestId: newId() }) }), "no link", 503);
    check(CONFIG, await send(unlinked.server, "/api/boxes/box-a/config", { method: "POST", headers: pageHeaders(unlinked.server), body: JSON.stringify(change(8)) }), "no link", 503);

    // The GET routes' own refusals.
    for (const path of ["/api/boxes/{id}/actions", "/api/boxes/{id}/config"]) {
      const key = `GET ${path}`;
      check(key, await send(server, path.replace("{id}", "box-a")), `${key}`, 200);
      check(key, await send(server, path.replace("{id}", "Box_A")), `${key}, a malformed id`, 400);
      check(key, await send(server, path.replace("{id}", "box-zz")), `${key}, an unknown box`, 404);
      check(key, await send(server, path.replace("{id}", "box-a"), { headers: { "sec-fetch-site": "cross-site" } }), `${key}, cross-site`, 403);
      check(key, await send(server, path.replace("{id}", "box-a"), { method: "DELETE" }), `${key}, DELETE`, 405);
    }
    const schemaKey = "GET /api/config-schema";
    check(schemaKey, await send(server, "/api/config-schema"), "the schema", 200);
    check(schemaKey, await send(server, "/api/config-schema?limit=1"), "the schema, a parameter", 400);
    check(schemaKey, await send(server, "/api/config-schema", { headers: { "sec-fetch-site": "cross-site" } }), "the schema, cross-site", 403);
    check(schemaKey, await send(server, "/api/config-schema", { method: "POST", headers, body: "{}" }), "a POST of the schema", 405);

    // Every status these routes document was given at least once (those of every path and a
    // failure inside the service are checked elsewhere or cannot be provoked from outside).
    for (const { key, operation: documented } of operationsOf("actions")) {
      const statuses = Object.keys(node(documented.responses, key)).filter((status) => !["414", "421", "500"].includes(status));
      expect([...(seen.get(key) ?? [])].map(String).sort(), key).toEqual(statuses.sort());
    }
  });

  it("names the roles that may call each route as the roster gives them (access.ts)", () => {
    const actions = operation(ACTION);
    const names = deref(parametersOf(actions).find((parameter) => parameter.name === "name"), "name").schema;
    expect(node(names, "name's schema").enum).toEqual(BOX_ACTION_NAMES);
    const roles = node(actions["x-thea-roles"], "x-thea-roles");
    expect(Object.keys(roles)).toEqual(BOX_ACTION_NAMES);
    for (const name of BOX_ACTION_NAMES) expect(roles[name], name).toEqual(ROLES.filter((role) => mayCommand(role, name)));
    for (const key of ["GET /api/boxes/{id}/config", CONFIG]) expect(operation(key)["x-thea-roles"], key).toEqual(ROLES.filter((role) => mayConfigure(role)));
    for (const key of ["GET /api/boxes/{id}/actions", "GET /api/config-schema"]) expect(operation(key)["x-thea-roles"], key).toEqual([...ROLES]);
    // Every action's parameters are among the documented ones.
    const documented = Object.keys(node(node(resolve("#/components/schemas/ActionParams"), "ActionParams").properties, "properties"));
    for (const name of BOX_ACTION_NAMES) expect(documented, name).toEqual(expect.arrayContaining(Object.keys(BOX_ACTIONS[name].params.shape)));
    // Every POST names the headers a POST must carry: the box page's routes an Origin always, the
    // rollouts' only from a browser (the CLI sends none).
    for (const { key, operation: post } of operationsOf().filter((one) => one.method === "post")) {
      const originRequired = !(Array.isArray(post.tags) && post.tags.includes("rollouts"));
      expect(parametersOf(post).filter((parameter) => parameter.in === "header").map((parameter) => [parameter.name, parameter.required]), key).toEqual([["Origin", originRequired], ["Sec-Fetch-Site", false]]);
      expect(Object.keys(node(node(post.requestBody, "requestBody").content, "content")), key).toEqual(["application/json"]);
    }
  });

  it("names every /api/ path the server answers", async () => {
    const { server } = await serve();
    // A rollout under way, so that its own paths answer.
    const created = await send(server, "/api/rollouts", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ selection: { deviceIds: ["box-a"] }, release: MANIFEST }) });
    expect(created.status).toBe(201);
    const rolloutId = (JSON.parse(created.body) as { rollout: { id: string } }).rollout.id;
    // Every word in a string of the fleet service's code, as a path segment where a route could be.
    const source = sourceFiles(new URL("../../../tools/fleet/", import.meta.url)).map((file) => readFileSync(file, "utf8"));
    const literals = source.flatMap((text) => text.match(/"[^"\n]*"|'[^'\n]*'|`[^`]*`/g) ?? []);
    const words = [...new Set(literals.flatMap((literal) => literal.match(/[A-Za-z][A-Za-z0-9._-]*/g) ?? []))];
    expect(words).toEqual(expect.arrayContaining(["counts", "boxes", "history", "stream", "actions", "config", "config-schema", "openapi.json", "rollouts", "pause"]));
    const written = literals.flatMap((literal) => (/^.\/api\//.test(literal) ? [literal.slice(1, -1).replace(/\$\{[^}]*\}/g, "box-a").split("?")[0] ?? ""] : []));
    const candidates = [
      ...new Set([...written, `/api/rollouts/${rolloutId}`, ...words.flatMap((word) => [`/api/${word}`, `/api/${word}/box-a`, `/api/boxes/box-a/${word}`, `/api/boxes/box-a/${word}/x`, `/api/rollouts/${rolloutId}/${word}`, `/api/rollouts/${rolloutId}/${word}/x`])]),
    ];
    const undocumented: string[] = [];
    for (let start = 0; start < candidates.length; start += 16) {
      await Promise.all(
        candidates.slice(start, start + 16).map(async (path) => {
          // HEAD: the same status as GET, and /api/stream answers it without staying open. The
          // rollouts' paths answer HEAD with 405 whatever the path, so they are asked with GET.
          const reply = await send(server, path, { method: path.startsWith("/api/rollouts") ? "GET" : "HEAD" });
          if (reply.status !== 404 && templateOf(new URL(path, "http://x").pathname) === undefined) undocumented.push(`${path} (${reply.status})`);
        }),
      );
    }
    expect(undocumented, "answered by the server, not named in docs/fleet-api.openapi.json").toEqual([]);
  });
});

function resolve(pointer: string): unknown {
  return deref({ $ref: pointer }, pointer);
}

/** The fleet service's TypeScript files (its page's scripts are the browser's, not routes). */
function sourceFiles(directory: URL): URL[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return entry.name === "page" ? [] : sourceFiles(new URL(`${entry.name}/`, directory));
    return entry.name.endsWith(".ts") ? [new URL(entry.name, directory)] : [];
  });
}
