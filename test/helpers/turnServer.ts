/**
 * A real TURN server (coturn's turnserver) on a free loopback port, relaying on 127.0.0.1, with
 * one long-term-credential user: the relay a clinic behind a strict NAT would need.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports.ts";
import { LineLog, terminate } from "./wait.ts";

export class TurnServer {
  readonly port: number;
  readonly username = "clinic";
  readonly credential = "s3cret-turn";
  readonly log = new LineLog();
  #process: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  /** PEM of the throwaway CA that signed the TLS certificate (made per start, never kept). */
  caPath: string | undefined;
  tlsPort: number | undefined;

  static async start(options: { tls?: boolean } = {}): Promise<TurnServer> {
    const server = new TurnServer(await freePort());
    const state = await mkdtemp(path.join(tmpdir(), "thea-turn-"));
    const tlsArgs: string[] = [];
    if (options.tls) {
      // A self-signed certificate for 127.0.0.1, made for this run only.
      const cert = path.join(state, "cert.pem");
      const key = path.join(state, "key.pem");
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
      ], { stdio: "ignore" });
      server.caPath = cert;
      server.tlsPort = await freePort();
      tlsArgs.push(`--cert=${cert}`, `--pkey=${key}`, `--tls-listening-port=${server.tlsPort}`);
    }
    const child = spawn(
      "turnserver",
      [
        "-n", // no config file
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        `--listening-port=${server.port}`,
        "--lt-cred-mech",
        `--user=${server.username}:${server.credential}`,
        "--realm=thea.test",
        ...(options.tls ? tlsArgs : ["--no-tls"]),
        "--no-dtls",
        "--allow-loopback-peers", // both ends live on this machine
        "--no-cli",
        "--fingerprint",
        `--userdb=${path.join(state, "turndb")}`,
        "--log-file=stdout",
        "--simple-log",
        "--verbose", // logs each allocation, which the tests count
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    server.#process = child;
    child.stdout?.on("data", (chunk: Buffer) => server.log.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => server.log.push(chunk));
    await server.log.waitForLine("turnserver ready", (line) => line.includes("Total General servers"), 10_000);
    return server;
  }

  url(transport: "udp" | "tcp" | "tls"): string {
    if (transport === "tls") return `turns:127.0.0.1:${this.tlsPort ?? 0}?transport=tcp`;
    return `turn:127.0.0.1:${this.port}?transport=${transport}`;
  }

  /** How many relay allocations the server has granted so far. */
  get allocations(): number {
    return this.log.lines.filter((line) => /ALLOCATE processed, success/.test(line)).length;
  }

  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child) await terminate(child, "turnserver");
  }
}
