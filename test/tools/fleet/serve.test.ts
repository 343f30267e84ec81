/**
 * `thea fleet serve` (tools/fleet/serve.ts) composing a fake core: the store opened at
 * DATA_DIR/fleet.db, the ingest given the broker and the service's own certificate, the page and
 * API served over the fleet, and everything stopped in reverse order when told to stop; a bad
 * command line refused with exit 2 before anything starts.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { FleetView } from "../../../tools/fleet/model.ts";
import { fleetServeCommand, type FleetCore, type IngestSettings } from "../../../tools/fleet/serve.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { freePort } from "../../helpers/ports.ts";
import { within } from "../../helpers/wait.ts";

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
    expect(steps).toEqual(["open fleet.db", "fleet", "start fleet", "start ingest", "stop ingest", "stop fleet", "close store"]);
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
  ])("refuses %j with exit 2 before starting anything", async (args, error) => {
    const steps: string[] = [];
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(await fleetServeCommand(args, fakeCore(steps), { log: quiet })).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(written.join("")).toMatch(error);
    expect(steps).toEqual([]);
  });
});
