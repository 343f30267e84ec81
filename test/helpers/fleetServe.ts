/**
 * A real `thea fleet serve` process for integration tests, and a way to wait on its event stream
 * (/api/stream) for a box's row, as the page does, never polling with sleeps.
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

/** Starts `thea fleet serve --broker BROKER ARGS… --listen 127.0.0.1:PORT`; resolves once it serves. */
export async function startFleetServe(broker: string, args: readonly string[], env: Record<string, string> = {}): Promise<FleetServeProcess> {
  const port = await freePort();
  const child = spawn(THEA_BIN, ["fleet", "serve", "--broker", broker, ...args, "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  const log = new LineLog();
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`thea fleet serve exited (${code}):\n${log.text}`))));
  exited.catch(() => undefined);
  await Promise.race([log.waitForLine("the fleet service to serve", (line) => line.includes("fleet service serving"), 30_000), exited]);
  return { child, url: new URL(`http://127.0.0.1:${port}/`), log };
}

export async function getJson<T>(fleet: FleetServeProcess, path: string): Promise<T> {
  const response = await fetch(new URL(path, fleet.url));
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function historyOf(fleet: FleetServeProcess, deviceId: string): Promise<BoxHistoryEntry[]> {
  return (await getJson<{ entries: BoxHistoryEntry[] }>(fleet, `api/boxes/${deviceId}/history?days=1`)).entries;
}

/** Resolves with the first row of `deviceId` (from the API now, or on the event stream later) that satisfies `match`. */
export async function nextRow(fleet: FleetServeProcess, deviceId: string, match: (row: BoxRow) => boolean, what: string, timeoutMs = 30_000): Promise<BoxRow> {
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
    return await within(found, timeoutMs, what);
  } finally {
    controller.abort();
    found.catch(() => undefined);
  }
}
