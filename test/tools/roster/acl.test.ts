/**
 * tools/roster/acl.ts: the roster as a mosquitto ACL. Checked here with a small evaluator of
 * mosquitto's acl_file rules (mosquitto.conf(5): deny lines first, then the user's grants, then
 * patterns for everyone); test/deploy/roster.integration.test.ts checks the same file on mosquitto.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aclFromRoster } from "../../../tools/roster/acl.ts";
import { parseRoster } from "../../../tools/roster/roster.ts";

type Access = "read" | "write";

function matches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** Whether `user` may `access` `topic` under the ACL text, as mosquitto decides it. */
function allowed(acl: string, user: string, access: Access, topic: string): boolean {
  const own: Array<{ kind: string; filter: string }> = [];
  const patterns: Array<{ kind: string; filter: string }> = [];
  let current: string | undefined;
  for (const line of acl.split("\n")) {
    const [word, kind = "", filter = ""] = line.split(" ");
    if (word === "user") current = kind;
    else if (word === "topic" && current === user) own.push({ kind, filter });
    else if (word === "pattern") patterns.push({ kind, filter: filter.replaceAll("%u", user) });
  }
  for (const list of [own, patterns]) {
    if (list.some((rule) => rule.kind === "deny" && matches(rule.filter, topic))) return false;
    if (list.some((rule) => (rule.kind === access || rule.kind === "readwrite") && matches(rule.filter, topic))) return true;
  }
  return false;
}

const ROSTER = parseRoster(`
sites:
  north: { hill: [box-n1, box-n2] }
  south: { coast: [box-s1] }
people:
  operator.lan: { sites: [north] }
  technician.tuan: { sites: [north] }
  technician.desk: { sites: ["*"] }
  backend.ingest: { sites: ["*"] }
`);
const ACL = aclFromRoster(ROSTER);

describe("aclFromRoster", () => {
  it("confines an operator to the boxes of their sites", () => {
    const can = (access: Access, topic: string) => allowed(ACL, "operator.lan", access, topic);
    expect(can("read", "thea/v1/box-n1/status")).toBe(true);
    expect(can("read", "thea/v1/box-n1/summary")).toBe(true);
    expect(can("read", "thea/v1/box-n1/alive")).toBe(true); // the heartbeat the fleet service times a silent box by
    expect(can("write", "thea/v1/box-n1/alive")).toBe(false);
    expect(can("read", "thea/v1/box-n2/peripherals/spo2/reading")).toBe(true);
    expect(can("write", "thea/v1/box-n1/cmd/ptz.goto")).toBe(true);
    expect(can("read", "thea/v1/box-s1/status")).toBe(false);
    expect(can("read", "thea/v1/box-s1/summary")).toBe(false);
    expect(can("read", "thea/v1/box-s1/alive")).toBe(false);
    expect(can("read", "thea/v1/box-s1/peripherals/spo2/reading")).toBe(false);
    expect(can("write", "thea/v1/box-s1/cmd/ping")).toBe(false);
    // Within its sites, still no more than an operator may do.
    expect(can("write", "thea/v1/box-n1/cmd/system.reboot")).toBe(false);
    expect(can("write", "thea/v1/box-n1/config/desired")).toBe(false);
    expect(can("read", "thea/v1/box-n1/cmd/webrtc.offer")).toBe(false);
  });

  it("lets a person read their own replies only", () => {
    expect(allowed(ACL, "operator.lan", "read", "thea/v1/box-n1/reply/operator.lan/7f3a")).toBe(true);
    expect(allowed(ACL, "operator.lan", "read", "thea/v1/box-n1/reply/technician.tuan/7f3a")).toBe(false);
    expect(allowed(ACL, "technician.desk", "read", "thea/v1/box-n1/reply/operator.lan/7f3a")).toBe(false);
    // The default answer topic of a request without a response topic is nobody's to read.
    expect(allowed(ACL, "technician.desk", "read", "thea/v1/box-n1/cmd/ping/response")).toBe(false);
    expect(allowed(ACL, "operator.lan", "read", "thea/v1/box-n1/cmd/ping/response")).toBe(false);
    // Nobody but the box writes under its subtree's replies.
    expect(allowed(ACL, "technician.desk", "write", "thea/v1/box-n1/reply/operator.lan/7f3a")).toBe(false);
  });

  it("gives a backend readings and health, nothing else", () => {
    const can = (access: Access, topic: string) => allowed(ACL, "backend.ingest", access, topic);
    expect(can("read", "thea/v1/box-s1/peripherals/spo2/reading")).toBe(true);
    expect(can("read", "thea/v1/box-n1/health")).toBe(true);
    for (const topic of ["status", "event", "peripherals/spo2/state", "cmd/ping", "config/desired", "config/reported", "update/desired", "reply/backend.ingest/1"]) {
      expect(can("read", `thea/v1/box-n1/${topic}`), topic).toBe(false);
    }
    expect(can("write", "thea/v1/box-n1/cmd/ping")).toBe(false);
  });

  it("lets a technician of every site configure any box, and nobody pose as a box", () => {
    expect(allowed(ACL, "technician.desk", "write", "thea/v1/box-s1/config/desired")).toBe(true);
    expect(allowed(ACL, "technician.tuan", "write", "thea/v1/box-s1/config/desired")).toBe(false);
    expect(allowed(ACL, "technician.desk", "write", "thea/v1/technician.desk/status")).toBe(false);
    expect(allowed(ACL, "box-n1", "write", "thea/v1/box-n1/status")).toBe(true);
    expect(allowed(ACL, "box-n1", "read", "thea/v1/box-n2/status")).toBe(false);
  });

  it("never grants a person anything of a box outside their sites (any roster)", () => {
    const boxId = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).map((id) => `b-${id}`);
    const rosters = fc
      .tuple(fc.uniqueArray(boxId, { minLength: 2, maxLength: 8 }), fc.integer({ min: 1, max: 7 }), fc.constantFrom("operator", "technician", "backend"))
      .map(([boxes, cut, role]) => ({ boxes, cut: Math.min(cut, boxes.length - 1), role }));
    fc.assert(
      fc.property(rosters, fc.constantFrom("status", "health", "peripherals/x/reading", "cmd/ping", "config/desired", "reply/P/1"), ({ boxes, cut, role }, suffix) => {
        const cn = `${role}.p`;
        const mine = boxes.slice(0, cut);
        const theirs = boxes.slice(cut);
        const acl = aclFromRoster(parseRoster(`sites:\n  a: [${mine.join(", ")}]\n  b: [${theirs.join(", ")}]\npeople:\n  ${cn}: { sites: [a] }\n`));
        for (const box of theirs) {
          const topic = `thea/v1/${box}/${suffix.replace("P", cn)}`;
          expect(allowed(acl, cn, "read", topic) || allowed(acl, cn, "write", topic)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("is the same file for the same roster", () => {
    expect(aclFromRoster(ROSTER)).toBe(ACL);
  });
});
