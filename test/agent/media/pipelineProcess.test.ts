/**
 * The pipeline host (a child process per camera) with real GStreamer: it keeps Node's compile
 * cache in the directory the agent gives it — each camera start forks a new host and, without the
 * cache, Node strips host.ts and its imports of their types again every time, on the way to a
 * viewer's first frame (docs/media.md, "What the agent waited for") — and it tells the agent why
 * a pipeline could not even be built.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import { PipelineProcess } from "../../../agent/media/pipelineProcess.ts";
import { within } from "../../helpers/wait.ts";

const log = createLogger({ level: "silent" });
const LAUNCH = "videotestsrc is-live=true ! fakesink sync=false";
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Starts a host with `compileCacheDir`, waits until its pipeline plays, and stops it. */
async function playOnce(compileCacheDir: string): Promise<void> {
  const pipeline = new PipelineProcess(log, { compileCacheDir });
  const playing = within(new Promise<void>((resolve) => pipeline.once("playing", resolve)), 20_000, "the pipeline to play");
  pipeline.start(LAUNCH, {});
  try {
    await playing;
  } finally {
    await pipeline.stop();
  }
}

async function cacheFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name)).sort();
}

describe("pipeline process", () => {
  it("leaves its compiled modules in the compile cache, and the next start takes them from there", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-compile-cache-"));
    dirs.push(dir);
    await playOnce(dir);
    const cached = await cacheFiles(dir);
    expect(cached.length).toBeGreaterThan(0);
    // A second start finds every module it needs: nothing new is compiled and written.
    await playOnce(dir);
    expect(await cacheFiles(dir)).toEqual(cached);
  });

  it("reports why a pipeline could not be launched, not only that its host was killed", async () => {
    const host = new PipelineProcess(log);
    // An element GStreamer does not have, with a name long enough that the error naming it does
    // not fit the IPC channel's buffer in one write, as when the channel is busy: the host must
    // finish writing it before it kills itself.
    const missing = `nosuchelement${"x".repeat(400_000)}`;
    const failed = new Promise<string>((resolve) => host.once("failed", resolve));
    host.start(`${missing} ! fakesink`, {});
    const reason = await failed;
    expect(reason.slice(0, 200)).toMatch(/^launch: .*no element "nosuchelementxxx/);
    await host.stop();
  });
});
