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

describe("systemd/thea-reboot.rules", () => {
  it("allows the thea user to reboot, and nothing else", async () => {
    const [rule, ...others] = await loadRules();
    expect(others).toEqual([]);
    if (!rule) throw new Error("no rule added");
    expect(rule({ id: "org.freedesktop.login1.reboot" }, { user: "thea" })).toBe("yes");
    expect(rule({ id: "org.freedesktop.login1.reboot-multiple-sessions" }, { user: "thea" })).toBe("yes");
    expect(rule({ id: "org.freedesktop.login1.power-off" }, { user: "thea" })).toBe("not-handled");
    expect(rule({ id: "org.freedesktop.systemd1.manage-units" }, { user: "thea" })).toBe("not-handled");
    expect(rule({ id: "org.freedesktop.login1.reboot" }, { user: "nurse" })).toBe("not-handled");
  });
});
