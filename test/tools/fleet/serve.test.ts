/**
 * `thea fleet serve` (tools/fleet/serve.ts) composing a fake core: the store opened at
 * DATA_DIR/fleet.db, the ingest given the broker and the service's own certificate, the page and
 * API served over the fleet, and everything stopped in reverse order when told to stop; a bad
 * command line, or a roster with problems, refused with exit 2 before anything starts; the
 * roster read again on SIGHUP, a bad one leaving the previous one in force.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { FleetView } from "../../../tools/fleet/model.ts";
import { fleetServeCommand, type FleetCore, type IngestSettings } from "../../../tools/fleet/serve.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { makeFleetPki, type KeyPair } from "../../helpers/fleetPki.ts";
import { freePort } from "../../helpers/ports.ts";
import { LineLog, waitFor, within } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();

/** A fake fleet that records its start and stop among the other steps. */
class RecordedFleet extends FakeFleetView {
  readonly #steps: string[];
  constructor(steps: string[]) {
    super([boxRow("box-a")]);
    this.#steps = steps;
  }
  start(): void {
    this.#steps.push("start fleet");
  }
  stop(): void {
    this.#steps.push("stop fleet");
  }
}

function fakeCore(steps: string[]): FleetCore<{ file: string; close(): void }, RecordedFleet> & { ingested: Array<IngestSettings<FleetView>> } {
  const ingested: Array<IngestSettings<FleetView>> = [];
  return {
    ingested,
    openStore: (file) => {
      steps.push(`open ${path.basename(file)}`);
      return { file, close: () => void steps.push("close store") };
    },
    newFleet: () => {
      steps.push("fleet");
      return new RecordedFleet(steps);
    },
    newIngest: (settings) => {
      ingested.push(settings);
      return { start: () => void steps.push("start ingest"), stop: () => void steps.push("stop ingest") };
    },
    newLink: (settings) => {
      steps.push(`link as ${settings.requesterId}`);
      const unused = () => Promise.reject(new Error("not in this test"));
      return {
        start: () => void steps.push("start link"),
        stop: () => void steps.push("stop link"),
        command: unused,
        setDesired: unused,
        desired: unused,
        reported: unused,
        follow: unused,
      };
    },
  };
}

const quiet = pino({ level: "silent" });

/** The status of a GET whose Host header names `host` (fetch would not let a test set it). */
function statusAs(url: URL, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on("error", reject);
  });
}

