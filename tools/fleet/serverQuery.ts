/**
 * The fleet API's inputs, checked before anything reads the fleet: a query string, a box's id, a
 * history's span. Pure; each check answers a value or the words of a 400. Every string is bounded,
 * and an unknown or repeated parameter is refused rather than ignored, so a typo does not silently
 * show the whole fleet as if it were the filtered one.
 */
import { DEVICE_ID_PATTERN } from "../../config/schema.ts";
import type { FleetQuery } from "./model.ts";

/** Longer than any site label or search an operator types; the whole request line is capped apart. */
export const MAX_PARAM_LENGTH = 64;
/** The store keeps 30 days of transitions and events per box (issue 16). */
export const MAX_HISTORY_DAYS = 30;

const STATES = ["online", "offline", "attention", "updating"] as const;
const FILTERS = ["province", "district", "commune", "version", "state", "q"] as const;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const refuse = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** Each parameter at most once, of the names in `allowed`, none longer than MAX_PARAM_LENGTH. */
function singleParams(params: URLSearchParams, allowed: readonly string[]): Checked<Map<string, string>> {
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (!allowed.includes(name)) return refuse(`unknown parameter "${name.slice(0, MAX_PARAM_LENGTH)}"; known: ${allowed.join(", ") || "none"}`);
    if (values.has(name)) return refuse(`parameter "${name}" given more than once`);
    if (value.length > MAX_PARAM_LENGTH) return refuse(`parameter "${name}" is longer than ${MAX_PARAM_LENGTH} characters`);
    values.set(name, value);
  }
  return { ok: true, value: values };
}

/** `/api/boxes?province=&district=&commune=&version=&state=&q=`: empty values mean "any". */
export function fleetQueryOf(params: URLSearchParams): Checked<FleetQuery> {
  const checked = singleParams(params, FILTERS);
  if (!checked.ok) return checked;
  const query: FleetQuery = {};
  for (const [name, value] of checked.value) {
    if (value === "") continue;
    if (name === "state") {
      const state = STATES.find((known) => known === value);
      if (state === undefined) return refuse(`state must be one of ${STATES.join(", ")}`);
      query.state = state;
    } else if (name === "province" || name === "district" || name === "commune" || name === "version" || name === "q") {
      query[name] = value;
    }
  }
  return { ok: true, value: query };
}

/** `/api/boxes/{id}/history?days=N`: whole days, 1 to 30, 1 when omitted. */
export function historyDaysOf(params: URLSearchParams): Checked<number> {
  const checked = singleParams(params, ["days"]);
  if (!checked.ok) return checked;
  const text = checked.value.get("days") ?? "1";
  const days = /^\d{1,2}$/.test(text) ? Number(text) : Number.NaN;
  if (!(days >= 1 && days <= MAX_HISTORY_DAYS)) return refuse(`days must be a whole number from 1 to ${MAX_HISTORY_DAYS}`);
  return { ok: true, value: days };
}

/** A query-less endpoint refuses any parameter. */
export function noParams(params: URLSearchParams): Checked<null> {
  const checked = singleParams(params, []);
  return checked.ok ? { ok: true, value: null } : checked;
}

/** A box's id as the agent's configuration allows it (config/schema.ts), or the 400's words. */
export function deviceIdOf(segment: string): Checked<string> {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return refuse("the box id is not valid percent-encoding");
  }
  return DEVICE_ID_PATTERN.test(id) ? { ok: true, value: id } : refuse("a box id is 1 to 64 characters of a-z, 0-9 and -, starting with a letter or digit");
}
