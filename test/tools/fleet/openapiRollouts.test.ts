/**
 * docs/fleet-api.openapi.json kept honest for staged rollouts' routes (tag `rollouts`): a real
 * FleetServer serves them (a RolloutEngine over a FakeBoxLink, a MemoryRolloutStore); every
 * documented request is sent as `thea fleet rollout` and the rollouts page send it, and in every
 * way the document says it is refused, each answer checked against the document (status, content
 * type, body, headers); every status the document gives these routes is seen at least once (but
 * 500, a failure inside); and the roles it names are the roster's. Their GET answers are also
 * checked with the other GET routes (openapi.test.ts), and no rollout path escapes the
 * undocumented-path check (openapiActions.test.ts).
 */
import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { FleetServer, type FleetServerOptions } from "../../../tools/fleet/server.ts";
import { ROLE_GRANTS, ROLES } from "../../../tools/roster/roles.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink, signedManifestText } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { rolloutsOver } from "../../helpers/fleetRollouts.ts";
import { schemaErrors } from "../../helpers/jsonSchemaLite.ts";
import { document, expectDocumented, node, paths, type Node, type Reply } from "../../helpers/openApiDocument.ts";

const { cleanup } = useCleanups();

const LIST = "GET /api/rollouts";
const CREATE = "POST /api/rollouts";
const REPORT = "GET /api/rollouts/{rolloutId}";
const CONTROL = "POST /api/rollouts/{rolloutId}/{control}";

const rolloutOperations = Object.entries(paths).flatMap(([path, item]) =>
  Object.entries(node(item, path))
    .filter(([method, operation]) => ["get", "post"].includes(method) && Array.isArray(node(operation, path).tags) && (node(operation, path).tags as unknown[]).includes("rollouts"))
    .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation: node(operation, `${method} ${path}`) })),
);
const operation = (key: string): Node => {
  const found = rolloutOperations.find((one) => one.key === key)?.operation;
  if (found === undefined) throw new Error(`${key} is not documented`);
  return found;
};

/** The boxes run 1.4.0 (fakeFleetView.ts): a release of 1.5.0 goes to them, one of 1.4.0 skips them all. */
const RELEASE = signedManifestText({ version: "1.5.0" });
const SAME_RELEASE = signedManifestText({ version: "1.4.0" });

async function serve(options: Partial<FleetServerOptions> = { actWithoutRoster: true }, started = true): Promise<FleetServer> {
  const view = new FakeFleetView([boxRow("box-a"), boxRow("box-b"), boxRow("box-c")]);
  const { api } = await rolloutsOver(new FakeBoxLink(), view, cleanup, started);
  const server = await FleetServer.start({ view, port: 0, rollouts: api, ...options });
  cleanup(() => server.stop());
  return server;
}

function send(server: FleetServer, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: server.port, path, method: options.method ?? "GET", headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, type: response.headers["content-type"] ?? "", headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    // A server that answers before reading the whole body may close the connection under us.
    request.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error)));
    request.end(options.body);
  });
}

/** The request body as the document describes it (checked against its schema before it is sent). */
function documentedBody(key: string, body: unknown): string {
  const schema = node(node(node(operation(key).requestBody, `${key} requestBody`).content, "content")["application/json"], "application/json").schema;
  expect(schemaErrors(document, schema, body), `${key}'s request body`).toEqual([]);
  return JSON.stringify(body);
}

