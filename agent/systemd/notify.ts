/**
 * Talks to systemd (sd_notify(3)): READY=1 once the agent is up, WATCHDOG=1 from the event loop,
 * STATUS= for `systemctl status`, STOPPING=1 on shutdown. Node cannot send unix datagrams, so
 * this runs `systemd-notify`, which (since systemd 246) waits on a barrier until systemd has
 * read the message; that lets systemd attribute it to our unit although the helper is a child
 * process (the unit needs NotifyAccess=all). Outside systemd (no NOTIFY_SOCKET) it does nothing.
 */
import { execFile } from "node:child_process";
import { messageOf } from "../core/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { Service } from "../core/service.ts";

export interface NotifierOptions {
  env: Record<string, string | undefined>;
  log: Logger;
  pid?: number;
}

export class SystemdNotifier implements Service {
  readonly #env: Record<string, string | undefined>;
  readonly #log: Logger;
  readonly #watchdogIntervalMs: number | undefined;
  #watchdogTimer: NodeJS.Timeout | undefined;
  #watchdogInFlight = false;

  constructor(options: NotifierOptions) {
    this.#env = options.env;
    this.#log = options.log.child({ ns: "systemd" });
    this.#watchdogIntervalMs = watchdogIntervalMs(options.env, options.pid ?? process.pid);
  }

  get enabled(): boolean {
    return Boolean(this.#env.NOTIFY_SOCKET);
  }

  ready(status: string): Promise<void> {
    return this.#send(["READY=1", `STATUS=${status}`]);
  }

  status(status: string): Promise<void> {
    return this.#send([`STATUS=${status}`]);
  }

  /**
   * Starts the watchdog: pings at half its period from a timer, so a blocked event loop misses
   * its pings and systemd restarts the agent. (READY=1 is readiness.ts's to send.)
   */
  start(): void {
    const interval = this.#watchdogIntervalMs;
    if (interval === undefined || !this.enabled || this.#watchdogTimer) return;
    this.#watchdogTimer = setInterval(() => {
      if (this.#watchdogInFlight) return; // a previous ping is still waiting on its barrier
      this.#watchdogInFlight = true;
      void this.#send(["WATCHDOG=1"]).finally(() => {
        this.#watchdogInFlight = false;
      });
    }, interval);
  }

  /** Stops the watchdog and tells systemd the agent is shutting down. */
  stop(): Promise<void> {
    clearInterval(this.#watchdogTimer);
    this.#watchdogTimer = undefined;
    return this.#send(["STOPPING=1", "STATUS=shutting down"]);
  }

  #send(assignments: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return new Promise((resolve) => {
      execFile("systemd-notify", assignments, { env: this.#env, timeout: 10_000 }, (error, _stdout, stderr) => {
        if (error) this.#log.warn({ assignments, err: messageOf(error), stderr: stderr.trim() }, "sd_notify failed");
        resolve();
      });
    });
  }
}

/** Half of WATCHDOG_USEC, if the watchdog is meant for this process (sd_watchdog_enabled(3)). */
export function watchdogIntervalMs(env: Record<string, string | undefined>, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}
