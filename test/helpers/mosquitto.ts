/**
 * A real mosquitto broker on a free loopback port, owned by one test file. Restartable on the
 * same port, so reconnection can be tested against the real thing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { freePort } from "./ports.ts";
import { LineLog, terminate } from "./wait.ts";

const BINARY = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((candidate) => existsSync(candidate)) ?? "mosquitto";

export class Mosquitto {
  readonly port: number;
  readonly #configPath: string;
  #process: ChildProcess | undefined;
  readonly log = new LineLog();

  private constructor(port: number, configPath: string) {
    this.port = port;
    this.#configPath = configPath;
  }

  static async start(extraConfig = ""): Promise<Mosquitto> {
    // set_tcp_nodelay as in docs/deploy/mosquitto.conf: without it each request waits ~40 ms on Nagle.
    return Mosquitto.startWith((port) => `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n${extraConfig}`);
  }

  /**
   * A broker with a whole configuration of the caller's, given the free port it must listen on.
   * It runs as whoever runs the tests: started as root, mosquitto would otherwise switch to its
   * own user, which cannot read the test's files (keys, password files) in private temp dirs.
   */
  static async startWith(configFor: (port: number) => string): Promise<Mosquitto> {
    const port = await freePort();
    const dir = await mkdtemp(path.join(tmpdir(), "thea-mosquitto-"));
    const configPath = path.join(dir, "mosquitto.conf");
    await writeFile(configPath, `${configFor(port)}\nuser ${userInfo().username}\n`);
    const broker = new Mosquitto(port, configPath);
    await broker.resume();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Starts the broker (again) on its port and resolves once it accepts connections. */
  async resume(): Promise<void> {
    const from = this.log.lines.length;
    const child = spawn(BINARY, ["-c", this.#configPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.#process = child;
    child.stdout?.on("data", (chunk: Buffer) => this.log.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.log.push(chunk));
    const running = this.log.waitForLine("mosquitto running", (line) => line.includes(" running"), 10_000, from);
    const exited = new Promise<never>((_, reject) => {
      child.once("exit", (code) => reject(new Error(`mosquitto exited (${code}):\n${this.log.text}`)));
    });
    exited.catch(() => undefined); // after a successful start, a later exit is pause()'s business
    await Promise.race([running, exited]);
  }

  /** Stops the broker and waits for the process to be gone. */
  async pause(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child) await terminate(child, "mosquitto");
  }

  async stop(): Promise<void> {
    await this.pause();
  }
}
