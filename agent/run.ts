/**
 * `thea run`: the long-lived agent process. Stops in order on SIGTERM/SIGINT (or agent.restart)
 * within a deadline and exits 0; any uncaught fault is logged and exits non-zero. systemd
 * (Restart=always) starts it again either way.
 */
import { loadStartupConfig } from "./config/startup.ts";
import { agentFromStartup } from "./agent.ts";
import { messageOf } from "./core/errors.ts";
import { redactSecrets } from "../lib/log.ts";
import { cached } from "./telemetry/cached.ts";
import { readClockSynchronized } from "./telemetry/clock.ts";

/** systemd's default TimeoutStopSec is 90 s; we promise 5 s, and keep a margin for exit. */
const STOP_DEADLINE_MS = 4500;

export async function runCommand(configPath: string | undefined, env: Record<string, string | undefined>): Promise<number> {
  const loaded = await loadStartupConfig({ path: configPath, env });
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stderr.write(`${error}\n`);
    process.stderr.write("thea: refusing to start with an invalid configuration\n");
    return 1;
  }
  const { startup } = loaded;
  let shutdown: (signal: string) => void = () => undefined;
  const { agent, log } = agentFromStartup(startup, {
    env,
    clockSynchronized: cached(() => readClockSynchronized(), 60_000),
    // Deferred a turn so the command asking for it has returned and its answer is in flight.
    lifecycle: { restart: (reason) => setImmediate(() => shutdown(reason)) },
  });

  const fail = (kind: string) => (error: unknown) => {
    log.fatal({ err: messageOf(error), stack: error instanceof Error ? error.stack : undefined }, kind);
    process.exit(70); // EX_SOFTWARE: systemd's Restart=always brings the agent back
  };
  process.on("uncaughtException", fail("uncaught exception"));
  process.on("unhandledRejection", fail("unhandled promise rejection"));

  let stopping = false;
  shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, "shutdown requested");
    const deadline = setTimeout(() => {
      log.warn({ deadlineMs: STOP_DEADLINE_MS }, "stop took too long; exiting anyway");
      process.exit(0);
    }, STOP_DEADLINE_MS);
    agent.stop().then(
      () => {
        clearTimeout(deadline);
        process.exit(0);
      },
      fail("stop failed"),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  log.info(
    { config: redactSecrets(startup.config), configHash: startup.hash, configPath, remoteVersion: startup.state.applied.version, remoteError: startup.state.lastError ?? undefined },
    "configuration loaded",
  );
  await agent.start();
  return await new Promise<never>(() => {
    // Runs until a signal or a fault ends the process.
  });
}
