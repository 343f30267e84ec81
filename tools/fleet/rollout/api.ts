/**
 * The rollouts' HTTP API under /api/rollouts, for technicians only (server.ts hands these
 * requests here, with the person their certificate names):
 *
 *   GET  /api/rollouts                        the rollouts of the asker's boxes, newest first, with totals
 *   POST /api/rollouts                        create one (JSON body, request.ts); `"dryRun": true` answers the plan only
 *   GET  /api/rollouts/{id}                   its report: per box its state and why, totals
 *   POST /api/rollouts/{id}/pause|resume|abort
 *
 * A person may roll out what the roster lets them write (`update/desired`, `config/desired` in
 * tools/roster/roles.ts: technicians), to the boxes of their sites only; a rollout that touches a
 * box outside them is as absent as one that does not exist. A POST is a change made with the
 * person's certificate, so it must come from the page's own origin or from no browser at all
 * (the CLI): JSON only (a form cannot send it without a CORS preflight, which nothing here
 * answers), same-origin by Fetch Metadata and Origin, and a bounded body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../../lib/log.ts";
import { messageOf } from "../../../lib/messageOf.ts";
import { ROLE_GRANTS } from "../../roster/roles.ts";
import type { ReportKind } from "../types/boxLink.ts";
import type { RolloutAudience as Audience, RolloutView as ScopedView } from "./ports.ts";
import type { Control, RolloutProgressLine } from "./engine.ts";
import type { RolloutPlan, RolloutRecord, RolloutReport, RolloutSpec } from "./model.ts";
import { MAX_PAYLOAD_BYTES, planRollout } from "./plan.ts";
import { rolloutRequestOf } from "./request.ts";

/** A manifest or a layer at the boxes' own cap, escaped into a JSON string, with room for the rest. */
export const MAX_BODY_BYTES = 2 * MAX_PAYLOAD_BYTES + 16 * 1024;
/** A list answer stops at the newest this many. */
export const MAX_LISTED_ROLLOUTS = 100;
/** Rollouts running, paused or still settling at once: each holds its boxes, so this is plenty. */
export const MAX_LIVE_ROLLOUTS = 32;
const ID = /^[0-9a-z-]{1,40}$/;

/** Who asks: the view they may see (narrowed by the roster), and their roster entry if there is a roster. */
export interface RolloutAsker {
  view: ScopedView;
  audience?: Audience | undefined;
  /** False when the service names nobody who may change boxes (no roster, no --act-without-roster): every POST is refused before it gets here. */
  acts?: boolean;
}

/**
 * What the API asks of whoever carries rollouts out: the RolloutEngine itself, or, with two
 * instances, shared.ts (the engine where this instance drives, the store where the other does).
 */
export interface RolloutDesk {
  readonly started: boolean;
  /** Rollouts running, paused or still settling. */
  readonly live: number | Promise<number>;
  busyBoxes(kind: ReportKind): Set<string> | Promise<Set<string>>;
  create(spec: RolloutSpec, plan: RolloutPlan, createdBy: string | null): Promise<RolloutRecord | { error: string; status: number }>;
  control(id: string, action: Control, by: string | null): Promise<RolloutRecord | { error: string; status: number }>;
  report(id: string): Promise<RolloutReport | undefined>;
  list(limit: number): Promise<RolloutReport[]>;
  /** Live and lately ended rollouts' progress, from memory, for /metrics (none where this instance does not drive). */
  progress(): RolloutProgressLine[];
}

export interface RolloutApiOptions {
  engine: RolloutDesk;
  log?: Logger;
  now?: () => number;
}

type Answer = { status: number; body: unknown };

export function isRolloutPath(url: string | undefined): boolean {
  const path = (url ?? "").split("?")[0] ?? "";
  return path === "/api/rollouts" || path.startsWith("/api/rollouts/");
}

export class RolloutApi {
  readonly #options: RolloutApiOptions;

