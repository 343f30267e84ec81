/**
 * The composition root: builds every service of one agent run, starts them in order and stops
 * them in reverse. Constructors only assign; all work happens in start()/stop().
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { DestinationStream } from "pino";
import { builtinCommands } from "./telemetry/commands.ts";
import { CommandRouter, newCommandCounters } from "./commands/router.ts";
import type { AgentContext, HostProbe } from "./core/context.ts";
import { peripheralCommands } from "./devices/commands.ts";
import { PeripheralManager } from "./devices/manager.ts";
import { mediaCommands } from "./media/commands.ts";
import { MediaService } from "./media/service.ts";
import { Outbox } from "./outbox/outbox.ts";
import { OutboxSender } from "./outbox/sender.ts";
import { messageOf } from "./core/errors.ts";
import { EventLog } from "./outbox/events.ts";
import { managementCommands } from "./management/commands.ts";
import { DiagnosticsBundles } from "./management/diagnostics.ts";
import { RebootGuard, rebootSystem } from "./management/reboot.ts";
import { createLogger, LogLevels, redactSecrets, type Logger } from "../lib/log.ts";
import { LogRing } from "../lib/logRing.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { ConfigService } from "./remoteConfig/service.ts";
import { UpdateService } from "./update/service.ts";
import type { StartupConfig } from "./config/startup.ts";
import { BrokerConnection, newConnectionCounters } from "./mqtt/connection.ts";
import { deviceTopics } from "./core/topics.ts";
import { SystemdNotifier } from "./systemd/notify.ts";
import { HealthCollector } from "./telemetry/health.ts";
import { TelemetryReporter } from "./telemetry/reporter.ts";
import { offlineStatus } from "./telemetry/status.ts";
import { SummaryService } from "./telemetry/summaryPublisher.ts";
import { agentVersion } from "./core/version.ts";

/** What the agent needs besides its context to take configuration from afar. */
export interface RemoteConfigSetup {
  startup: Pick<StartupConfig, "store" | "state" | "localRaw" | "local">;
  /** Makes `config` the context's config (what every service reads from then on). */
  replaceConfig(config: ResolvedConfig, hash: string): void;
  logLevels: LogLevels;
}

/** What one run of the agent supplies besides its start-up configuration. */
export interface AgentRun {
  env: AgentContext["env"];
  clockSynchronized: AgentContext["clockSynchronized"];
  lifecycle: AgentContext["lifecycle"];
  host?: HostProbe;
  /** Where log lines go: stdout (journald) when omitted. */
  logDestination?: DestinationStream;
  /** Fields on every log line (the fleet simulator's deviceId). */
  logBindings?: Record<string, string>;
}

/**
 * An agent on a loaded start-up configuration, with its logger, its ring of recent log lines and
 * a context whose config a live remote change replaces: `thea run` and the fleet simulator build
 * it the same way.
 */
export function agentFromStartup(startup: StartupConfig, run: AgentRun): { agent: Agent; log: Logger } {
  let current = { config: startup.config, hash: startup.hash };
  const recentLogs = new LogRing();
  const logLevels = new LogLevels();
  const root = createLogger({ level: startup.config.log.level, keep: recentLogs, levels: logLevels, ...(run.logDestination && { destination: run.logDestination }) });
  const log = run.logBindings ? root.child(run.logBindings) : root;
  const agent = new Agent(
    {
      // Getters: a live remote config change replaces what every service reads.
      get config() {
        return current.config;
      },
      get configHash() {
        return current.hash;
      },
      log,
      version: agentVersion(),
      bootId: randomUUID(),
      startedAt: new Date(),
      env: run.env,
      clockSynchronized: run.clockSynchronized,
      ...(run.host && { host: run.host }),
      recentLogs,
      lifecycle: run.lifecycle,
    },
    { startup, logLevels, replaceConfig: (config, hash) => (current = { config, hash }) },
  );
  return { agent, log };
}

export class Agent {
  readonly #ctx: AgentContext;
  readonly #log: Logger;
  readonly #topics;
  readonly #notifier: SystemdNotifier;
  readonly #broker: BrokerConnection;
  readonly #health: HealthCollector;
  readonly #reporter: TelemetryReporter;
  readonly #summary: SummaryService;
  readonly #router: CommandRouter;
  readonly #outbox: Outbox;
  readonly #sender: OutboxSender;
  readonly #peripherals: PeripheralManager;
  readonly #media: MediaService;
  readonly #events: EventLog;
  readonly #config: ConfigService;
  readonly #update: UpdateService;
  readonly #pendingDrops: Record<string, number> = {};
  #dropTimer: NodeJS.Timeout | undefined;
  #readyTimer: NodeJS.Timeout | undefined;
  #ready = false;

