/**
 * A private D-Bus message bus (the real dbus-daemon) on a socket in a temp directory, with a
 * configuration of its own that lets its one user own any name: a stand-in for the system bus,
 * so a test's org.bluez never meets the machine's. Point a process at it with
 * DBUS_SYSTEM_BUS_ADDRESS=<address>.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LineLog, terminate } from "./wait.ts";

const config = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>thea-test</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

export class DbusDaemon {
  readonly address: string;
  readonly log = new LineLog();
  readonly #child: ChildProcess;

  private constructor(address: string, child: ChildProcess) {
    this.address = address;
    this.#child = child;
    child.stderr?.on("data", (chunk: Buffer) => this.log.push(chunk));
  }

  static async start(): Promise<DbusDaemon> {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-dbus-"));
    const configPath = path.join(dir, "bus.conf");
    await writeFile(configPath, config(path.join(dir, "bus.socket")));
    const child = spawn("dbus-daemon", [`--config-file=${configPath}`, "--nofork", "--nopidfile", "--print-address=1"], { stdio: ["ignore", "pipe", "pipe"] });
    const stdout = new LineLog();
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    const exited = new Promise<never>((_resolve, reject) => child.once("exit", (code) => reject(new Error(`dbus-daemon exited (${code}) before it listened`))));
    // Only the race's loser once the daemon listens; its exit later is stop()'s business.
    exited.catch(() => undefined);
    const address = await Promise.race([stdout.waitForLine("dbus-daemon's address", (line) => line.startsWith("unix:"), 10_000), exited]);
    return new DbusDaemon(address.trim(), child);
  }

  async stop(): Promise<void> {
    await terminate(this.#child, "dbus-daemon");
  }
}
