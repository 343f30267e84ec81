/**
 * The agent as users run it: a real `thea run` process (Node 24 running agent/main.ts) with a
 * config file and environment overrides, its JSON log lines collected for waiting on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LineLog, terminate, within } from "./wait.ts";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const THEA_BIN = path.join(PROJECT_ROOT, "bin", "thea");

export interface AgentProcessOptions {
  brokerUrl: string;
  /** Extra YAML appended to the test config (top-level keys other than mqtt and telemetry). */
  extraYaml?: string;
  mqttYaml?: string;
  env?: Record<string, string>;
  healthIntervalSec?: number;
  /** Reuse a data directory (and device id) to restart "the same box". */
  dataDir?: string;
  deviceId?: string;
  /**
   * Run the agent with its data directory on a tiny tmpfs (in a private mount namespace made with
   * unshare, so nothing is left behind) that only has this many KiB free: a disk about to fill.
   */
  nearlyFullDiskKb?: number;
  /** What to run instead of bin/thea (with the same arguments): an installed box's launcher. */
  command?: string;
}

export class AgentProcess {
  readonly deviceId: string;
  readonly dataDir: string;
  readonly stdout = new LineLog();
  readonly stderr = new LineLog();
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(deviceId: string, dataDir: string, child: ChildProcess) {
    this.deviceId = deviceId;
    this.dataDir = dataDir;
    this.#child = child;
    child.stdout?.on("data", (chunk: Buffer) => this.stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  static async start(options: AgentProcessOptions): Promise<AgentProcess> {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-agent-"));
    const deviceId = options.deviceId ?? `test-${randomBytes(4).toString("hex")}`;
    const dataDir = options.dataDir ?? path.join(dir, "data");
    const configPath = path.join(dir, "thea.yaml");
    await writeFile(
      configPath,
      [
        "mqtt:",
        "  reconnect: { initialDelaySec: 0.1, maxDelaySec: 0.5, stableAfterSec: 1 }",
        "  connectTimeoutSec: 2",
        ...(options.mqttYaml ?? "").split("\n").filter(Boolean).map((line) => `  ${line}`),
        "telemetry:",
        `  healthIntervalSec: ${options.healthIntervalSec ?? 60}`,
        options.extraYaml ?? "",
      ].join("\n"),
    );
    const [command, args] =
      options.nearlyFullDiskKb === undefined
        ? [options.command ?? THEA_BIN, ["run", "--config", configPath]]
        : [
            "unshare",
            [
              "--user", "--map-root-user", "--mount", "sh", "-c",
              `mkdir -p '${dataDir}' && mount -t tmpfs -o size=256k tmpfs '${dataDir}' && ` +
                `dd if=/dev/zero of='${dataDir}/filler' bs=1k count=${256 - options.nearlyFullDiskKb} 2>/dev/null; ` +
                `exec '${THEA_BIN}' run --config '${configPath}'`,
            ],
          ];
    const child = spawn(command, args, {
      env: {
        ...process.env,
        THEA_MQTT_URL: options.brokerUrl,
        THEA_DEVICE_ID: deviceId,
        THEA_DATA_DIR: dataDir,
        THEA_LOG_LEVEL: "debug",
        NOTIFY_SOCKET: "",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new AgentProcess(deviceId, dataDir, child);
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error("agent did not start");
    return this.#child.pid;
  }

  /** Resolves once the agent logs a line containing `text` (its logs are JSON, one per line). */
  waitForLog(text: string, timeoutMs = 15_000): Promise<string> {
    return this.stdout.waitForLine(`agent log "${text}"`, (line) => line.includes(text), timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async stop(): Promise<void> {
    await terminate(this.#child, "the agent", "SIGKILL");
  }

  /** Waits for the exit, failing after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return within(this.exited, timeoutMs, "agent to exit");
  }
}
