/**
 * One process of a simulated fleet (fleet.ts): `count` agent cores — the real composition root
 * (broker connection, health, telemetry, outbox, config and update services, command router)
 * without cameras — each with a simulated Masimo oximeter on the network (a TCP connection to
 * this process's simulator server, read by the real masimo-ascii driver). Started with fork();
 * talks to the parent over IPC: "ready" once every core has started, "stopped" on "stop".
 */
import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { pino } from "pino";
import { agentFromStartup, type Agent } from "../../agent/agent.ts";
import { loadStartupConfig } from "../../agent/config/startup.ts";
import { cached } from "../../agent/telemetry/cached.ts";
import { readClockSynchronized } from "../../agent/telemetry/clock.ts";
import { systemHostProbe } from "../../agent/telemetry/health.ts";
import { masimoLine } from "../../drivers/masimo-ascii/simulator.ts";
import { fleetDeviceId } from "./fleet.ts";

export interface FleetWorkerSettings {
  brokerUrl: string;
  firstIndex: number;
  count: number;
  workDir: string;
  /** How often each simulated oximeter prints a line (a reading). */
  readingIntervalSec: number;
}

export type FleetWorkerMessage = { type: "ready"; started: number } | { type: "stopped" } | { type: "fault"; message: string };

const send = (message: FleetWorkerMessage) => process.send?.(message);

/** The simulated oximeters: every connection gets a line now and then, like a Rad-8 on a serial server. */
function startOximeters(intervalMs: number): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let tick = 0;
    const timer = setInterval(() => socket.write(masimoLine(tick++, "normal")), intervalMs);
    socket.on("error", () => undefined); // the agent side closing is what ends it
    socket.on("close", () => {
      clearInterval(timer);
      sockets.delete(socket);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : 0,
        close: () => {
          for (const socket of sockets) socket.destroy();
          server.close();
        },
      });
    });
  });
}

async function main(settings: FleetWorkerSettings): Promise<void> {
  process.on("unhandledRejection", (error) => send({ type: "fault", message: `unhandled rejection: ${String(error)}` }));
  process.on("uncaughtException", (error) => send({ type: "fault", message: `uncaught exception: ${error.stack ?? error.message}` }));
  const oximeters = await startOximeters(settings.readingIntervalSec * 1000);
  await mkdir(settings.workDir, { recursive: true });
  // Defaults everywhere (the figures are "at default settings"), except where a box would have
  // its own machine: its data directory and install root.
  const configPath = path.join(settings.workDir, `worker-${settings.firstIndex}.yaml`);
  await writeFile(
    configPath,
    [
      "log: { level: warn }",
      `update: { installRoot: '${path.join(settings.workDir, "opt")}' }`,
      "peripherals:",
      `  - { id: oximeter, driver: masimo-ascii, tcp: { connect: '127.0.0.1:${oximeters.port}' } }`,
    ].join("\n"),
  );
  // One log file for the whole worker (a pino destination per core would be hundreds of streams).
  const destination = pino.destination({ dest: path.join(settings.workDir, `worker-${settings.firstIndex}.log`), sync: false });
  const clockSynchronized = cached(() => readClockSynchronized(), 60_000);
  // One machine, one probe: each real box gathers these for itself; here hundreds of cores share a host.
  const host = systemHostProbe(10_000);
  const agents: Agent[] = [];
  for (let index = settings.firstIndex; index < settings.firstIndex + settings.count; index++) {
    const deviceId = fleetDeviceId(index);
    const env = { THEA_MQTT_URL: settings.brokerUrl, THEA_DEVICE_ID: deviceId, THEA_DATA_DIR: path.join(settings.workDir, deviceId) };
    const loaded = await loadStartupConfig({ path: configPath, env });
    if (!loaded.ok) throw new Error(`config of ${deviceId}: ${loaded.errors.join("; ")}`);
    const { agent } = agentFromStartup(loaded.startup, {
      env,
      clockSynchronized,
      host,
      lifecycle: { restart: (reason) => send({ type: "fault", message: `${deviceId} asked to restart: ${reason}` }) },
      logDestination: destination,
      logBindings: { deviceId },
    });
    await agent.start();
    agents.push(agent);
  }
  send({ type: "ready", started: agents.length });
  process.on("message", (message: unknown) => {
    if (message !== "stop") return;
    void Promise.allSettled(agents.map((agent) => agent.stop())).then(() => {
      oximeters.close();
      destination.flushSync();
      send({ type: "stopped" });
      process.exit(0);
    });
  });
}

const settings = JSON.parse(process.env.THEA_FLEET_WORKER ?? "null") as FleetWorkerSettings | null;
if (!settings) throw new Error("test/helpers/fleetWorker.ts is started by startFleet (test/helpers/fleet.ts)");
await main(settings);
