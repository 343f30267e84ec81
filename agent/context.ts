/**
 * What every service of one agent run is given: its configuration, logger and identity of the
 * run. Passed in explicitly; there are no module-level singletons.
 */
import type { ResolvedConfig } from "./config/load.ts";
import type { Logger } from "./log.ts";
import type { LogRing } from "./management/logRing.ts";
import type { ClockSynchronized } from "./mqtt/api.ts";
import type { HostProbe } from "./telemetry/health.ts";

export interface AgentContext {
  readonly config: ResolvedConfig;
  readonly configHash: string;
  readonly log: Logger;
  readonly version: string;
  /** Random per start of the agent process. */
  readonly bootId: string;
  readonly startedAt: Date;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether the system clock is NTP-synchronised (cached; cheap to call). */
  readonly clockSynchronized: () => Promise<ClockSynchronized>;
  /** The newest log lines (logs.tail, diagnostics). */
  readonly recentLogs: LogRing;
  readonly lifecycle: AgentLifecycle;
  /** The machine's figures for health, when a process shares one probe among several agent cores. */
  readonly host?: HostProbe;
}

/** Ending this run of the agent on purpose; implemented by `thea run`. */
export interface AgentLifecycle {
  /** Stops cleanly (answers in flight go out first) and exits; systemd (Restart=always) starts it again. */
  restart(reason: string): void;
}
