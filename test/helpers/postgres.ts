/**
 * A real PostgreSQL (Debian's) owned by one test file, as mosquitto.ts is a real broker: `initdb`
 * into a temporary directory and `postgres` listening on a Unix socket in it only (no TCP port),
 * stopped and removed after.
 *
 * initdb and postgres refuse to run as root, and CI and the development machines run tests as
 * root: then both run as the `postgres` user the Debian package creates (setpriv, which execs in
 * place, so the process signalled is the server itself), in a directory it owns. As any other user,
 * they run as that user. The superuser `thea` is trusted on the socket (it is in a private
 * directory); every other role must give its password (SCRAM), as a hospital's would.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { LineLog, terminate } from "./wait.ts";

const USER = "thea";

/** The newest installed major version's binaries (Debian keeps each in its own directory). */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  const found = majors.map((major) => path.join(root, major, "bin")).find((dir) => existsSync(path.join(dir, "initdb")));
  if (!found) throw new Error("PostgreSQL is not installed (Debian: apt-get install postgresql; bin/setup does)");
  return found;
}

/** The command prefix that runs a program as the postgres user when we are root. */
function asServerUser(): { prefix: string[]; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid === 0) throw new Error("running as root, and there is no postgres user to run PostgreSQL as (Debian's package creates it)");
  return { prefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"], uid, gid };
}

export class Postgres {
  /** The directory holding the data (`data/`) and the server's socket. */
  readonly dir: string;
  readonly log = new LineLog();
  #process: ChildProcess | undefined;
  #databases = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async start(): Promise<Postgres> {
    const bin = binDir();
    const runAs = asServerUser();
    // The test run's scratch directory (test/scratch.ts) is root's alone: the postgres user could
    // not reach a directory inside it, so as root the server's goes in /tmp, and stop() removes it.
    const dir = mkdtempSync(path.join(runAs ? "/tmp" : tmpdir(), "thea-postgres-"));
    chmodSync(dir, 0o700);
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const server = new Postgres(dir);
    const data = path.join(dir, "data");
    const prefix = runAs?.prefix ?? [];
    const run = (program: string, args: string[]) => {
      const [command = program, ...rest] = [...prefix, program, ...args];
      return { command, args: rest };
    };
    const init = run(path.join(bin, "initdb"), ["-D", data, "-U", USER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]);
    const initialised = spawnSync(init.command, init.args, { encoding: "utf8", cwd: dir });
    if (initialised.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${initialised.status}): ${initialised.stderr}`);
    }
    writeFileSync(path.join(data, "pg_hba.conf"), `local all ${USER} trust\nlocal all all scram-sha-256\n`);
    // The socket only, in the test's private directory; fsync off: nothing here outlives the test.
    const serve = run(path.join(bin, "postgres"), ["-D", data, "-k", dir, "-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=50"]);
    const child = spawn(serve.command, serve.args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    server.#process = child;
    child.stdout?.on("data", (chunk: Buffer) => server.log.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => server.log.push(chunk));
    const ready = server.log.waitForLine("PostgreSQL ready", (line) => line.includes("ready to accept connections"), 30_000);
    const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`postgres exited (${code}):\n${server.log.text}`))));
    exited.catch(() => undefined);
    try {
      await Promise.race([ready, exited]);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The URL of `database` (over the socket, no password), as `thea fleet serve --store` takes it. */
  url(database: string): string {
    return `postgres://${USER}@/${database}?host=${encodeURIComponent(this.dir)}`;
  }

  /**
   * A new, empty database; its URL. With `owner`, a role that logs in with that password owns
   * it, and the URL names that role (without the password).
   */
  async createDatabase(owner?: { role: string; password: string }): Promise<string> {
    this.#databases += 1;
    const name = `fleet_${this.#databases}`;
    const client = new pg.Client({ connectionString: this.url("postgres") });
    await client.connect();
    try {
      if (owner) {
        await client.query(`CREATE ROLE ${client.escapeIdentifier(owner.role)} LOGIN PASSWORD ${client.escapeLiteral(owner.password)}`);
        await client.query(`CREATE DATABASE ${name} OWNER ${client.escapeIdentifier(owner.role)}`);
      } else {
        await client.query(`CREATE DATABASE ${name}`);
      }
    } finally {
      await client.end();
    }
    return owner ? `postgres://${owner.role}@/${name}?host=${encodeURIComponent(this.dir)}` : this.url(name);
  }

  /** Stops the server (fast shutdown: open sessions are ended) and removes its directory. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child) await terminate(child, "postgres", "SIGINT");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
