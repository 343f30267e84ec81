/**
 * The box page's side of the API: what a person may do to one box, the actions themselves through
 * the box's own commands (boxActions.ts, over a BoxLink), and the config editor's reads and
 * writes (boxConfig.ts). server.ts hands these routes over once it has checked the request's
 * host and found out who asks (the Actor):
 *
 *   GET  /api/boxes/{id}/actions          what this person may do here
 *   POST /api/boxes/{id}/actions/{name}   one action: `{"requestId", "params"}`
 *   GET  /api/boxes/{id}/config           the box's config/desired and config/reported (technicians)
 *   POST /api/boxes/{id}/config           a new config/desired: `{"requestId", "desired"}` (technicians)
 *   GET  /api/config-schema               the agent's configuration JSON Schema, for the editor's hints
 *
 * Every POST is a remote entry point: its headers must be the service's own page's (serverPost.ts),
 * the box must be one the person sees (404 as for reading otherwise), their role must allow it
 * (access.ts: operators watch, technicians change; 403), requests are bounded and repeats answered
 * once (actionLedger.ts), and every action is logged and recorded in the box's history.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../lib/log.ts";
import { messageOf } from "../../lib/messageOf.ts";
import { configJsonSchema } from "../../config/schema.ts";
import type { Role } from "../roster/roles.ts";
import { mayCommand, mayConfigure } from "./access.ts";
import { ActionLedger, type ActionLedgerOptions } from "./actionLedger.ts";
import { actionRequestOf, BOX_ACTION_NAMES, BOX_ACTIONS } from "./boxActions.ts";
import { checkDesiredConfig } from "./boxConfig.ts";
import { collectDiagnostics } from "./boxDiagnostics.ts";
import type { BoxHistoryEntry, FleetView } from "./model.ts";
import { MAX_ACTION_BODY_BYTES, MAX_CONFIG_BODY_BYTES, postRefusal, readJsonBody } from "./serverPost.ts";
import { deviceIdOf, noParams } from "./serverQuery.ts";
import type { BoxAnswer, BoxLink, BoxReport } from "./types/boxLink.ts";

/** Who asks: a person of the roster, or, with `actWithoutRoster`, anyone (`cn` null). */
export interface Actor {
  /** The key their requests and bounds are kept under (their CN). */
  person: string;
  cn: string | null;
  role: Role;
}

/** Where actions are recorded (fleet.ts's history, beside the box's events). */
export interface ActionJournal {
  record(entry: BoxHistoryEntry): void;
}

export interface FleetActionsOptions {
  /** Without it every action answers 503: the service has no way to the boxes. */
  link?: BoxLink | undefined;
  journal?: ActionJournal | undefined;
  /** Whether an `Origin` header names this server (server.ts knows its names). */
  originAllowed: (origin: string) => boolean;
  ledger?: ActionLedgerOptions;
  log?: Logger | undefined;
}

type Answer = { status: number; body: unknown } | { status: 200; file: Buffer; filename: string; sha256: string };

const PATH = /^\/api\/boxes\/([^/]+)\/(actions|config)(?:\/([^/]+))?$/;
export const NOBODY = "without a roster nobody is named, so nobody may act (start the service with --roster, or --act-without-roster on loopback)";

export class FleetActions {
  readonly #options: FleetActionsOptions;
  readonly #ledger: ActionLedger<Answer>;

  constructor(options: FleetActionsOptions) {
    this.#options = options;
    this.#ledger = new ActionLedger(options.ledger);
  }

  /** Whether `pathname` is one of these routes (server.ts then passes the request here). */
  static claims(pathname: string): boolean {
    return pathname === "/api/config-schema" || PATH.test(pathname);
  }

  /** Whether a POST is taken at `pathname` at all (405 elsewhere). */
  static takesPost(pathname: string): boolean {
    const match = PATH.exec(pathname);
    return match !== null && (match[2] === "config" ? match[3] === undefined : match[3] !== undefined);
  }

