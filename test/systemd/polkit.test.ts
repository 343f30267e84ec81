/**
 * systemd/thea-reboot.rules, evaluated as polkit evaluates rules files (a script that calls
 * polkit.addRule): it lets the thea user reboot and nothing else.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../helpers/agentProcess.ts";

type Rule = (action: { id: string }, subject: { user: string }) => string;

async function loadRules(): Promise<Rule[]> {
  const rules: Rule[] = [];
  const polkit = { Result: { YES: "yes", NO: "no", NOT_HANDLED: "not-handled" }, addRule: (rule: Rule) => rules.push(rule) };
  vm.runInNewContext(await readFile(path.join(PROJECT_ROOT, "systemd", "thea-reboot.rules"), "utf8"), { polkit });
  return rules;
}

async function theRule(): Promise<Rule> {
  const [rule, ...others] = await loadRules();
  expect(others).toEqual([]);
  if (!rule) throw new Error("no rule added");
  return rule;
}

describe("systemd/thea-reboot.rules", () => {
  it("allows the thea user to reboot, also while someone is logged in, and nothing else", async () => {
    const rule = await theRule();
    expect(rule({ id: "org.freedesktop.login1.reboot" }, { user: "thea" })).toBe("yes");
    // logind asks for this one instead when another user has a session (a technician on ssh).
    expect(rule({ id: "org.freedesktop.login1.reboot-multiple-sessions" }, { user: "thea" })).toBe("yes");
    expect(rule({ id: "org.freedesktop.login1.power-off" }, { user: "thea" })).toBe("not-handled");
    expect(rule({ id: "org.freedesktop.systemd1.manage-units" }, { user: "thea" })).toBe("not-handled");
    expect(rule({ id: "org.freedesktop.login1.reboot" }, { user: "nurse" })).toBe("not-handled");
  });

  it("does not let the thea user override an inhibitor lock (a reboot waits for whatever holds it)", async () => {
    const rule = await theRule();
    // logind asks for reboot-ignore-inhibit when a block inhibitor is held and the caller wants
    // to reboot anyway (systemctl reboot -i); left to the defaults, that needs an administrator.
    expect(rule({ id: "org.freedesktop.login1.reboot-ignore-inhibit" }, { user: "thea" })).toBe("not-handled");
  });
});
