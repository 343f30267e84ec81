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

  static async start(driver: string, port: string, scenario = "normal"): Promise<SimulatorProcess> {
    const child = spawn(THEA_BIN, ["simulate", driver, "--port", port, "--scenario", scenario], { stdio: ["ignore", "ignore", "pipe"] });
    const simulator = new SimulatorProcess(child);
    await simulator.stderr.waitForLine("the simulator to start", (line) => line.startsWith("simulating"), 15_000);
    return simulator;
  }

  async stop(): Promise<void> {
    await terminate(this.#child, "the simulator");
  }
}
