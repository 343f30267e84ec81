/**
 * A stand-in for systemd's notification socket: a unix datagram socket (Node cannot open one,
 * so python3 does) that prints each message as a JSON string per line. Like systemd, it reads
 * without taking the file descriptors systemd-notify passes for its barrier, so the kernel
 * closes them and systemd-notify's barrier completes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LineLog } from "./wait.ts";

const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("LISTENING"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

export class NotifySocket {
  readonly path: string;
  readonly messages = new LineLog();
  readonly #child: ChildProcess;

  private constructor(socketPath: string, child: ChildProcess) {
    this.path = socketPath;
    this.#child = child;
    child.stdout?.on("data", (chunk: Buffer) => this.messages.push(chunk));
  }

  static async open(): Promise<NotifySocket> {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-notify-"));
    const socketPath = path.join(dir, "notify.sock");
    const child = spawn("python3", ["-c", LISTENER, socketPath], { stdio: ["ignore", "pipe", "inherit"] });
    const socket = new NotifySocket(socketPath, child);
    await socket.messages.waitForLine("notify socket to listen", (line) => line.includes("LISTENING"), 10_000);
    return socket;
  }

  /** Resolves with the first datagram (decoded) containing `assignment`, e.g. "READY=1". */
  async waitFor(assignment: string, timeoutMs = 15_000): Promise<string> {
    const line = await this.messages.waitForLine(`sd_notify ${assignment}`, (text) => (JSON.parse(text) as string).split("\n").includes(assignment), timeoutMs);
    return JSON.parse(line) as string;
  }

  close(): void {
    this.#child.kill("SIGKILL");
  }
}
