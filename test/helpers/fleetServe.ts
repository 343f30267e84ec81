/**
 * A real `thea fleet serve` process for integration tests, and ways to wait on its event stream
 * (/api/stream) for a box's row or a province's boxes, as the page does, never polling with sleeps.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { BoxHistoryEntry, BoxRow } from "../../tools/fleet/model.ts";
import { THEA_BIN } from "./agentProcess.ts";
import { freePort } from "./ports.ts";
import { LineLog, within } from "./wait.ts";

export interface FleetServeProcess {
  child: ChildProcess;
  url: URL;
  log: LineLog;
}

export interface FleetServeSettings {
  /** Added to the test's environment. */
  env?: Record<string, string>;
  /** The port to listen on (a restart on the one before); a free one if not given. */
  port?: number;
}

/** Starts `thea fleet serve --broker BROKER ARGS… --listen 127.0.0.1:PORT`; resolves once it serves. */
export async function startFleetServe(broker: string, args: readonly string[], settings: FleetServeSettings = {}): Promise<FleetServeProcess> {
  const port = settings.port ?? (await freePort());
  const child = spawn(THEA_BIN, ["fleet", "serve", "--broker", broker, ...args, "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...settings.env },
  });
  const log = new LineLog();
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`thea fleet serve exited (${code}):\n${log.text}`))));
  exited.catch(() => undefined);
  try {
    await Promise.race([log.waitForLine("the fleet service to serve", (line) => line.includes("fleet service serving"), 30_000), exited]);
  } catch (error) {
    child.kill("SIGKILL"); // never serving, so no test will stop it
    throw error;
  }
  return { child, url: new URL(`http://127.0.0.1:${port}/`), log };
}

/** Resolves once the service's rollouts follow the boxes (it logs so after it has read them), so a rollout may start. */
export async function rolloutsFollowing(fleet: FleetServeProcess): Promise<void> {
  await fleet.log.waitForLine("the rollouts to follow the boxes", (line) => line.includes("rollouts following the boxes"), 30_000);
}

export async function getJson<T>(fleet: FleetServeProcess, path: string): Promise<T> {
  const response = await fetch(new URL(path, fleet.url));
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function historyOf(fleet: FleetServeProcess, deviceId: string): Promise<BoxHistoryEntry[]> {
  return (await getJson<{ entries: BoxHistoryEntry[] }>(fleet, `api/boxes/${deviceId}/history?days=1`)).entries;
}

interface Following<T> {
  /** What `find` first returned for an event's rows; rejects if the stream ends before. */
  found: Promise<T>;
  stop(): void;
}

/** Follows /api/stream, giving each event's rows to `find` until it returns something. */
async function follow<T>(fleet: FleetServeProcess, find: (rows: readonly BoxRow[]) => T | undefined): Promise<Following<T>> {
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
        const result = find((JSON.parse(data.slice("data: ".length)) as { rows: BoxRow[] }).rows);
        if (result !== undefined) return result;
      }
    }
    throw new Error("the event stream ended");
  })();
  found.catch(() => undefined); // awaited by the caller, or abandoned when the API already answered
  return { found, stop: () => controller.abort() };
}

/** Resolves with the first row of `deviceId` (from the API now, or on the event stream later) that satisfies `match`. */
export async function nextRow(fleet: FleetServeProcess, deviceId: string, match: (row: BoxRow) => boolean, what: string, timeoutMs = 30_000): Promise<BoxRow> {
  const stream = await follow(fleet, (rows) => rows.find((candidate) => candidate.deviceId === deviceId && match(candidate)));
  try {
    // The row may already be as wanted before the stream opened: ask the API once, then follow the stream.
    const now = (await (await fetch(new URL(`api/boxes/${deviceId}`, fleet.url))).json().catch(() => undefined)) as BoxRow | undefined;
    if (now && now.deviceId === deviceId && match(now)) return now;
    return await within(stream.found, timeoutMs, what);
  } finally {
    stream.stop();
  }
}

/** Resolves once the service lists `total` boxes of `province` with a summary: those it had when asked, then those its event stream brings. */
export async function untilListed(fleet: FleetServeProcess, province: string, total: number): Promise<void> {
  const listed = new Set<string>();
  const add = (rows: readonly BoxRow[]) => {
    for (const row of rows) if (row.site.province === province && row.summary) listed.add(row.deviceId);
    return listed.size >= total ? true : undefined;
  };
  const stream = await follow(fleet, add);
  try {
    add((await getJson<{ rows: BoxRow[] }>(fleet, `api/boxes?province=${province}`)).rows);
    if (listed.size < total) await within(stream.found, 30_000, `the service to list ${total} boxes of ${province}`);
  } finally {
    stream.stop();
  }
}