describe("thea fleet serve", () => {
  it("opens the store in the data directory, follows the broker with its certificate, serves, and stops in reverse order", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-serve-"));
    const files = Object.fromEntries(await Promise.all(["cert", "key", "ca"].map(async (name) => {
      const file = path.join(dir, `${name}.pem`);
      await writeFile(file, `${name} bytes`);
      return [name, file] as const;
    })));
    const port = await freePort();
    const steps: string[] = [];
    const core = fakeCore(steps);
    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let listening: (url: string) => void = () => undefined;
    const served = new Promise<string>((resolve) => (listening = resolve));
    const run = fleetServeCommand(
      { broker: "mqtts://broker.example:8883", ...files, listen: `127.0.0.1:${port}`, origin: ["http://fleet.hospital.example"], dataDir: path.join(dir, "state") },
      core,
      { log: quiet, until, onListening: (url) => listening(url) },
    );
    const url = await within(served, 10_000, "the fleet service to serve");
    expect(url).toBe(`http://127.0.0.1:${port}/`);
    const counts = (await (await fetch(new URL("api/counts", url))).json()) as { total: number };
    expect(counts.total).toBe(1);
    // --origin: the page may be opened at that name too (a proxy's, or the server's DNS name).
    expect(await statusAs(new URL("api/counts", url), "fleet.hospital.example")).toBe(200);
    expect(await statusAs(new URL("api/counts", url), "elsewhere.example")).toBe(421);
    expect(core.ingested[0]).toMatchObject({ url: "mqtts://broker.example:8883", cert: Buffer.from("cert bytes"), key: Buffer.from("key bytes"), ca: Buffer.from("ca bytes") });
    stop();
    expect(await within(run, 10_000, "the command to end")).toBe(0);
    expect(steps).toEqual(["open fleet.db", "fleet", "start fleet", "start ingest", "link as thea-fleet", "start link", "stop link", "stop ingest", "stop fleet", "close store"]);
    await expect(fetch(new URL("api/counts", url))).rejects.toThrow();
  });

  it.each([
    [{ dataDir: "/tmp/x" }, /--broker must be/],
    [{ broker: "http://broker:1883", dataDir: "/tmp/x" }, /--broker must be/],
    [{ broker: "mqtt://broker:1883" }, /--data-dir DIR is needed/],
    [{ broker: "mqtt://broker:1883", dataDir: "/tmp/x", listen: "everywhere" }, /--listen must be HOST:PORT/],
    [{ broker: "mqtt://broker:1883", dataDir: "/tmp/x", origin: ["fleet.example"] }, /--origin must be an http/],
    [{ broker: "mqtt://broker:1883", dataDir: "/tmp/x", cert: "/c.pem", key: "/k.pem" }, /are for an mqtts:\/\/ broker/],
    [{ broker: "mqtts://broker:8883", dataDir: "/tmp/x", cert: "/c.pem" }, /--cert and --key go together/],
    [{ broker: "mqtts://broker:8883", dataDir: "/tmp/x", webCert: "/c.pem" }, /--web-cert, --web-key and --web-ca go together/],
    [{ broker: "mqtts://broker:8883", dataDir: "/tmp/x", ca: "/nonexistent/ca.pem" }, /cannot read --ca \/nonexistent\/ca\.pem/],
    [{ broker: "mqtts://broker:8883", dataDir: "/tmp/x", roster: "/etc/roster.yaml" }, /--roster needs --web-cert, --web-key and --web-ca/],
  ])("refuses %j with exit 2 before starting anything", async (args, error) => {
    const steps: string[] = [];
    expect(await refused(args, steps)).toMatch(error);
    expect(steps).toEqual([]);
  });

  it("refuses a roster with problems, listing every one, with exit 2 before starting anything", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-serve-"));
    cleanup(() => rm(dir, { recursive: true, force: true }));
    const files = await webFiles(dir);
    await writeFile(path.join(dir, "roster.yaml"), "sites:\n  p: { d: [box-a, BOX-B] }\npeople:\n  operator.lan: { sites: [nowhere] }\n");
    const steps: string[] = [];
    const stderr = await refused({ broker: "mqtts://broker:8883", dataDir: path.join(dir, "state"), ...files, roster: path.join(dir, "roster.yaml") }, steps);
    expect(stderr).toMatch(/--roster .*roster\.yaml: the roster has 2 problem/);
    expect(stderr).toContain('"BOX-B" is not a deviceId');
    expect(stderr).toContain('no site "nowhere"');
    expect(steps).toEqual([]);
    expect(await refused({ broker: "mqtts://broker:8883", dataDir: path.join(dir, "state"), ...files, roster: path.join(dir, "missing.yaml") }, steps)).toMatch(/cannot read .*missing\.yaml/);
  });

  it("reads the roster again on SIGHUP, and keeps the one in force when the new file has problems", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-serve-"));
    cleanup(() => rm(dir, { recursive: true, force: true }));
    const pki = await makeFleetPki(["/CN=operator.lan"], cleanup);
    const web = { webCert: path.join(dir, "web.crt"), webKey: path.join(dir, "web.key"), webCa: path.join(dir, "ca.crt") };
    await writeFile(web.webCert, pki.server.cert);
    await writeFile(web.webKey, pki.server.key);
    await writeFile(web.webCa, pki.ca);
    const rosterFile = path.join(dir, "roster.yaml");
    const roster = (site: string) => `sites:\n  p: { d: [box-a], e: [box-z] }\npeople:\n  operator.lan: { sites: [${site}] }\n`;
    await writeFile(rosterFile, roster("p/d"));
    const logged = new LineLog();
    const log = pino({ level: "info" }, { write: (line: string) => logged.push(line) });
    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let listening: (url: string) => void = () => undefined;
    const served = new Promise<string>((resolve) => (listening = resolve));
    const reloads: Array<{ ok: boolean }> = [];
    const run = fleetServeCommand(
      { broker: "mqtts://broker:8883", listen: `127.0.0.1:${await freePort()}`, dataDir: path.join(dir, "state"), ...web, roster: rosterFile },
      fakeCore([]),
      { log, until, onListening: (url) => listening(url), onRosterReload: (outcome) => void reloads.push(outcome) },
    );
    cleanup(async () => {
      stop();
      await run;
    });
    const url = new URL("api/counts", await within(served, 10_000, "the fleet service to serve"));
    const lan = pki.clients["/CN=operator.lan"];
    if (!lan) throw new Error("no certificate");
    expect(await countsAs(url, pki.ca, lan)).toEqual({ status: 200, total: 1 });
    const reloaded = (count: number) =>
      waitFor("the roster reload", 10_000, (done) => {
        const timer = setInterval(() => reloads.length >= count && done(undefined), 10);
        return () => clearInterval(timer);
      });

    await writeFile(rosterFile, `${roster("nowhere")}  operator.Bad: { sites: ["*"] }\n`);
    process.kill(process.pid, "SIGHUP");
    await reloaded(1);
    expect(reloads[0]).toMatchObject({ ok: false, problems: [expect.stringContaining('no site "nowhere"'), expect.stringContaining("operator.Bad")] });
    expect(logged.lines.filter((line) => line.includes('"roster problem"'))).toHaveLength(2);
    expect(await countsAs(url, pki.ca, lan)).toEqual({ status: 200, total: 1 });

    await writeFile(rosterFile, roster("p/e"));
    process.kill(process.pid, "SIGHUP");
    await reloaded(2);
    expect(reloads[1]).toMatchObject({ ok: true, people: 1 });
    expect(await countsAs(url, pki.ca, lan)).toEqual({ status: 200, total: 0 });
    stop();
    expect(await within(run, 10_000, "the command to end")).toBe(0);
    expect(process.listenerCount("SIGHUP")).toBe(0);
  });
});

/** Runs the command expecting exit 2; answers what it wrote to stderr. */
async function refused(args: Parameters<typeof fleetServeCommand>[0], steps: string[]): Promise<string> {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
  try {
    expect(await fleetServeCommand(args, fakeCore(steps), { log: quiet })).toBe(2);
  } finally {
    process.stderr.write = write;
  }
  return written.join("");
}

/** Placeholder files for --web-cert/--web-key/--web-ca: read, never used when the command stops at its arguments. */
async function webFiles(dir: string): Promise<{ webCert: string; webKey: string; webCa: string }> {
  const files = { webCert: path.join(dir, "web.crt"), webKey: path.join(dir, "web.key"), webCa: path.join(dir, "ca.crt") };
  for (const file of Object.values(files)) await writeFile(file, "not used");
  return files;
}

/** GET /api/counts with a person's certificate: the status and the total. */
function countsAs(url: URL, ca: Buffer, client: KeyPair): Promise<{ status: number; total: number | undefined }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { ca, ...client, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, total: (JSON.parse(body) as { total?: number }).total }));
    });
    request.on("error", reject);
    request.end();
  });
}
