/**
 * What every service of one agent run is given: its configuration, logger and identity of the
 * run. Passed in explicitly; there are no module-level singletons.
 */
import type { ResolvedConfig } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import type { LogRing } from "../../lib/logRing.ts";
import type { ClockSynchronized, NetworkInterfaceState } from "./api.ts";

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

export interface HostProbe {
  /** CPU load since the previous call, percent. */
  loadPercent(): Promise<number | undefined>;
  memory(): Promise<{ total: number; available: number }>;
  temperatureC(): Promise<number | null>;
  interfaces(): Promise<NetworkInterfaceState[]>;
}
