/** The management commands' refusals: during a consultation, and on bad parameters. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentContext } from "../../../agent/core/context.ts";
import { managementCommands } from "../../../agent/management/commands.ts";
import { DiagnosticsBundles } from "../../../agent/management/diagnostics.ts";
import { RebootGuard } from "../../../agent/management/reboot.ts";

const tempDir = () => mkdtemp(path.join(tmpdir(), "thea-mgmt-"));

describe("management commands", () => {
  async function commands(liveSessions: number) {
    const restarts: string[] = [];
    const ctx = { lifecycle: { restart: (reason: string) => restarts.push(reason) } } as unknown as AgentContext;
    const list = managementCommands({
      ctx,
      reboot: new RebootGuard({ dataDir: await tempDir(), minIntervalMs: 60_000 }),
      bundles: new DiagnosticsBundles(),
      liveSessions: () => liveSessions,
      snapshot: async () => ({}),
      rebootSystem: async () => undefined,
      rebootFailed: () => undefined,
    });
    const run = (name: string, params: unknown) => list.find((command) => command.name === name)?.handle(params);
    return { run, restarts };
  }

  it("refuses to restart or reboot during a consultation unless forced", async () => {
    const { run, restarts } = await commands(2);
    await expect(run("agent.restart", {})).rejects.toMatchObject({ code: "consultation-live", message: expect.stringContaining("2 viewer session(s)") });
    expect(restarts).toEqual([]);
    await expect(run("agent.restart", { force: true })).resolves.toEqual({ restarting: true });
    expect(restarts).toHaveLength(1);
    const { confirmToken } = (await run("system.reboot", {})) as { confirmToken: string };
    await expect(run("system.reboot", { confirmToken })).rejects.toMatchObject({ code: "consultation-live" });
  });

  it("checks its parameters", async () => {
    const { run } = await commands(0);
    await expect(run("logs.tail", { lines: 5000 })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("logs.tail", { level: "loud" })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("diagnostics.collect", { part: 1 })).rejects.toMatchObject({ code: "invalid-params" });
    await expect(run("system.reboot", { command: "rm -rf /" })).rejects.toMatchObject({ code: "invalid-params" });
  });
});
