/**
 * `thea fleet serve` as a hospital runs it, against a real mosquitto and a real agent process: the
 * box appears in the API with its site and summary as soon as the service has the box's retained
 * messages, goes offline when the agent stops, and the service keeps what it knew across its own
 * restart (the SQLite store in its data directory). Changes are awaited on the service's own event
 * stream (/api/stream), as the page does, never by polling with sleeps.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BoxRow } from "../../../tools/fleet/model.ts";
import { AgentProcess, THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { freePort } from "../../helpers/ports.ts";
import { LineLog, terminate, within } from "../../helpers/wait.ts";

const fixture = useBroker();
const SITE = { province: "Lào Cai", district: "Bát Xát", commune: "Y Tý" };

interface FleetProcess {
  child: ChildProcess;
  url: URL;
}

async function startFleet(dataDir: string): Promise<FleetProcess> {
  const port = await freePort();
  const child = spawn(THEA_BIN, ["fleet", "serve", "--broker", fixture.broker.url, "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
  fixture.cleanup(() => terminate(child, "the fleet service"));
  const log = new LineLog();
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
  await log.waitForLine("the fleet service to serve", (line) => line.includes("fleet service serving"), 20_000);
  return { child, url: new URL(`http://127.0.0.1:${port}/`) };
}

/** Resolves with the first row of `deviceId` the event stream carries that satisfies `match`. */
async function nextRow(fleet: FleetProcess, deviceId: string, match: (row: BoxRow) => boolean, what: string): Promise<BoxRow> {
  const controller = new AbortController();
  const response = await fetch(new URL("api/stream", fleet.url), { signal: controller.signal });
  const body = response.body;
  if (!body) throw new Error("no event stream");
  const found = (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of body) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event.split("\n").find((line) => line.startsWith("data: "));
        if (!data) continue;
        const batch = JSON.parse(data.slice("data: ".length)) as { rows: BoxRow[] };
        const row = batch.rows.find((candidate) => candidate.deviceId === deviceId && match(candidate));
        if (row) return row;
      }
    }
    throw new Error("the event stream ended");
  })();
  // The row may already be as wanted before the stream opened: ask the API once, then follow the stream.
  const now = (await (await fetch(new URL(`api/boxes/${deviceId}`, fleet.url))).json().catch(() => undefined)) as BoxRow | undefined;
  try {
    if (now && now.deviceId === deviceId && match(now)) return now;
    return await within(found, 30_000, what);
  } finally {
    controller.abort();
    found.catch(() => undefined);
  }
}

describe("thea fleet serve", () => {
  it("shows a real box with its site and summary, sees it go offline, and remembers it across its own restart", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: `site: { province: "${SITE.province}", district: "${SITE.district}", commune: "${SITE.commune}" }`,
    });
    fixture.cleanup(() => agent.stop());
    const dataDir = await mkdtemp(path.join(tmpdir(), "thea-fleet-"));
    const fleet = await startFleet(dataDir);

    const online = await nextRow(fleet, agent.deviceId, (row) => row.online && row.summary !== null, "the box online with its summary");
    expect(online.site).toEqual(SITE);
    expect(online.summary?.version).toEqual(expect.any(String));
    const counts = (await (await fetch(new URL("api/counts", fleet.url))).json()) as { total: number; online: number };
    expect(counts).toMatchObject({ total: 1, online: 1 });

    agent.kill("SIGTERM"); // a clean stop: the agent says goodbye ("shutdown") before it goes
    await agent.waitForExit(15_000);
    const offline = await nextRow(fleet, agent.deviceId, (row) => !row.online, "the box offline after its agent stopped");
    expect(offline.offlineReason).toBe("shutdown");

    await terminate(fleet.child, "the fleet service");
    expect(fleet.child.exitCode).toBe(0);
    const again = await startFleet(dataDir);
    const remembered = (await (await fetch(new URL(`api/boxes/${agent.deviceId}`, again.url))).json()) as BoxRow;
    expect(remembered).toMatchObject({ deviceId: agent.deviceId, online: false, site: SITE });
  });
});
