/**
 * A simulated fleet: `size` agent cores spread over `workers` processes (fleetWorker.ts), each
 * core the real composition root with a simulated oximeter on the network. Used by
 * bench/fleet.ts (2,050 boxes) and the broker-restart storm test.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FleetWorkerMessage, FleetWorkerSettings } from "./fleetWorker.ts";

export interface FleetOptions {
  brokerUrl: string;
  size: number;
  workers: number;
  workDir: string;
  readingIntervalSec: number;
}

export interface Fleet {
  readonly processes: readonly ChildProcess[];
  /** Faults the cores reported (unhandled rejections, restart requests): none is expected. */
  readonly faults: string[];
  stop(): Promise<void>;
}

export const fleetDeviceId = (index: number) => `fleet-${String(index).padStart(5, "0")}`;

const WORKER = fileURLToPath(new URL("./fleetWorker.ts", import.meta.url));

/** Resolves once every core has started (not yet connected: watch their status for that). */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const processes: ChildProcess[] = [];
  const faults: string[] = [];
  const started: Promise<void>[] = [];
  for (let w = 0; w < options.workers; w++) {
    const firstIndex = Math.floor((w * options.size) / options.workers);
    const count = Math.floor(((w + 1) * options.size) / options.workers) - firstIndex;
    const settings: FleetWorkerSettings = { brokerUrl: options.brokerUrl, firstIndex, count, workDir: options.workDir, readingIntervalSec: options.readingIntervalSec };
    const child = fork(WORKER, [], {
      execArgv: ["--max-old-space-size=4096"],
      env: { ...process.env, THEA_FLEET_WORKER: JSON.stringify(settings) },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    processes.push(child);
    child.on("message", (message: FleetWorkerMessage) => message.type === "fault" && faults.push(message.message));
    started.push(
      new Promise((resolve, reject) => {
        child.on("message", (message: FleetWorkerMessage) => message.type === "ready" && resolve());
        child.once("exit", (code) => reject(new Error(`fleet worker ${w} exited (${code}) before it was ready`)));
      }),
    );
  }
  const fleet: Fleet = {
    processes,
    faults,
    stop: async () => {
      await Promise.all(
        processes.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.send("stop");
            }),
        ),
      );
    },
  };
  await Promise.all(started).catch(async (error: unknown) => {
    for (const child of processes) child.kill("SIGKILL");
    throw error;
  });
  return fleet;
}
