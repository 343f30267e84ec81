/**
 * Access by roster (tools/fleet/access.ts), pure: a certificate's CN to the person in the roster,
 * to the boxes they may see; a CN the roster does not name sees nothing; "*" sees every box. And
 * the narrowed view: the list, one box, its history, the counts and the changes, all theirs only.
 */
import { describe, expect, it } from "vitest";
import { accessFromRoster, narrowedView, sameAudience, sees, subjectCnOf } from "../../../tools/fleet/access.ts";
import { parseRoster } from "../../../tools/roster/roster.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";

const roster = parseRoster(`
sites:
  dak-lak:
    krong-pac:
      ea-kly: [dak-01, dak-02]
  gia-lai:
    chu-se:
      ia-blang: [gia-01]
people:
  operator.dr-lan: { sites: [dak-lak] }
  technician.tuan: { sites: [gia-lai/chu-se] }
  technician.desk: { sites: ["*"] }
  backend.ingest-1: { sites: [gia-lai] }
`);

describe("access by roster", () => {
  const access = accessFromRoster(roster);

  it("maps a CN to its person's role and the boxes of their sites", () => {
    const lan = access.audienceOf("operator.dr-lan");
    expect(lan).toMatchObject({ cn: "operator.dr-lan", role: "operator" });
    expect([...(lan?.boxes === "all" || lan === undefined ? [] : lan.boxes)]).toEqual(["dak-01", "dak-02"]);
    const tuan = access.audienceOf("technician.tuan");
    expect(tuan?.role).toBe("technician");
    expect(tuan && sees(tuan, "gia-01")).toBe(true);
    expect(tuan && sees(tuan, "dak-01")).toBe(false);
    // A backend is whatever its sites give it: here one province, not the fleet.
    const ingest = access.audienceOf("backend.ingest-1");
    expect(ingest && [sees(ingest, "gia-01"), sees(ingest, "dak-01")]).toEqual([true, false]);
    expect(access.people).toBe(4);
  });

  it("gives every box, those the roster does not list too, to a person with \"*\"", () => {
    const desk = access.audienceOf("technician.desk");
    expect(desk?.boxes).toBe("all");
    expect(desk && sees(desk, "a-box-added-before-the-roster-names-it")).toBe(true);
  });

  it("knows nobody the roster does not name, whatever the CN looks like", () => {
    for (const cn of ["operator.someone-else", "dak-01", "operator.DR-LAN", "operator.dr-lan ", "", "*", "__proto__", "constructor"]) {
      expect(access.audienceOf(cn)).toBeUndefined();
    }
  });

  it("takes a certificate's CN only when there is exactly one", () => {
    expect(subjectCnOf({ CN: "operator.dr-lan", O: "thea" })).toBe("operator.dr-lan");
    expect(subjectCnOf({ O: "thea" })).toBeUndefined();
    expect(subjectCnOf({ CN: "" })).toBeUndefined();
    expect(subjectCnOf({ CN: ["operator.dr-lan", "technician.desk"] })).toBeUndefined();
    expect(subjectCnOf(undefined)).toBeUndefined();
    expect(subjectCnOf(null)).toBeUndefined();
  });

  it("tells whether a reload changed what a person sees", () => {
    const moved = accessFromRoster(parseRoster(`
sites: { dak-lak: { krong-pac: { ea-kly: [dak-01, dak-02] } }, gia-lai: { chu-se: { ia-blang: [gia-01] } } }
people:
  operator.dr-lan: { sites: [dak-lak/krong-pac/ea-kly] }
  technician.tuan: { sites: [dak-lak] }
  technician.desk: { sites: ["*"] }
`));
    expect(sameAudience(access.audienceOf("operator.dr-lan"), moved.audienceOf("operator.dr-lan"))).toBe(true);
    expect(sameAudience(access.audienceOf("technician.tuan"), moved.audienceOf("technician.tuan"))).toBe(false);
    expect(sameAudience(access.audienceOf("technician.desk"), moved.audienceOf("technician.desk"))).toBe(true);
    expect(sameAudience(access.audienceOf("backend.ingest-1"), moved.audienceOf("backend.ingest-1"))).toBe(false);
  });
});

describe("the fleet as one person sees it", () => {
  const fleet = () =>
    new FakeFleetView([
      boxRow("dak-01"),
      boxRow("dak-02", { online: false, attention: [{ kind: "offline", forMin: 30 }] }),
      boxRow("gia-01", { online: false, attention: [{ kind: "offline", forMin: 90 }] }),
      boxRow("unlisted-01"),
    ]);
  const access = accessFromRoster(roster);
  const audience = (cn: string) => {
    const found = access.audienceOf(cn);
    if (!found) throw new Error(`${cn} is not in the test's roster`);
    return found;
  };

  it("lists, counts and finds only their boxes; another's box is as absent as none", async () => {
    const view = narrowedView(fleet(), audience("operator.dr-lan"));
    expect(view.list({}).map((row) => row.deviceId)).toEqual(["dak-02", "dak-01"]);
    expect(view.list({ state: "offline" }).map((row) => row.deviceId)).toEqual(["dak-02"]);
    expect(view.counts()).toEqual({ total: 2, online: 1, offline: 1, attention: 1, updating: 0 });
    expect(view.box("dak-01")?.deviceId).toBe("dak-01");
    expect(view.box("gia-01")).toBeUndefined();
    expect(view.box("unlisted-01")).toBeUndefined();
    expect(await view.history("gia-01", 0)).toEqual([]);
    expect(await view.history("dak-02", 0)).toHaveLength(1);
    expect([view.sees("dak-01"), view.sees("gia-01")]).toEqual([true, false]);
  });

  it("counts a box of theirs the fleet has not seen yet as nothing", () => {
    const source = fleet();
    source.rows.delete("dak-01");
    expect(narrowedView(source, audience("operator.dr-lan")).counts().total).toBe(1);
  });

  it("tells of changes to their boxes only", () => {
    const source = fleet();
    const told: string[][] = [];
    narrowedView(source, audience("technician.tuan")).onChange((ids) => told.push([...ids]));
    source.change(boxRow("dak-01"), boxRow("gia-01"));
    source.change(boxRow("dak-02"));
    expect(told).toEqual([["gia-01"]]);
  });

  it("is the whole fleet for \"*\"", () => {
    const view = narrowedView(fleet(), audience("technician.desk"));
    expect(view.counts().total).toBe(4);
    expect(view.box("unlisted-01")?.deviceId).toBe("unlisted-01");
  });
});
