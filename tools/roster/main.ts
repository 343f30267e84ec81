/**
 * `thea-roster` (docs/deploy/thea-roster runs this with the project's Node):
 *
 *   thea-roster check ROSTER             check the roster; print its sites and people
 *   thea-roster acl ROSTER [--out FILE]  print the broker's ACL, or replace FILE with it
 *
 * Outside the agent on purpose: a box never loads it.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { messageOf } from "../../lib/messageOf.ts";
import { aclFromRoster } from "./acl.ts";
import { parseRoster, RosterError, type Roster } from "./roster.ts";

const USAGE = `usage: thea-roster check ROSTER
       thea-roster acl ROSTER [--out FILE]
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: "string" } }, allowPositionals: true, strict: true });
  const [command, file, ...extra] = positionals;
  if ((command !== "check" && command !== "acl") || file === undefined || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  let roster: Roster;
  try {
    roster = parseRoster(await readFile(file, "utf8"));
  } catch (error) {
    if (!(error instanceof RosterError)) throw error;
    process.stderr.write(`thea-roster: ${file}: ${error.message}\n`);
    return 1;
  }
  if (command === "check") {
    process.stdout.write(summary(roster));
    return 0;
  }
  const acl = aclFromRoster(roster, { source: path.basename(file) });
  if (values.out === undefined) {
    process.stdout.write(acl);
    return 0;
  }
  // mosquitto may re-read the file at any moment (SIGHUP): it must see the old file or the new one.
  const temporary = `${values.out}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temporary, acl, { mode: 0o644 });
  await rename(temporary, values.out);
  process.stderr.write(`thea-roster: wrote ${values.out} (${roster.people.length} people); reload mosquitto (SIGHUP)\n`);
  return 0;
}

function summary(roster: Roster): string {
  const leaves = [...roster.sites].filter(([site]) => ![...roster.sites.keys()].some((other) => other.startsWith(`${site}/`)));
  const boxes = leaves.reduce((count, [, list]) => count + list.length, 0);
  const people = roster.people.map((person) => `  ${person.cn}: ${person.sites.join(", ")} (${person.boxes === "all" ? "every box" : `${person.boxes.length} boxes`})\n`);
  return `${leaves.length} sites, ${boxes} boxes, ${roster.people.length} people\n${people.join("")}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`thea-roster: ${messageOf(error)}\n`);
    process.exitCode = 1;
  },
);