  async serve(request: IncomingMessage, response: ServerResponse, url: URL, view: Pick<FleetView, "box">, actor: Actor | undefined): Promise<void> {
    const answer = await this.#answer(request, url, view, actor).catch((error: unknown): Answer => {
      this.#options.log?.error({ err: messageOf(error) }, "an action failed inside the service");
      return { status: 500, body: { error: "the fleet service failed; its log says why" } };
    });
    if ("file" in answer) {
      response.writeHead(200, {
        "content-type": "application/gzip",
        "content-disposition": `attachment; filename="${answer.filename}"`,
        "content-length": answer.file.length,
        "x-thea-sha256": answer.sha256,
        "cache-control": "no-store",
      });
      return void response.end(answer.file);
    }
    // A refused body is left unread: the connection goes with the answer.
    if (answer.status === 413) response.setHeader("connection", "close");
    // Server.ts refuses other methods where no POST is taken: a 405 here is a GET of an action.
    if (answer.status === 405) response.setHeader("allow", "POST");
    response.writeHead(answer.status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    response.end(request.method === "HEAD" ? undefined : JSON.stringify(answer.body));
  }

  async #answer(request: IncomingMessage, url: URL, view: Pick<FleetView, "box">, actor: Actor | undefined): Promise<Answer> {
    const get = request.method === "GET" || request.method === "HEAD";
    const params = noParams(url.searchParams);
    if (url.pathname === "/api/config-schema") return !get ? methodNotAllowed() : params.ok ? { status: 200, body: configJsonSchema() } : { status: 400, body: { error: params.error } };
    const [, segment = "", route, name] = PATH.exec(url.pathname) ?? [];
    // config has no sub-paths: /config/anything is no route (it answered the config before).
    if (route === "config" && name !== undefined) return { status: 404, body: { error: `no such path: ${url.pathname.slice(0, 64)}` } };
    const id = deviceIdOf(segment);
    if (!id.ok) return { status: 400, body: { error: id.error } };
    if (!params.ok) return { status: 400, body: { error: params.error } };
    const post = request.method === "POST";
    if (post) {
      const refused = postRefusal(request, route === "config" ? MAX_CONFIG_BODY_BYTES : MAX_ACTION_BODY_BYTES, this.#options.originAllowed);
      if (refused) {
        this.#options.log?.warn({ cn: actor?.cn, deviceId: id.value, status: refused.status, origin: request.headers.origin?.slice(0, 64) }, "refused a POST");
        return { status: refused.status, body: { error: refused.error } };
      }
    }
    // Another site's box answers as a missing one, before anything says what the person may do.
    if (!view.box(id.value)) return { status: 404, body: { error: `no box ${id.value}` } };
    if (route === "actions" && name === undefined) return get ? { status: 200, body: allowedOf(actor) } : methodNotAllowed();
    if (route === "config" && get) return this.#config(id.value, actor);
    if (!post) return methodNotAllowed();
    if (actor === undefined) return { status: 403, body: { error: NOBODY } };
    const body = await readJsonBody(request, route === "config" ? MAX_CONFIG_BODY_BYTES : MAX_ACTION_BODY_BYTES);
    if (!body.ok) return { status: body.status, body: { error: body.error } };
    return route === "config" ? this.#setConfig(id.value, body.value, actor) : this.#act(id.value, name ?? "", body.value, actor);
  }

  async #act(deviceId: string, name: string, body: unknown, actor: Actor): Promise<Answer> {
    const checked = actionRequestOf(name, body);
    if (!checked.ok) return { status: checked.error.startsWith("no action") ? 404 : 400, body: { error: checked.error } };
    const action = checked.value;
    if (!mayCommand(actor.role, action.name)) return this.#forbidden(deviceId, action.name, actor);
    const link = this.#options.link;
    if (!link) return { status: 503, body: { error: "the fleet service has no link to the boxes" } };
    return this.#once(actor, action.requestId, `${deviceId} ${action.name} ${JSON.stringify(action.params)}`, async (requestId) => {
      if (action.name === "diagnostics.collect") {
        const bundle = await collectDiagnostics({ link, deviceId, requestId });
        this.#audit(deviceId, action.name, actor, bundle.ok ? "ok" : bundle.answer.ok ? "ok" : bundle.answer.error.code);
        if (!bundle.ok) return answerOf(bundle.answer);
        const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "Z");
        return { status: 200, file: bundle.gzipped, filename: `diagnostics-${deviceId}-${stamp}.json.gz`, sha256: bundle.sha256 };
      }
      const answer = await link.command({ deviceId, name: action.name, params: action.params, requestId });
      this.#audit(deviceId, action.name, actor, answer.ok ? "ok" : answer.error.code);
      return answerOf(answer);
    });
  }

  async #config(deviceId: string, actor: Actor | undefined): Promise<Answer> {
    if (actor === undefined || !mayConfigure(actor.role)) return { status: 403, body: { error: actor ? `${aRole(actor.role)} may not see or change a box's configuration` : NOBODY } };
    const link = this.#options.link;
    if (!link) return { status: 503, body: { error: "the fleet service has no link to the boxes" } };
    let desired: string | undefined;
    let reported: BoxReport | undefined;
    try {
      [desired, reported] = await Promise.all([link.desired(deviceId, "config"), link.reported(deviceId, "config")]);
    } catch (error) {
      // The link is down, or too many reads are in flight: said, not a 500.
      return { status: 503, body: { error: `the box's configuration cannot be read now: ${messageOf(error)}` } };
    }
    return { status: 200, body: { deviceId, desired: desiredOf(desired), reported: reported?.kind === "config" ? reported.payload : null } };
  }

  async #setConfig(deviceId: string, body: unknown, actor: Actor): Promise<Answer> {
    if (!mayConfigure(actor.role)) return this.#forbidden(deviceId, "config.desired", actor);
    const link = this.#options.link;
    if (!link) return { status: 503, body: { error: "the fleet service has no link to the boxes" } };
    const value = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
    const requestId = typeof value.requestId === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(value.requestId) ? value.requestId : undefined;
    if (requestId === undefined || Object.keys(value).some((key) => key !== "requestId" && key !== "desired")) {
      return { status: 400, body: { error: 'the body is {"requestId": 8 to 64 letters, digits, - or _, "desired": {"version", "config" or "patch"}}' } };
    }
    return this.#once(actor, requestId, `${deviceId} config ${JSON.stringify(value.desired)}`, async () => {
      let reported: BoxReport | undefined;
      try {
        reported = await link.reported(deviceId, "config");
      } catch (error) {
        return { status: 503, body: { error: `the box's config/reported cannot be read now, so the change cannot be checked: ${messageOf(error)}` } };
      }
      const checked = checkDesiredConfig(value.desired, reported?.kind === "config" ? reported.payload : undefined);
      if (!checked.ok) {
        const version = (value.desired as { version?: unknown } | null | undefined)?.version;
        this.#audit(deviceId, "config.desired", actor, "refused", Number.isSafeInteger(version) ? { version } : {});
        return { status: 422, body: { error: `the change is refused: ${checked.errors.length} problem(s)`, errors: checked.errors } };
      }
      try {
        await link.setDesired(deviceId, "config", checked.payload);
      } catch (error) {
        this.#audit(deviceId, "config.desired", actor, "link-down");
        return { status: 503, body: { error: `not published: ${messageOf(error)}` } };
      }
      this.#audit(deviceId, "config.desired", actor, "published", { version: checked.version });
      return { status: 200, body: { published: { version: checked.version } } };
    });
  }

  /** Runs `run` once per person and request id; a repeat gets the same answer. */
  async #once(actor: Actor, requestId: string, what: string, run: (commandId: string) => Promise<Answer>): Promise<Answer> {
    const entry = this.#ledger.begin(actor.person, requestId, what);
    switch (entry.kind) {
      case "repeat":
        return entry.answer;
      case "conflict":
        return { status: 409, body: { error: "this request id was used for another action; send a new one" } };
      case "person-busy":
        return { status: 429, body: { error: "too many of your actions are running; wait for their answers" } };
      case "busy":
        return { status: 503, body: { error: "too many actions are running; try again shortly" } };
    }
    let answer: Answer = { status: 500, body: { error: "the fleet service failed; its log says why" } };
    try {
      answer = await run(entry.commandId);
    } finally {
      // Kept for a repeat unless it is a file or a long log view (their repeats run again: they
      // change nothing), or a failure on the way (link down, no answer, busy): its retry goes to
      // the box again under the same id, and the box answers it from its own cache if it ran it.
      entry.settle(answer, answer.status < 500 && !("file" in answer) && JSON.stringify(answer.body).length <= 16 * 1024);
    }
    return answer;
  }

  #forbidden(deviceId: string, command: string, actor: Actor): Answer {
    this.#options.log?.warn({ cn: actor.cn, role: actor.role, deviceId, command }, "refused an action the role does not allow");
    return { status: 403, body: { error: `${aRole(actor.role)} may not ${command === "config.desired" ? "change a box's configuration" : `send ${command}`}` } };
  }

  #audit(deviceId: string, command: string, actor: Actor, code: string, extra: Record<string, unknown> = {}): void {
    this.#options.log?.info({ cn: actor.cn, role: actor.role, deviceId, command, code, ...extra }, "action");
    // Looking is not acting: the box page asks peripherals.list each time it opens, and a history
    // of 2,000 entries per box would fill with page views. Logged, not kept in the box's history.
    if (WATCHING.has(command)) return;
    this.#options.journal?.record({ deviceId, at: new Date().toISOString(), kind: "action", detail: { cn: actor.cn, role: actor.role, command, code, ...extra } });
  }
}

