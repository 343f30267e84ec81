/**
 * A pseudo-terminal pair made by socat: the agent opens one end as its serial port, a device
 * simulator writes to the other. Closing the pair is what pulling the USB cable looks like to the
 * agent (its port closes and the path disappears); opening it again is plugging it back in.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { LineLog, terminate } from "./wait.ts";

export class PtyPair {
  readonly agentEnd: string;
  readonly deviceEnd: string;
  #socat: ChildProcess | undefined;

  constructor(dir: string, name: string) {
    this.agentEnd = path.join(dir, `${name}-agent`);
    this.deviceEnd = path.join(dir, `${name}-device`);
  }

  /** Creates both ends; resolves once socat reports both pseudo-terminals ready. */
  async open(): Promise<void> {
    const log = new LineLog();
    const socat = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${this.agentEnd}`, `pty,raw,echo=0,link=${this.deviceEnd}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#socat = socat;
    socat.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
    // socat -d -d logs "starting data transfer loop" once both ends exist.
    await log.waitForLine("socat to open the pty pair", (line) => line.includes("starting data transfer loop"), 10_000);
  }

  /** Removes both ends, as an unplugged cable; resolves once socat has exited. */
  async close(): Promise<void> {
    const socat = this.#socat;
    this.#socat = undefined;
    if (socat) await terminate(socat, "socat");
  }
}
