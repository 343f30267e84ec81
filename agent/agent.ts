/**
 * The composition root: builds every service of one agent run and holds them in one ordered
 * list; start() runs it in order, stop() in reverse, with the exceptions written beside the list.
 * Constructors only assign; all work happens in start()/stop(). Rules live in the services.
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { DestinationStream } from "pino";
import { builtinCommands } from "./telemetry/commands.ts";
import { CommandRouter, newCommandCounters } from "./commands/router.ts";
import type { AgentContext, HostProbe } from "./core/context.ts";
import { encodePayload } from "./core/api.ts";
import { startInOrder, stopInOrder, stopOrder, type Service } from "./core/service.ts";
import { peripheralCommands } from "./devices/commands.ts";
import { PeripheralManager } from "./devices/manager.ts";
import { mediaCommands } from "./media/commands.ts";
import { MediaService } from "./media/service.ts";
import { Outbox } from "./outbox/outbox.ts";
import { OutboxSender } from "./outbox/sender.ts";
import { DropReport } from "./outbox/dropReport.ts";
import { messageOf } from "./core/errors.ts";
import { EventLog } from "./outbox/events.ts";
import { managementCommands } from "./management/commands.ts";
import { DiagnosticsBundles } from "./management/diagnostics.ts";
import { RebootGuard, rebootSystem } from "./management/reboot.ts";
import { createLogger, LogLevels, redactSecrets, type Logger } from "../lib/log.ts";
import { LogRing } from "../lib/logRing.ts";
import type { ResolvedConfig } from "../config/schema.ts";
import { liveReconfiguration } from "./remoteConfig/applyLive.ts";
import { ConfigService } from "./remoteConfig/service.ts";
import { UpdateService } from "./update/service.ts";
import type { StartupConfig } from "./config/startup.ts";
import { BrokerConnection, newConnectionCounters } from "./mqtt/connection.ts";
import { TopicRouter } from "./mqtt/routes.ts";
import { deviceTopics } from "./core/topics.ts";
import { SystemdNotifier } from "./systemd/notify.ts";
import { Readiness } from "./systemd/readiness.ts";
import { HealthCollector } from "./telemetry/health.ts";
import { TelemetryReporter } from "./telemetry/reporter.ts";
import { AliveHeartbeat } from "./telemetry/alive.ts";
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
  /** In the order of start. */
  readonly #services: readonly Service[];
  readonly #stopOrder: readonly Service[];

  constructor(ctx: AgentContext, remote: RemoteConfigSetup) {
    this.#ctx = ctx;
    this.#log = ctx.log.child({ ns: "agent" });
    const topics = deviceTopics(ctx.config.deviceId);
    const { config } = ctx;
    const notifier = new SystemdNotifier({ env: ctx.env, log: ctx.log });
    const connectionCounters = newConnectionCounters();
    const commandCounters = newCommandCounters();
    const broker = new BrokerConnection({
      mqtt: config.mqtt,
      will: { topic: topics.status, payload: encodePayload(topics.status, offlineStatus(ctx, "connection-lost")) },
      goodbye: { topic: topics.status, payload: encodePayload(topics.status, offlineStatus(ctx, "shutdown")) },
      log: ctx.log,
      counters: connectionCounters,
    });
    const routes = new TopicRouter({ broker, log: ctx.log });
    const readiness = new Readiness({ broker, notifier, fallbackMs: config.mqtt.connectTimeoutSec * 1000 });
    const { maxMessages, maxMegabytes, maxAgeHours, replayRatePerSec, inFlight } = config.outbox;
    const outbox = new Outbox({ dataDir: config.dataDir, settings: { maxMessages, maxBytes: maxMegabytes * 1024 * 1024, maxAgeSec: maxAgeHours * 3600 }, log: ctx.log });
    const sender = new OutboxSender({ outbox, broker, settings: { replayRatePerSec, inFlight }, log: ctx.log });
    const health = new HealthCollector({
      dataDir: config.dataDir,
      startedAt: ctx.startedAt,
      clockSynchronized: ctx.clockSynchronized,
      counters: () => ({ ...connectionCounters, ...commandCounters }),
      outbox: () => ({ ...outbox.stats(), inFlight: sender.inFlight, replayRatePerSec: sender.takeReplayRate() }),
      ...(ctx.host && { host: ctx.host }),
    });
    const events = new EventLog({ outbox, topic: topics.event });
    const dropReport = new DropReport({ outbox, events });
    const peripherals = new PeripheralManager({ ctx, broker, topics, outbox, events, onChange: () => summary.refresh() });
    const media = new MediaService({ ctx, broker, routes, topics, events, collectGarbage: globalThis.gc });
    const reporter = new TelemetryReporter({ ctx, broker, topics, health, outbox, events, onHealth: (report) => summary.noteHealth(report) });
    const { replaceConfig, logLevels } = remote;
    const telemetry = [reporter, { reconfigure: (): void => summary.reconfigure() }];
    const applyLive = liveReconfiguration({ cameras: media, replaceConfig, logLevels, telemetry, peripherals });
    const configService: ConfigService = new ConfigService({ ctx, broker, routes, topics, ...remote.startup, consultations: media.consultations, applyLive });
    // Built after the config service, whose standing it shows; the services above reach it lazily.
    const summary: SummaryService = new SummaryService({ ctx, broker, topics, config: configService, peripherals, consultations: media.consultations, outbox: () => outbox.stats() });
    const update = new UpdateService({ ctx, broker, routes, topics, consultations: media.consultations, healthCheck: async () => void (await health.collect()) });
    const commands = new CommandRouter({
      broker, routes, topics, log: ctx.log, counters: commandCounters, maxPayloadBytes: config.mqtt.maxPayloadBytes, dataDir: config.dataDir,
      commands: [
        ...builtinCommands(ctx, health),
        ...peripheralCommands(peripherals),
        ...mediaCommands(media),
        ...configService.commands(),
        ...managementCommands({
          ctx,
          reboot: new RebootGuard({ dataDir: config.dataDir, minIntervalMs: config.management.rebootMinIntervalMin * 60_000 }),
          bundles: new DiagnosticsBundles(),
          liveSessions: media.consultations.live,
          snapshot: async () => ({ config: redactSecrets(ctx.config), health: await health.collect(), peripherals: peripherals.list(), media: media.sessions() }),
          rebootSystem,
          rebootFailed: (reason) => {
            this.#log.error({ reason }, "remote reboot failed");
            events.record("system.reboot-failed", { reason });
          },
        }),
      ],
    });
    // Start order: what others write to comes first (the outbox, with its drop report listening
    // before it opens), then the services, the command router once everything it calls is up,
    // readiness before the connection so its first `connected` is heard, the connection last.
    this.#services = [dropReport, outbox, routes, sender, health, reporter, new AliveHeartbeat({ ctx, broker, topics }), peripherals, media, configService, summary, update, commands, notifier, readiness, broker];
    // Stop: the reverse (readiness, then STOPPING=1 to systemd, then the command router takes no
    // more requests and lets those in flight answer, ...), with one exception:
    this.#stopOrder = stopOrder(this.#services, [
      {
        service: broker,
        after: sender,
        why: "the connection stays up while the services stop, for their last publishes (command answers, retained states) and for the goodbye status it publishes while still connected; it closes before the outbox so nothing more is handed to it",
      },
    ]);
  }

  async start(): Promise<void> {
    const { config } = this.#ctx;
    this.#log.info({ deviceId: config.deviceId, version: this.#ctx.version, bootId: this.#ctx.bootId }, "starting");
    await mkdir(config.dataDir, { recursive: true }).catch((error: unknown) => {
      // Health reports the data dir's state; the agent still serves commands and telemetry.
      this.#log.error({ dataDir: config.dataDir, err: messageOf(error) }, "cannot create the data directory");
    });
    await startInOrder(this.#services);
  }

  async stop(): Promise<void> {
    this.#log.info("stopping");
    await stopInOrder(this.#stopOrder);
    this.#log.info("stopped");
  }
}
