/**
 * What the benchmarks run: a mosquitto on loopback, simulated devices on socat pty pairs, and the
 * agent as a real process. Small on purpose; benchmarks print figures and assert nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const THEA = fileURLToPath(new URL("../../bin/thea", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function waitForText(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (chunk: Buffer) => chunk.toString().includes(text) && resolve();
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
  });
}

export class Broker {
  readonly port: number;
  readonly #conf: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, conf: string) {
    this.port = port;
    this.#conf = conf;
  }

  static async start(): Promise<Broker> {
    const port = await freePort();
    const conf = path.join(await mkdtemp(path.join(tmpdir(), "thea-bench-")), "m.conf");
    await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
    const broker = new Broker(port, conf);
    await broker.resume();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.#process = spawn("/usr/sbin/mosquitto", ["-c", this.#conf], { stdio: ["ignore", "ignore", "pipe"] });
    await waitForText(this.#process, " running");
  }

  async pause(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await gone;
  }
}

/** A device simulator on the far end of a fresh pty pair; returns the agent's end. */
export async function simulatedDevice(dir: string, name: string, driver: string, speed = 1): Promise<{ port: string; stop: () => void }> {
  const agentEnd = path.join(dir, `${name}-agent`);
  const deviceEnd = path.join(dir, `${name}-device`);
  const socat = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${agentEnd}`, `pty,raw,echo=0,link=${deviceEnd}`], { stdio: ["ignore", "ignore", "pipe"] });
  await waitForText(socat, "starting data transfer loop");
  const simulator = spawn(THEA, ["simulate", driver, "--port", deviceEnd, "--speed", String(speed)], { stdio: ["ignore", "ignore", "pipe"] });
  await waitForText(simulator, "connected");
  return {
    port: agentEnd,
    stop: () => {
      simulator.kill("SIGTERM");
      socat.kill("SIGTERM");
    },
  };
}

export async function startAgent(options: { brokerUrl: string; dataDir: string; deviceId: string; configYaml: string }): Promise<ChildProcess> {
  const config = path.join(options.dataDir, "..", `${options.deviceId}.yaml`);
  await writeFile(config, options.configYaml);
  const agent = spawn(THEA, ["run", "--config", config], {
    env: { ...process.env, THEA_MQTT_URL: options.brokerUrl, THEA_DATA_DIR: options.dataDir, THEA_DEVICE_ID: options.deviceId, THEA_LOG_LEVEL: "warn", NOTIFY_SOCKET: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return agent;
}

/** The node process under bin/thea (bash execs it, so the pid is the same). */
export async function processFigures(pid: number): Promise<{ rssMb: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rssMb: Math.round((rssKb / 1024) * 10) / 10, fds };
}
