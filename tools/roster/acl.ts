/**
 * The roster as a mosquitto ACL file (acl_file in docs/deploy/mosquitto.conf). Pure and
 * deterministic: the same roster always gives the same file, so a diff of two generated files is
 * a review of who gained or lost what.
 *
 * mosquitto's rules, which this relies on (mosquitto.conf(5), acl_file): only what a line grants
 * is allowed; `pattern` lines apply to every client; a user's `deny` lines are checked before any
 * grant; read access is checked on delivery, retained messages included, so a subscription to
 * `thea/v1/#` receives only what the reader may read.
 */
import { ROLE_GRANTS } from "./roles.ts";
import type { Person, Roster } from "./roster.ts";

const PREFIX = "thea/v1";

export interface AclOptions {
  /** Named in the header, so whoever finds the file on a broker knows where it came from. */
  readonly source?: string;
}

export function aclFromRoster(roster: Roster, options: AclOptions = {}): string {
  const lines = [
    "# mosquitto ACL of a thea network, generated from the roster" + (options.source ? ` ${options.source}` : "") + ".",
    "# Do not edit: change the roster, run `thea-roster acl ROSTER --out FILE`, reload mosquitto (SIGHUP).",
    "# Usernames are certificate CNs (use_identity_as_username): a box's is its deviceId, a person's",
    "# ROLE.NAME. Anything not granted here is denied, $SYS included.",
    "",
    "# Every box: its own subtree and nothing else; a stolen box reads and writes only what it could.",
    `pattern readwrite ${PREFIX}/%u/#`,
    "",
  ];
  for (const person of roster.people) lines.push(...personBlock(person), "");
  return `${lines.join("\n")}`;
}

function personBlock(person: Person): string[] {
  const boxes = person.boxes === "all" ? ["+"] : person.boxes;
  const grants = ROLE_GRANTS[person.role];
  const lines = [
    `user ${person.cn}`,
    `# ${person.role}; sites: ${person.sites.join(", ")}` + (person.boxes === "all" ? "" : ` (${person.boxes.length} boxes)`),
    // The box pattern above applies to people too: without this, a person could publish under a
    // made-up box named after their own CN, and readers of every site would take it for a box.
    `topic deny ${PREFIX}/${person.cn}/#`,
  ];
  for (const box of boxes) {
    const root = `${PREFIX}/${box}`;
    for (const topic of grants.read) lines.push(`topic read ${root}/${topic}`);
    // Answers to this person's own requests only (docs/mqtt-api.md, response topic); a backend
    // sends no requests.
    if (person.role !== "backend") lines.push(`topic read ${root}/reply/${person.cn}/#`);
    for (const topic of grants.write) lines.push(`topic write ${root}/${topic}`);
    for (const topic of grants.readwrite) lines.push(`topic readwrite ${root}/${topic}`);
  }
  return lines;
}