  constructor(ctx: AgentContext, remote: RemoteConfigSetup) {
    this.#ctx = ctx;
    this.#log = ctx.log.child({ ns: "agent" });
    this.#topics = deviceTopics(ctx.config.deviceId);
    this.#notifier = new SystemdNotifier({ env: ctx.env, log: ctx.log });
    const connectionCounters = newConnectionCounters();
    const commandCounters = newCommandCounters();
    this.#broker = new BrokerConnection({
      mqtt: ctx.config.mqtt,
      will: { topic: this.#topics.status, payload: JSON.stringify(offlineStatus(ctx, "connection-lost")) },
      log: ctx.log,
      counters: connectionCounters,
    });
    const { outbox } = ctx.config;
    this.#outbox = new Outbox({
      dataDir: ctx.config.dataDir,
      settings: { maxMessages: outbox.maxMessages, maxBytes: outbox.maxMegabytes * 1024 * 1024, maxAgeSec: outbox.maxAgeHours * 3600 },
      log: ctx.log,
    });
    this.#sender = new OutboxSender({
      outbox: this.#outbox,
      broker: this.#broker,
      settings: { replayRatePerSec: outbox.replayRatePerSec, inFlight: outbox.inFlight },
      log: ctx.log,
    });
    this.#health = new HealthCollector({
      dataDir: ctx.config.dataDir,
      startedAt: ctx.startedAt,
      clockSynchronized: ctx.clockSynchronized,
      counters: () => ({ ...connectionCounters, ...commandCounters }),
      outbox: () => ({ ...this.#outbox.stats(), inFlight: this.#sender.inFlight, replayRatePerSec: this.#sender.takeReplayRate() }),
      ...(ctx.host && { host: ctx.host }),
    });
    this.#events = new EventLog({ outbox: this.#outbox, topic: this.#topics.event });
    this.#peripherals = new PeripheralManager({ ctx, broker: this.#broker, topics: this.#topics, outbox: this.#outbox, events: this.#events, onChange: () => this.#summary.refresh() });
    this.#media = new MediaService({ ctx, broker: this.#broker, topics: this.#topics, events: this.#events });
    this.#reporter = new TelemetryReporter({ ctx, broker: this.#broker, topics: this.#topics, health: this.#health, outbox: this.#outbox, events: this.#events, onHealth: (report) => this.#summary.noteHealth(report) });
    this.#config = new ConfigService({
      ctx,
      broker: this.#broker,
      topics: this.#topics,
      ...remote.startup,
      consultations: this.#media.consultations,
      applyLive: async (config, hash, changed) => {
        // Cameras first: a watched camera refuses, and then nothing else has been changed yet.
        if (changed.includes("cameras")) await this.#media.reconfigureCameras(config.cameras);
        remote.replaceConfig(config, hash);
        if (changed.includes("log")) remote.logLevels.set(config.log.level);
        if (changed.includes("telemetry")) this.#reporter.reconfigure();
        if (changed.includes("telemetry")) this.#summary.reconfigure();
        if (changed.includes("peripherals")) await this.#peripherals.reconfigure(config.peripherals);
      },
    });
    const outboxStats = () => this.#outbox.stats();
    this.#summary = new SummaryService({ ctx, broker: this.#broker, topics: this.#topics, config: this.#config, peripherals: this.#peripherals, consultations: this.#media.consultations, outbox: outboxStats });
    this.#update = new UpdateService({
      ctx,
      broker: this.#broker,
      topics: this.#topics,
      consultations: this.#media.consultations,
      healthCheck: async () => {
        await this.#health.collect();
      },
    });
    this.#router = new CommandRouter({
      broker: this.#broker,
      topics: this.#topics,
      commands: [
        ...builtinCommands(ctx, this.#health),
        ...peripheralCommands(this.#peripherals),
        ...mediaCommands(this.#media),
        ...this.#config.commands(),
        ...managementCommands({
          ctx,
          reboot: new RebootGuard({ dataDir: ctx.config.dataDir, minIntervalMs: ctx.config.management.rebootMinIntervalMin * 60_000 }),
          bundles: new DiagnosticsBundles(),
          liveSessions: this.#media.consultations.live,
          snapshot: async () => ({
            config: redactSecrets(ctx.config),
            health: await this.#health.collect(),
            peripherals: this.#peripherals.list(),
            media: this.#media.sessions(),
          }),
          rebootSystem,
          rebootFailed: (reason) => {
            this.#log.error({ reason }, "remote reboot failed");
            this.#events.record("system.reboot-failed", { reason });
          },
        }),
      ],
      log: ctx.log,
      counters: commandCounters,
      maxPayloadBytes: ctx.config.mqtt.maxPayloadBytes,
      dataDir: ctx.config.dataDir,
    });
  }

  async start(): Promise<void> {
    const { config } = this.#ctx;
    this.#log.info({ deviceId: config.deviceId, version: this.#ctx.version, bootId: this.#ctx.bootId }, "starting");
    await mkdir(config.dataDir, { recursive: true }).catch((error: unknown) => {
      // Health reports the data dir's state; the agent still serves commands and telemetry.
      this.#log.error({ dataDir: config.dataDir, err: messageOf(error) }, "cannot create the data directory");
    });
    this.#outbox.on("degraded", (reason) => this.#events.record("outbox.degraded", { reason }));
    this.#outbox.on("dropped", (counts) => this.#noteDrops(counts));
    this.#outbox.open();
    this.#sender.start();
    this.#health.start();
    this.#reporter.start();
    this.#peripherals.start();
    this.#media.start();
    this.#config.start();
    this.#summary.start();
    await this.#update.start().catch((error: unknown) => this.#log.error({ err: messageOf(error) }, "update service did not start"));
    this.#router.start();
    this.#broker.on("connected", () => void this.#becomeReady("online: connected to the broker"));
    this.#broker.on("disconnected", () => void this.#notifier.status("degraded: broker unreachable, retrying"));
    // Tell systemd we are up even if the broker is unreachable: the agent is working (it will
    // keep retrying and, later, storing readings); failing the start would only restart-loop it.
    this.#readyTimer = setTimeout(
      () => void this.#becomeReady("degraded: broker unreachable, retrying"),
      config.mqtt.connectTimeoutSec * 1000,
    );
    this.#notifier.startWatchdog();
    this.#broker.start();
  }

  /** Stops in reverse order of start; publishes the shutdown status while still connected. */
  async stop(): Promise<void> {
    this.#log.info("stopping");
    clearTimeout(this.#readyTimer);
    clearTimeout(this.#dropTimer);
    await this.#notifier.stopping();
    await this.#router.stop();
    await this.#config.stop();
    await this.#update.stop();
    this.#reporter.stop();
    this.#summary.stop();
    await this.#media.stop();
    await this.#peripherals.stop();
    const goodbye = { topic: this.#topics.status, payload: JSON.stringify(offlineStatus(this.#ctx, "shutdown")) };
    this.#sender.stop();
    await this.#broker.stop(goodbye);
    this.#outbox.close();
    this.#health.stop();
    this.#log.info("stopped");
  }

  /**
   * Drops become one `outbox.dropped` event a minute at most. Dropped events themselves are not
   * reported with another event: in a full outbox that would only make more drops.
   */
  #noteDrops(counts: Partial<Record<string, number>>): void {
    for (const [priority, count] of Object.entries(counts)) {
      if (priority !== "event" && count) this.#pendingDrops[priority] = (this.#pendingDrops[priority] ?? 0) + count;
    }
    if (this.#dropTimer || Object.keys(this.#pendingDrops).length === 0) return;
    this.#dropTimer = setTimeout(() => {
      this.#dropTimer = undefined;
      const dropped = { ...this.#pendingDrops };
      for (const key of Object.keys(this.#pendingDrops)) delete this.#pendingDrops[key];
      this.#events.record("outbox.dropped", { dropped, totals: this.#outbox.stats().dropped });
    }, 60_000);
  }

  async #becomeReady(status: string): Promise<void> {
    if (this.#ready) {
      await this.#notifier.status(status);
      return;
    }
    this.#ready = true;
    clearTimeout(this.#readyTimer);
    await this.#notifier.ready(status);
  }
}