  constructor(options: RolloutApiOptions) {
    this.#options = options;
  }

  /** Answers one request to /api/rollouts…; `asker` undefined is a certificate the roster does not name. */
  async serve(request: IncomingMessage, response: ServerResponse, asker: RolloutAsker | undefined): Promise<void> {
    let answer: Answer;
    try {
      answer = await this.#answer(request, asker);
    } catch (error) {
      this.#options.log?.error({ err: messageOf(error), url: request.url?.slice(0, 128) }, "a rollout request failed");
      answer = { status: 500, body: { error: "the rollout request failed; see the service's log" } };
    }
    if (answer.status === 405) response.setHeader("allow", "GET, POST");
    // A body refused unread is not waited for: the connection ends with the answer.
    const unread = !request.complete;
    if (unread) response.setHeader("connection", "close");
    response.writeHead(answer.status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    response.end(JSON.stringify(answer.body), () => {
      if (unread) request.socket.destroy();
    });
  }

  async #answer(request: IncomingMessage, asker: RolloutAsker | undefined): Promise<Answer> {
    if (!asker) return { status: 403, body: { error: "this certificate is not on the fleet service's roster" } };
    const refused = refusal(request, asker.audience);
    if (refused) {
      this.#options.log?.warn({ method: request.method, cn: asker.audience?.cn, status: refused.status }, "refused a rollout request");
      return refused;
    }
    const url = new URL(request.url ?? "/", "http://fleet.invalid");
    if ([...url.searchParams.keys()].length > 0) return { status: 400, body: { error: "no parameters here" } };
    const [, , , id, action, ...rest] = url.pathname.split("/");
    if (rest.length > 0 || (id !== undefined && !ID.test(id))) return { status: 404, body: { error: "no such rollout path" } };
    const by = asker.audience?.cn ?? null;
    if (id === undefined) {
      // What the asker may do, so that the page shows pause, resume and abort only to those who may.
      if (request.method === "GET") return { status: 200, body: { rollouts: await this.#list(asker), mayControl: asker.acts !== false } };
      const body = await readJson(request);
      return "status" in body ? body : this.#create(body.value, asker, by);
    }
    const report = await this.#options.engine.report(id);
    // Another site's rollout answers as a missing one: nothing says it exists.
    if (!report || !seesAll(asker.view, report)) return { status: 404, body: { error: `no rollout ${id}` } };
    if (action === undefined) return request.method === "GET" ? { status: 200, body: report } : { status: 405, body: { error: "GET the report; POST to …/pause, …/resume or …/abort" } };
    if (action !== "pause" && action !== "resume" && action !== "abort") return { status: 404, body: { error: "no such rollout path" } };
    if (request.method !== "POST") return { status: 405, body: { error: `POST to ${action}` } };
    if (!maySet(asker.audience, report.rollout.kind)) return { status: 403, body: { error: `rolling out ${report.rollout.kind === "update" ? "releases" : "configuration"} is for technicians` } };
    const body = await readJson(request);
    if ("status" in body) return body;
    const controlled = await this.#options.engine.control(id, action satisfies Control, by);
    return "error" in controlled ? { status: controlled.status, body: { error: controlled.error } } : { status: 200, body: controlled };
  }

  async #list(asker: RolloutAsker): Promise<unknown[]> {
    const reports = await this.#options.engine.list(MAX_LISTED_ROLLOUTS);
    return reports.filter((report) => seesAll(asker.view, report)).map(({ rollout, totals }) => ({ ...rollout, payload: undefined, totals }));
  }

  async #create(body: unknown, asker: RolloutAsker, by: string | null): Promise<Answer> {
    const request = rolloutRequestOf(body);
    if (!request.ok) return { status: 400, body: { error: request.error } };
    const kind: ReportKind = request.spec.change.kind === "release" ? "update" : "config";
    if (!maySet(asker.audience, kind)) return { status: 403, body: { error: `rolling out ${kind === "update" ? "releases" : "configuration"} is for technicians` } };
    const planned = planRollout(request.spec, asker.view.list({}), (this.#options.now ?? Date.now)());
    if (!planned.ok) return { status: 400, body: { error: planned.error } };
    if (request.dryRun) return { status: 200, body: { dryRun: true, plan: planned.plan } };
    if (planned.plan.boxes.length === 0) return { status: 400, body: { error: "every selected box is skipped: nothing to roll out", skipped: planned.plan.skipped } };
    const busy = await this.#options.engine.busyBoxes(kind);
    const taken = planned.plan.boxes.filter((box) => busy.has(box.deviceId)).map((box) => box.deviceId);
    if (taken.length > 0) return { status: 409, body: { error: `${taken.length} of these boxes are in another rollout that is not over (${taken.slice(0, 5).join(", ")}${taken.length > 5 ? ", …" : ""})` } };
    if (!this.#options.engine.started) return { status: 503, body: { error: "the fleet service is not following the boxes yet (no broker connection); try again" } };
    if ((await this.#options.engine.live) >= MAX_LIVE_ROLLOUTS) return { status: 503, body: { error: `${MAX_LIVE_ROLLOUTS} rollouts are under way; wait for one to end` } };
    const created = await this.#options.engine.create(request.spec, planned.plan, by);
    if ("error" in created) return { status: created.status, body: { error: created.error } };
    return { status: 201, body: await this.#options.engine.report(created.id) };
  }
}

/** What is wrong with a rollout request before its path is read, if anything. */
function refusal(request: IncomingMessage, audience: Audience | undefined): Answer | undefined {
  if (request.method !== "GET" && request.method !== "POST") return { status: 405, body: { error: "GET or POST only" } };
  if ((request.url ?? "").length > 1024) return { status: 414, body: { error: "the address is longer than 1024 characters" } };
  if (audience && !maySet(audience, "update") && !maySet(audience, "config")) return { status: 403, body: { error: "rollouts are for technicians" } };
  const site = request.headers["sec-fetch-site"];
  if (site === "cross-site") return { status: 403, body: { error: "cross-site requests to the API are refused" } };
  if (request.method !== "POST") return undefined;
  // A browser marks every request with Sec-Fetch-Site; the CLI sends none. A change only from
  // the page's own origin: not from a sibling subdomain ("same-site") either.
  if (site !== undefined && site !== "same-origin") return { status: 403, body: { error: "changes are accepted from the fleet page's own origin only" } };
  const origin = request.headers.origin;
  if (origin !== undefined && hostOfOrigin(origin) !== request.headers.host?.toLowerCase()) return { status: 403, body: { error: "changes are accepted from the fleet page's own origin only" } };
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return { status: 415, body: { error: "send JSON (content-type: application/json)" } };
  const length = Number(request.headers["content-length"] ?? "0");
  if (length > MAX_BODY_BYTES) return { status: 413, body: { error: `the body is over ${MAX_BODY_BYTES} bytes` } };
  return undefined;
}

function hostOfOrigin(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

function maySet(audience: Audience | undefined, kind: ReportKind): boolean {
  // Without a roster the service trusts whoever reaches it (loopback, or any certificate of the CA).
  return audience === undefined || ROLE_GRANTS[audience.role].readwrite.includes(`${kind}/desired`);
}

function seesAll(view: ScopedView, report: RolloutReport): boolean {
  return report.boxes.every((box) => view.sees(box.deviceId)) && report.rollout.skipped.every((box) => view.sees(box.deviceId));
}

/** The body as JSON, at most MAX_BODY_BYTES (counted as it comes, whatever Content-Length said). */
async function readJson(request: IncomingMessage): Promise<{ value: unknown } | Answer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      request.socket.destroy();
      return { status: 413, body: { error: `the body is over ${MAX_BODY_BYTES} bytes` } };
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return { value: {} };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { status: 400, body: { error: "the body is not JSON" } };
  }
}
