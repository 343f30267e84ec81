/** ping and health.now, the commands every box answers: what they return, and that they take no parameters. */
import { describe, expect, it } from "vitest";
import type { HealthPayload } from "../../../agent/core/api.ts";
import type { AgentContext } from "../../../agent/core/context.ts";
import { builtinCommands } from "../../../agent/telemetry/commands.ts";
import type { HealthCollector } from "../../../agent/telemetry/health.ts";

const ctx = {
  config: { deviceId: "clinic-7" },
  version: "1.4.2",
  bootId: "boot-1",
  startedAt: new Date(Date.now() - 90_400),
  clockSynchronized: async () => null,
} as unknown as AgentContext;
const report = { cpu: { cores: 4 } } as unknown as HealthPayload;
const health = { collect: async () => report } as unknown as HealthCollector;

function command(name: string) {
  const found = builtinCommands(ctx, health).find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
}

describe("builtin commands", () => {
  it("ping returns the box, its version, boot, whole seconds up, the time and whether the clock is synchronised", async () => {
    const result = await command("ping").handle({});
    expect(result).toEqual({ deviceId: "clinic-7", version: "1.4.2", bootId: "boot-1", uptimeSec: 90, time: expect.any(String), clockSynchronized: null });
    expect(Math.abs(Date.parse((result as { time: string }).time) - Date.now())).toBeLessThan(5000);
  });

  it("health.now returns a fresh report from the collector", async () => {
    await expect(command("health.now").handle({})).resolves.toBe(report);
  });

  it("refuses any parameter with invalid-params, and neither has side effects", async () => {
    for (const name of ["ping", "health.now"]) {
      await expect(command(name).handle({ force: true })).rejects.toMatchObject({ code: "invalid-params" });
      expect(command(name).sideEffects).toBe(false);
    }
  });
});
