/**
 * Commands for the technicians who look after a box from afar: restart the agent, reboot the box
 * (two steps, rate-limited), collect diagnostics, read recent log lines. None of them runs a
 * shell or a path a remote party chooses.
 */
import { pino } from "pino";
import { z } from "zod";
import { defineCommand, type Command } from "../commands/command.ts";
import type { AgentContext } from "../core/context.ts";
import { messageOf, TheaError } from "../core/errors.ts";
import { LOG_LEVELS } from "../../lib/log.ts";
import type { DiagnosticsBundles } from "./diagnostics.ts";
import type { RebootGuard } from "./reboot.ts";


export interface ManagementDeps {
  ctx: AgentContext;
  reboot: RebootGuard;
  bundles: DiagnosticsBundles;
  /** Live consultations (WebRTC viewer sessions): a restart would cut them. */
  liveSessions: () => number;
  /** What goes into a diagnostics bundle besides versions, config and logs. */
  snapshot: () => Promise<Record<string, unknown>>;
  rebootSystem: () => Promise<void>;
  /** The reboot did not happen (systemctl failed): the agent keeps running and says why. */
  rebootFailed: (reason: string) => void;
}

export function managementCommands(deps: ManagementDeps): Command[] {
  const { ctx } = deps;
  const refuseDuringConsultation = (force: boolean, what: string) => {
    const live = deps.liveSessions();
    if (live > 0 && !force) throw new TheaError("consultation-live", `${live} viewer session(s) live; ${what} would cut them. Send force: true to do it anyway`);
  };
  return [
    defineCommand({
      name: "agent.restart",
      description: "Restart the agent (systemd starts it again). Refused during a consultation unless force.",
      params: z.strictObject({ force: z.boolean().default(false) }),
      sideEffects: true,
      resultIfInterrupted: { restarting: true },
      run: ({ force }) => {
        refuseDuringConsultation(force, "a restart");
        ctx.lifecycle.restart("agent.restart command");
        return { restarting: true };
      },
    }),
    defineCommand({
      name: "system.reboot",
      description: "Reboot the box: call once for a confirmToken, then again with it within a minute. At most once per management.rebootMinIntervalMin.",
      params: z.strictObject({ confirmToken: z.string().min(1).max(64).optional(), force: z.boolean().default(false) }),
      sideEffects: true,
      run: async ({ confirmToken, force }) => {
        if (confirmToken === undefined) return deps.reboot.request();
        refuseDuringConsultation(force, "a reboot");
        await deps.reboot.confirm(confirmToken);
        // systemd stops the agent (SIGTERM) on the way down, which sends this answer first.
        void deps.rebootSystem().catch((error: unknown) => deps.rebootFailed(messageOf(error)));
        return { rebooting: true };
      },
    }),
    defineCommand({
      name: "diagnostics.collect",
      description: "A diagnostics bundle (versions, config hash and redacted config, health, peripherals, outbox, media, recent logs) in gzipped parts.",
      params: z
        .strictObject({ bundleId: z.string().optional(), part: z.int().min(0).optional() })
        .refine((params) => (params.bundleId === undefined) === (params.part === undefined), { error: "give bundleId and part together" }),
      run: async ({ bundleId, part }) => {
        if (bundleId !== undefined && part !== undefined) return deps.bundles.part(bundleId, part);
        return deps.bundles.create({
          collectedAt: new Date().toISOString(),
          deviceId: ctx.config.deviceId,
          version: ctx.version,
          node: process.version,
          bootId: ctx.bootId,
          startedAt: ctx.startedAt.toISOString(),
          configHash: ctx.configHash,
          ...(await deps.snapshot()),
          recentLogs: ctx.recentLogs.tail(1000),
        });
      },
    }),
    defineCommand({
      name: "logs.tail",
      description: "The agent's most recent log lines (newest last), at a level or above.",
      params: z.strictObject({
        lines: z.int().min(1).max(1000).default(100),
        level: z.enum(LOG_LEVELS.filter((level) => level !== "silent")).default("trace"),
      }),
      run: ({ lines, level }) => ({
        lines: ctx.recentLogs.tail(lines, pino.levels.values[level] ?? 0).map((line) => ({ ...line, level: pino.levels.labels[line.level] ?? line.level })),
      }),
    }),
  ];
}
