/** A device simulator (`thea simulate`) writing to one end of a pty pair, as in the demo. */
import { spawn, type ChildProcess } from "node:child_process";
import { THEA_BIN } from "./agentProcess.ts";
import { LineLog, terminate } from "./wait.ts";

export class SimulatorProcess {
  readonly #child: ChildProcess;
  readonly stderr = new LineLog();

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.on("data", (chunk: Buffer) => this.stderr.push(chunk));
  }

  /** `where` is a serial path, or transport arguments such as ["--tcp-listen", "127.0.0.1:2575"]. */
  static async start(driver: string, where: string | string[], scenario = "normal", extraArgs: string[] = []): Promise<SimulatorProcess> {
    const transport = typeof where === "string" ? ["--port", where] : where;
    const child = spawn(THEA_BIN, ["simulate", driver, ...transport, "--scenario", scenario, ...extraArgs], { stdio: ["ignore", "ignore", "pipe"] });
    const simulator = new SimulatorProcess(child);
    // A serial or dialling simulator is ready once connected; a listening one once it runs.
    const ready = (line: string) => line.startsWith("connected") || (where.includes("--tcp-listen") && line.startsWith("simulating"));
    await simulator.stderr.waitForLine("the simulator to start", ready, 15_000);
    return simulator;
  }

  /** The device is switched off with its cable still in: it stops sending, its port stays open. */
  switchOff(): void {
    this.#child.kill("SIGSTOP");
  }

  switchOn(): void {
    this.#child.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    this.switchOn(); // a stopped process would not act on the TERM
    await terminate(this.#child, "the simulator");
  }
}