describe("docs/fleet-api.openapi.json: staged rollouts' routes", () => {
  it("documents every answer of the rollouts' routes, refusals included, and gives no status they cannot give", async () => {
    const seen = new Map<string, Set<number>>();
    const check = (key: string, reply: Reply, what: string, status: number) => {
      expect(reply.status, `${what}: ${reply.body.slice(0, 200)}`).toBe(status);
      expectDocumented(operation(key), reply, what);
      seen.set(key, (seen.get(key) ?? new Set()).add(reply.status));
    };
    const server = await serve();
    const json = { "content-type": "application/json" };
    // As the rollouts page sends a POST: JSON, from its own origin.
    const page = { ...json, origin: `http://127.0.0.1:${server.port}`, "sec-fetch-site": "same-origin" };
    const create = (body: unknown, headers: Record<string, string> = json, path = "/api/rollouts") => send(server, path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
    const long = `?pad=${"x".repeat(1100)}`;
    const request = { selection: { deviceIds: ["box-a", "box-b"] }, release: RELEASE, canary: 1, batchSize: 1, failureThreshold: "50%", boxDeadlineSec: 600 };

    // The list, as the page polls it.
    check(LIST, await send(server, "/api/rollouts"), "the list, empty", 200);
    check(LIST, await send(server, "/api/rollouts?limit=1"), "the list, a parameter", 400);
    check(LIST, await send(server, "/api/rollouts", { headers: { "sec-fetch-site": "cross-site" } }), "the list, cross-site", 403);
    const head = await send(server, "/api/rollouts", { method: "HEAD" });
    expect(head.status).toBe(405); // no body to check: the PUT below gives the same answer with one
    expect(head.headers?.allow).toBe("GET, POST");
    check(LIST, await send(server, "/api/rollouts", { method: "PUT" }), "the list, PUT", 405);
    check(LIST, await send(server, `/api/rollouts${long}`), "the list, a long address", 414);
    check(LIST, await send(server, "/api/rollouts", { headers: { host: "evil.example" } }), "the list, another Host", 421);

    // Creating: a dry run first, as the CLI (no Origin, no Fetch Metadata) and the page send it.
    check(CREATE, await create(documentedBody(CREATE, { ...request, dryRun: true })), "a dry run from the CLI", 200);
    check(CREATE, await create(documentedBody(CREATE, { ...request, dryRun: true }), page), "a dry run from the page", 200);
    const created = await create(documentedBody(CREATE, request), page);
    check(CREATE, created, "a rollout", 201);
    const id = (JSON.parse(created.body) as { rollout: { id: string } }).rollout.id;
    check(CREATE, await create(request), "the same boxes again", 409);
    check(CREATE, await create("{not json"), "a body that is not JSON", 400);
    check(CREATE, await create({ ...request, extra: 1 }), "a key the request does not take", 400);
    check(CREATE, await create({ selection: { deviceIds: ["box-zz"] }, release: RELEASE }), "a box that is not there", 400);
    const nothing = await create({ selection: { deviceIds: ["box-c"] }, release: SAME_RELEASE });
    check(CREATE, nothing, "every box skipped", 400);
    expect(JSON.parse(nothing.body)).toMatchObject({ skipped: [{ deviceId: "box-c", reason: "already runs 1.4.0" }] });
    check(CREATE, await create(request, json, "/api/rollouts?dry=1"), "a parameter", 400);
    check(CREATE, await create(request, { ...page, "sec-fetch-site": "cross-site" }), "a cross-site page", 403);
    check(CREATE, await create(request, { ...page, "sec-fetch-site": "same-site" }), "a same-site page", 403);
    check(CREATE, await create(request, { ...page, origin: "http://evil.example" }), "another Origin", 403);
    check(CREATE, await create(request, { "content-type": "text/plain" }), "a form's content type", 415);
    check(CREATE, await create({ ...request, release: "x".repeat(600_000) }), "a body over 540,672 bytes", 413);
    check(CREATE, await create(request, json, `/api/rollouts${long}`), "a long address", 414);
    check(CREATE, await create(request, { ...json, host: "evil.example" }), "another Host", 421);

    // Its report.
    check(REPORT, await send(server, `/api/rollouts/${id}`), "the report", 200);
    check(REPORT, await send(server, `/api/rollouts/${id}?full=1`), "the report, a parameter", 400);
    check(REPORT, await send(server, `/api/rollouts/${id}`, { headers: { "sec-fetch-site": "cross-site" } }), "the report, cross-site", 403);
    check(REPORT, await send(server, "/api/rollouts/2026-01-01-00000000"), "a rollout that is not there", 404);
    check(REPORT, await send(server, "/api/rollouts/Not_An_Id"), "an id not of the shape", 404);
    check(REPORT, await send(server, `/api/rollouts/${id}`, { method: "POST", headers: page, body: "{}" }), "a POST of the report", 405);
    check(REPORT, await send(server, `/api/rollouts/${id}${long}`), "the report, a long address", 414);
    check(REPORT, await send(server, `/api/rollouts/${id}`, { headers: { host: "evil.example" } }), "the report, another Host", 421);

    // Pause, resume, abort, as the page's buttons send them (an empty JSON object) and the CLI's (no body).
    const control = (word: string, headers: Record<string, string> = page, body: string | undefined = documentedBody(CONTROL, {}), target = id) =>
      send(server, `/api/rollouts/${target}/${word}`, { method: "POST", headers, ...(body !== undefined && { body }) });
    check(CONTROL, await control("pause"), "pause", 200);
    check(CONTROL, await control("pause"), "pause a paused one", 409);
    check(CONTROL, await control("resume", json, undefined), "resume from the CLI", 200);
    check(CONTROL, await control("resume"), "resume a running one", 409);
    check(CONTROL, await control("pause", page, "{not json"), "a body that is not JSON", 400);
    check(CONTROL, await send(server, `/api/rollouts/${id}/pause?now=1`, { method: "POST", headers: page, body: "{}" }), "a parameter", 400);
    check(CONTROL, await control("pause", { ...page, "sec-fetch-site": "cross-site" }), "a cross-site page", 403);
    check(CONTROL, await control("pause", { ...page, origin: "http://evil.example" }), "another Origin", 403);
    check(CONTROL, await control("restart"), "a word it does not take", 404);
    check(CONTROL, await control("pause", page, "{}", "2026-01-01-00000000"), "a rollout that is not there", 404);
    check(CONTROL, await send(server, `/api/rollouts/${id}/pause`), "a GET of pause", 405);
    check(CONTROL, await control("pause", { "content-type": "text/plain" }), "a form's content type", 415);
    check(CONTROL, await control("pause", page, JSON.stringify({ pad: "x".repeat(600_000) })), "a body over 540,672 bytes", 413);
    check(CONTROL, await send(server, `/api/rollouts/${id}/pause${long}`, { method: "POST", headers: page, body: "{}" }), "a long address", 414);
    check(CONTROL, await control("pause", { ...page, host: "evil.example" }), "another Host", 421);
    check(CONTROL, await control("abort"), "abort", 200);
    check(CONTROL, await control("abort"), "abort an ended one", 409);
    check(REPORT, await send(server, `/api/rollouts/${id}`), "the report once aborted", 200);
    check(LIST, await send(server, "/api/rollouts"), "the list with one", 200);

    // Nobody named (no roster, no --act-without-roster): watching only, and the list says so.
    const nobody = await serve({});
    const watched = await send(nobody, "/api/rollouts");
    check(LIST, watched, "the list, nobody named", 200);
    expect(JSON.parse(watched.body)).toEqual({ rollouts: [], mayControl: false });
    check(CREATE, await send(nobody, "/api/rollouts", { method: "POST", headers: json, body: JSON.stringify(request) }), "nobody named", 403);
    check(CONTROL, await send(nobody, `/api/rollouts/${id}/pause`, { method: "POST", headers: json, body: "{}" }), "nobody named", 403);
    // A service that does not follow the boxes yet (no broker since it started).
    const waiting = await serve({ actWithoutRoster: true }, false);
    check(CREATE, await send(waiting, "/api/rollouts", { method: "POST", headers: json, body: JSON.stringify(request) }), "no broker yet", 503);

    for (const { key, operation: documented } of rolloutOperations) {
      const statuses = Object.keys(node(documented.responses, key)).filter((status) => status !== "500");
      expect([...(seen.get(key) ?? [])].map(String).sort(), key).toEqual(statuses.sort());
    }
    expect(rolloutOperations.map((one) => one.key).sort()).toEqual([CONTROL, CREATE, LIST, REPORT].sort());
  });

  it("names the roles that may call them as the roster gives them (roles.ts: whoever may write a box's desired state)", () => {
    const mayRollOut = ROLES.filter((role) => ROLE_GRANTS[role].readwrite.includes("update/desired") && ROLE_GRANTS[role].readwrite.includes("config/desired"));
    for (const { key, operation: documented } of rolloutOperations) expect(documented["x-thea-roles"], key).toEqual(mayRollOut);
  });
});
