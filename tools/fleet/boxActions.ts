/**
 * What a person may ask of one box through the fleet service: an allow-list of the box's own
 * commands (docs/mqtt-api.md), each with its parameters checked here before anything is sent, and
 * the body of an action request (`{"requestId", "params"}`) checked. Pure: a name and a parsed body
 * in, a command to send or the words of a 400 out. No other command name passes: the service acts
 * with its own rights on the broker, so it must not become a way to send a box anything at all.
 */
import { z } from "zod";
import type { Checked } from "./serverQuery.ts";

/**
 * The actions, and whether they only read the box (an operator's page shows them; whether a role
 * may send them is the roster's call, access.ts mayCommand). `confirm`: the page asks the person
 * before sending it.
 */
export const BOX_ACTIONS = {
  ping: { params: z.strictObject({}), confirm: false },
  "health.now": { params: z.strictObject({}), confirm: false },
  "peripherals.list": { params: z.strictObject({}), confirm: false },
  "peripherals.rescan": { params: z.strictObject({}), confirm: false },
  "logs.tail": {
    // The box's own bounds (docs/mqtt-api.md, logs.tail): 1–1000 lines, a pino level.
    params: z.strictObject({
      lines: z.int().min(1).max(1000).optional(),
      level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).optional(),
    }),
    confirm: false,
  },
  // Parts are fetched by the service itself (boxDiagnostics.ts), never named by the page.
  "diagnostics.collect": { params: z.strictObject({}), confirm: false },
  "agent.restart": { params: z.strictObject({ force: z.boolean().optional() }), confirm: true },
  // Two steps: without a token the box answers one; the page sends it back, confirmed by the person.
  "system.reboot": {
    params: z.strictObject({ confirmToken: z.string().min(1).max(128).optional(), force: z.boolean().optional() }),
    confirm: true,
  },
} as const;

export type BoxActionName = keyof typeof BOX_ACTIONS;

export const BOX_ACTION_NAMES = Object.keys(BOX_ACTIONS) as BoxActionName[];

export function isBoxAction(name: string): name is BoxActionName {
  return Object.hasOwn(BOX_ACTIONS, name);
}

/**
 * The page's own id for one action, the same on a retry or a second click: letters, digits, `-`
 * and `_`, 8 to 64 of them (a UUID fits). Long enough that ids a page makes do not collide by chance.
 */
const REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

export interface ActionRequest {
  name: BoxActionName;
  requestId: string;
  params: Record<string, unknown>;
}

const body = z.strictObject({
  requestId: z.string().regex(REQUEST_ID, { error: "requestId: 8 to 64 letters, digits, - or _" }),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** `POST /api/boxes/{id}/actions/{name}`'s body, checked for the action `name`. */
export function actionRequestOf(name: string, value: unknown): Checked<ActionRequest> {
  if (!isBoxAction(name)) return { ok: false, error: `no action "${name.slice(0, 64)}"; known: ${BOX_ACTION_NAMES.join(", ")}` };
  const parsed = body.safeParse(value);
  if (!parsed.success) return { ok: false, error: issuesOf(parsed.error) };
  const params = BOX_ACTIONS[name].params.safeParse(parsed.data.params ?? {});
  if (!params.success) return { ok: false, error: issuesOf(params.error, "params.") };
  return { ok: true, value: { name, requestId: parsed.data.requestId, params: params.data } };
}

function issuesOf(error: z.ZodError, prefix = ""): string {
  return error.issues
    .slice(0, 5)
    .map((issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => `${prefix}${[...issue.path, key].join(".")}: unknown key`).join("; ")
        : `${issue.path.length > 0 ? `${prefix}${issue.path.join(".")}: ` : ""}${issue.message}`,
    )
    .join("; ");
}