/** The commands that only read the box (an operator's), logged but not recorded in its history. */
const WATCHING = new Set(["ping", "health.now", "peripherals.list"]);

function aRole(role: Role): string {
  return `${role === "operator" ? "an" : "a"} ${role}`;
}

/** What the page may offer this person on a box they see. */
function allowedOf(actor: Actor | undefined): unknown {
  if (actor === undefined) return { role: null, actions: [], configure: false, why: NOBODY };
  const actions = BOX_ACTION_NAMES.filter((name) => mayCommand(actor.role, name)).map((name) => ({ name, confirm: BOX_ACTIONS[name].confirm }));
  return { role: actor.role, actions, configure: mayConfigure(actor.role) };
}

function desiredOf(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch {
    return { text, value: null };
  }
}

/** The box's answer as HTTP: 200 with its result, or the status its error code means. */
function answerOf(answer: BoxAnswer): Answer {
  if (answer.ok) return { status: 200, body: { ok: true, result: answer.result } };
  const status = Object.hasOwn(STATUS_OF_CODE, answer.error.code) ? STATUS_OF_CODE[answer.error.code] : undefined;
  return { status: status ?? 502, body: { ok: false, error: answer.error.message, code: answer.error.code } };
}

/** docs/mqtt-api.md's error codes, and the link's own (types/boxLink.ts). */
const STATUS_OF_CODE: Record<string, number> = {
  "invalid-params": 400,
  "consultation-live": 409,
  "repeated-request": 409,
  "rate-limited": 429,
  busy: 503,
  "link-down": 503,
  "link-busy": 503,
  "no-answer": 504,
  timeout: 504,
};

function methodNotAllowed(): Answer {
  return { status: 405, body: { error: "not a method of this address" } };
}
