/** The retained presence messages on `thea/v1/{deviceId}/status`. */
import type { AgentContext } from "../core/context.ts";
import type { StatusOffline, StatusOnline } from "../core/api.ts";

export async function onlineStatus(ctx: AgentContext, connection: number): Promise<StatusOnline> {
  return {
    online: true,
    version: ctx.version,
    startedAt: ctx.startedAt.toISOString(),
    configHash: ctx.configHash,
    bootId: ctx.bootId,
    // The wire name predates the word's one meaning here (a viewing session); kept so consumers of v1 are not broken.
    session: connection,
    clockSynchronized: await ctx.clockSynchronized(),
    site: { ...ctx.config.site },
    keepaliveSec: ctx.config.mqtt.keepaliveSec,
  };
}

export function offlineStatus(ctx: AgentContext, reason: StatusOffline["reason"]): StatusOffline {
  return { online: false, reason, bootId: ctx.bootId };
}
