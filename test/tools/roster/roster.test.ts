/**
 * tools/roster/roster.ts: a roster file in, a checked roster out, or every problem at once.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../helpers/agentProcess.ts";
import { parseRoster, RosterError } from "../../../tools/roster/roster.ts";

const ROSTER = `
sites:
  north:
    hill: { a: [box-1, box-2], b: [box-3] }
  south:
    coast: { c: [box-4] }
people:
  operator.lan: { sites: [north] }
  operator.hoa: { sites: [north/hill/b, south/coast] }
  technician.all: { sites: ["*"] }
  backend.ingest: { sites: [south] }
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseRoster(text);
  } catch (error) {
    if (error instanceof RosterError) return error.problems;
    throw error;
  }
  throw new Error("the roster was accepted");
}

describe("parseRoster", () => {
  it("resolves each person's sites to the boxes below them", () => {
    const roster = parseRoster(ROSTER);
    const boxes = Object.fromEntries(roster.people.map((person) => [person.cn, person.boxes]));
    expect(boxes).toEqual({
      "operator.lan": ["box-1", "box-2", "box-3"],
      "operator.hoa": ["box-3", "box-4"],
      "technician.all": "all",
      "backend.ingest": ["box-4"],
    });
    expect(roster.people.map((person) => person.role)).toEqual(["backend", "operator", "operator", "technician"]);
    expect(roster.sites.get("north/hill")).toEqual(["box-1", "box-2", "box-3"]);
  });

  it("reads the kit's example roster", async () => {
    const roster = parseRoster(await readFile(path.join(PROJECT_ROOT, "docs", "deploy", "roster.example.yaml"), "utf8"));
    expect(roster.people.length).toBeGreaterThan(0);
  });

  it("lists every problem at once, each with where it is", () => {
    const problems = problemsOf(`
sites:
  north:
    a: [box-1, Box_2, box-1]
    "b/c": [box-9]
  south: 7
people:
  operator.lan: { sites: [north/nowhere] }
  nurse.hoa: { sites: [north] }
  technician.tuan: { sites: ["*", north] }
`);
    expect(problems).toEqual([
      expect.stringMatching(/^sites\.north\.a\[1\]: "Box_2" is not a deviceId/),
      expect.stringMatching(/^sites\.north\.a\[2\]: box "box-1" is already at north\/a/),
      expect.stringMatching(/^sites\.north: site name "b\/c" must match/),
      expect.stringMatching(/^sites\.south: a site is a list of deviceIds or a map of sites/),
      expect.stringMatching(/^people\.operator\.lan\.sites: no site "north\/nowhere"/),
      expect.stringMatching(/^people\.nurse\.hoa: a CN is ROLE\.NAME/),
      expect.stringMatching(/^people\.technician\.tuan\.sites: "\*" means every site/),
    ]);
  });

  it("refuses unknown keys, a person without sites, and text that is not YAML", () => {
    expect(problemsOf("sites: {}\npeople: {}\ngroups: {}\n")).toEqual([expect.stringContaining("groups")]);
    expect(problemsOf("sites: { a: [box-1] }\npeople:\n  operator.lan: { sites: [] }\n")).toEqual([expect.stringMatching(/^people\.operator\.lan\.sites:/)]);
    expect(problemsOf("sites: [\n")).toEqual([expect.stringMatching(/^not valid YAML/)]);
  });

  it("bounds how deep sites nest", () => {
    expect(problemsOf("sites: { a: { b: { c: { d: { e: { f: [box-1] } } } } } }\n")).toEqual([expect.stringMatching(/nest at most 5 deep/)]);
  });
});
