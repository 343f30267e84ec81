/**
 * The roster of one thea network: where the boxes are (a tree of sites, usually province →
 * district → commune, whose leaves list deviceIds) and who may reach which of them (people and
 * services by certificate CN, each with the sites they cover). Pure: text in, a checked roster or
 * every problem at once out. The broker kit turns it into a mosquitto ACL (acl.ts).
 */
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { DEVICE_ID_PATTERN } from "../../config/schema.ts";
import { isRole, type Role } from "./roles.ts";

/** A site name is one path segment: no "/", and none of MQTT's wildcards. */
const SITE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** As thea-pki issues them: ROLE.NAME (a dot, which no deviceId has). */
const PERSON_CN = /^([a-z]+)\.[a-z0-9][a-z0-9_-]{0,47}$/;
/** Every site, everywhere: also covers boxes added to the broker before the roster names them. */
export const ALL_SITES = "*";
/** Deeper than province/district/commune/village is a mistake in the file, not a network. */
const MAX_SITE_DEPTH = 5;

export interface Person {
  readonly cn: string;
  readonly role: Role;
  /** The site paths as written ("dak-lak/krong-pac"), or [ALL_SITES]. */
  readonly sites: readonly string[];
  /** The boxes those sites hold, sorted; "all" for ALL_SITES. */
  readonly boxes: readonly string[] | "all";
}

export interface Roster {
  /** Every site path (inner ones too) → the boxes below it, sorted. */
  readonly sites: ReadonlyMap<string, readonly string[]>;
  /** Sorted by CN. */
  readonly people: readonly Person[];
}

export class RosterError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`the roster has ${problems.length} problem(s):\n${problems.map((problem) => `  ${problem}`).join("\n")}`);
    this.name = "RosterError";
    this.problems = problems;
  }
}

const RosterFile = z.strictObject({
  sites: z.record(z.string(), z.unknown()),
  people: z.record(z.string(), z.strictObject({ sites: z.array(z.string()).min(1) })).default({}),
});

/** Parses and checks a roster file's text; throws a RosterError listing every problem. */
export function parseRoster(text: string): Roster {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) throw new RosterError([`not valid YAML: ${error.message}`]);
    throw error;
  }
  const file = RosterFile.safeParse(document);
  if (!file.success) throw new RosterError(file.error.issues.map((issue) => `${issue.path.join(".") || "(top)"}: ${issue.message}`));
  const problems: string[] = [];
  const sites = new Map<string, string[]>();
  const siteOfBox = new Map<string, string>();
  walkSites(file.data.sites, [], { sites, siteOfBox, problems });
  const people = Object.entries(file.data.people)
    .map(([cn, entry]) => person(cn, entry.sites, sites, problems))
    .filter((entry) => entry !== undefined)
    .sort((a, b) => (a.cn < b.cn ? -1 : 1));
  if (problems.length > 0) throw new RosterError(problems);
  for (const boxes of sites.values()) boxes.sort();
  return { sites, people };
}

interface Walk {
  sites: Map<string, string[]>;
  siteOfBox: Map<string, string>;
  problems: string[];
}

/** A site is either a list of deviceIds (a leaf) or a map of its sub-sites. */
function walkSites(node: unknown, path: string[], walk: Walk): string[] {
  const where = path.length > 0 ? `sites.${path.join(".")}` : "sites";
  if (Array.isArray(node)) return leafBoxes(node, path, walk);
  if (node === null || typeof node !== "object") {
    walk.problems.push(`${where}: a site is a list of deviceIds or a map of sites`);
    return [];
  }
  if (path.length >= MAX_SITE_DEPTH) {
    walk.problems.push(`${where}: sites nest at most ${MAX_SITE_DEPTH} deep`);
    return [];
  }
  const below: string[] = [];
  for (const [name, child] of Object.entries(node)) {
    if (!SITE_NAME.test(name)) {
      walk.problems.push(`${where}: site name "${name}" must match ${SITE_NAME.source}`);
      continue;
    }
    below.push(...walkSites(child, [...path, name], walk));
  }
  if (path.length > 0) walk.sites.set(path.join("/"), [...below]);
  return below;
}

function leafBoxes(list: unknown[], path: string[], walk: Walk): string[] {
  const site = path.join("/");
  const boxes: string[] = [];
  list.forEach((box, index) => {
    const where = `sites.${path.join(".")}[${index}]`;
    if (typeof box !== "string" || !DEVICE_ID_PATTERN.test(box)) {
      walk.problems.push(`${where}: ${JSON.stringify(box)} is not a deviceId (${DEVICE_ID_PATTERN.source})`);
      return;
    }
    const other = walk.siteOfBox.get(box);
    if (other !== undefined) {
      walk.problems.push(`${where}: box "${box}" is already at ${other}; a box belongs to one site`);
      return;
    }
    walk.siteOfBox.set(box, site);
    boxes.push(box);
  });
  walk.sites.set(site, [...boxes]);
  return boxes;
}

function person(cn: string, siteList: string[], sites: ReadonlyMap<string, readonly string[]>, problems: string[]): Person | undefined {
  const role = PERSON_CN.exec(cn)?.[1];
  if (role === undefined || !isRole(role)) {
    problems.push(`people.${cn}: a CN is ROLE.NAME as thea-pki issues it, ROLE one of operator, technician, backend`);
    return undefined;
  }
  if (siteList.includes(ALL_SITES)) {
    if (siteList.length > 1) problems.push(`people.${cn}.sites: "${ALL_SITES}" means every site; list nothing beside it`);
    return { cn, role, sites: [ALL_SITES], boxes: "all" };
  }
  const boxes = new Set<string>();
  for (const site of siteList) {
    const below = sites.get(site);
    if (below === undefined) problems.push(`people.${cn}.sites: no site "${site}" (write a path such as province/district)`);
    else for (const box of below) boxes.add(box);
  }
  return { cn, role, sites: siteList, boxes: [...boxes].sort() };
}
