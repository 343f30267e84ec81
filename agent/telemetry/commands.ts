/** Commands every box answers, whatever hardware it has. */
import { z } from "zod";
import type { AgentContext } from "../core/context.ts";
import type { PingResult } from "../core/api.ts";
import type { HealthCollector } from "./health.ts";
import { defineCommand, type Command } from "../commands/command.ts";

const noParams = z.strictObject({});

export function builtinCommands(ctx: AgentContext, health: HealthCollector): Command[] {
  return [
    defineCommand({
      name: "ping",
      description: "Is the agent alive? Returns its version, boot id and uptime.",
      params: noParams,
      run: async (): Promise<PingResult> => ({
        deviceId: ctx.config.deviceId,
        version: ctx.version,
        bootId: ctx.bootId,
        uptimeSec: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
        time: new Date().toISOString(),
        clockSynchronized: await ctx.clockSynchronized(),
      }),
    }),
    defineCommand({
      name: "health.now",
      description: "A fresh health report, the same shape as the periodic one.",
      params: noParams,
      run: () => health.collect(),
    }),
  ];
}
