/**
 * Who sees what of the fleet: the person a verified client certificate names (its subject CN, as
 * thea-pki issues it: ROLE.NAME) is looked up in the network's roster (tools/roster/), the same
 * file the broker's ACL is made from, and every answer is narrowed to the boxes of their sites.
 * A CN the roster does not name sees nothing at all. Pure: a roster in, lookups and narrowed
 * views out.
 *
 * This increment only shows the fleet, so operators and technicians see the same rows; the role
 * is kept for the actions to come (operators watch, technicians change). A backend sees what its
 * sites give it, as anyone else: the roster says which boxes, nothing here adds or takes away.
 */
import { ROLE_GRANTS, type Role } from "../roster/roles.ts";
import type { Person, Roster } from "../roster/roster.ts";
import { countsOf } from "./attention.ts";
import type { BoxHistoryEntry, BoxRow, FleetCounts, FleetQuery, FleetView } from "./model.ts";
import type { Audience } from "./types/audience.ts";

/** A roster, indexed by CN for one lookup per request. */
export interface RosterAccess {
  /** Undefined for a CN the roster does not name. */
  audienceOf(cn: string): Audience | undefined;
  readonly people: number;
}

export function accessFromRoster(roster: Roster): RosterAccess {
  const byCn = new Map<string, Audience>(roster.people.map((person) => [person.cn, audienceOfPerson(person)]));
  return {
    audienceOf: (cn) => byCn.get(cn),
    people: byCn.size,
  };
}

function audienceOfPerson(person: Person): Audience {
  return { cn: person.cn, role: person.role, boxes: person.boxes === "all" ? "all" : new Set(person.boxes) };
}

/**
 * The CN of a certificate's subject as Node's TLS gives it (`getPeerCertificate().subject`): one
 * string, or undefined when there is none, or more than one (Node gives an array then: which of
 * them the person "is" would be a guess, so none is taken).
 */
export function subjectCnOf(subject: unknown): string | undefined {
  if (subject === null || typeof subject !== "object" || !("CN" in subject)) return undefined;
  const cn = subject.CN;
  return typeof cn === "string" && cn !== "" ? cn : undefined;
}

export function sees(audience: Audience, deviceId: string): boolean {
  return audience.boxes === "all" || audience.boxes.has(deviceId);
}

/**
 * The same Audience after a roster reload sees the same boxes: an open event stream of theirs can
 * carry on. Any difference (a box more or less, another role) and the stream is ended, so that
 * the page reloads its list under the new roster.
 */
export function sameAudience(a: Audience | undefined, b: Audience | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.cn !== b.cn || a.role !== b.role) return false;
  const theirs = b.boxes;
  if (a.boxes === "all" || theirs === "all") return a.boxes === theirs;
  return a.boxes.size === theirs.size && [...a.boxes].every((box) => theirs.has(box));
}

/** A FleetView that also says whether a box is in sight (the event stream sends nothing else). */
export interface ScopedView extends FleetView {
  sees(deviceId: string): boolean;
}

/** The whole fleet, for a service without a roster (any certificate of the CA sees every box). */
export function wholeView(view: FleetView): ScopedView {
  return {
    list: (query) => view.list(query),
    counts: () => view.counts(),
    box: (deviceId) => view.box(deviceId),
    history: (deviceId, sinceMs) => view.history(deviceId, sinceMs),
    onChange: (listener) => view.onChange(listener),
    sees: () => true,
  };
}

/**
 * The fleet as `audience` may see it. A box outside their sites is as absent as one that does not
 * exist (no 403 that would tell them it does), and the counts are over their boxes only: a total
 * must not tell how many boxes there are elsewhere.
 */
export function narrowedView(view: FleetView, audience: Audience): ScopedView {
  const { boxes } = audience;
  if (boxes === "all") return wholeView(view);
  const box = (deviceId: string): BoxRow | undefined => (boxes.has(deviceId) ? view.box(deviceId) : undefined);
  return {
    list: (query: FleetQuery) => view.list(query).filter((row) => boxes.has(row.deviceId)),
    // One lookup per box of theirs rather than the whole fleet's rows: a commune's operator costs
    // a few lookups, a province's a few hundred.
    counts: (): FleetCounts => countsOf([...boxes].flatMap((deviceId) => view.box(deviceId) ?? [])),
    box,
    history: async (deviceId: string, sinceMs: number): Promise<BoxHistoryEntry[]> => (boxes.has(deviceId) ? view.history(deviceId, sinceMs) : []),
    onChange: (listener) =>
      view.onChange((deviceIds) => {
        const theirs = deviceIds.filter((deviceId) => boxes.has(deviceId));
        if (theirs.length > 0) listener(theirs);
      }),
    sees: (deviceId) => boxes.has(deviceId),
  };
}

/**
 * Whether `role` may send command `name` to a box it sees: the broker's own grants for that role
 * (tools/roster/roles.ts), read the same way, so that the fleet service lets a person do through
 * it exactly what the broker would let them do themselves: operators the watching commands
 * (`ping`, `health.now`, `peripherals.list`, …), technicians any command, backends none.
 */
export function mayCommand(role: Role, name: string): boolean {
  const write = ROLE_GRANTS[role].write;
  return write.includes("cmd/+") || write.includes(`cmd/${name}`);
}

/** Whether `role` may read a box's retained `config/reported` and set its `config/desired` (technicians). */
export function mayConfigure(role: Role): boolean {
  const grants = ROLE_GRANTS[role];
  return grants.readwrite.includes("config/desired") && grants.read.includes("config/reported");
}
