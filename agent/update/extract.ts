/**
 * Unpacking a .tar.gz with a ceiling on what it unpacks to. The bundle is gunzipped here and fed
 * to tar through a pipe, counting: the count passes the ceiling, tar is stopped there, so a
 * bundle that inflates to gigabytes (or a gzip bomb) never gets to fill the disk. What is counted
 * is the tar stream, which holds every file's contents plus 512-byte headers, so the files
 * written are never more than the count.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";

export class UnpackTooLargeError extends Error {
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    super(`the bundle unpacks to more than ${maxBytes} bytes (update.maxUnpackedMegabytes); stopped there`);
    this.name = "UnpackTooLargeError";
    this.maxBytes = maxBytes;
  }
}

/** tar's complaints are short; more than this is cut. */
const MAX_STDERR = 8192;

export async function extractCapped(bundle: string, into: string, maxBytes: number): Promise<void> {
  // A fixed program with fixed options; the bundle's signature and digest were checked before.
  const tar = spawn("tar", ["-xf", "-", "-C", into, "--no-same-owner", "--no-same-permissions", "--delay-directory-restore"], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  tar.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += chunk.toString("utf8").slice(0, MAX_STDERR - stderr.length);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.on("error", reject);
    tar.on("close", (code) => resolve(code));
  });
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      done(total > maxBytes ? new UnpackTooLargeError(maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(bundle), createGunzip(), counter, tar.stdin);
  } catch (error) {
    // tar may close its input once it has read the end-of-archive blocks (the rest of the record is
    // padding): only its exit matters then. Whether the feed sees that as a failed write (EPIPE) or
    // as the pipe closing between writes (premature close) is a matter of timing.
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") && total <= maxBytes) return finished(await exited, stderr);
    // Whatever stopped the feed (too large, a corrupt gzip, tar gone): tar must not go on.
    tar.kill("SIGKILL");
    await exited.catch(() => null);
    if (error instanceof UnpackTooLargeError) throw error;
    throw new Error(`cannot unpack the bundle: ${error instanceof Error ? error.message : String(error)}${stderr ? ` (tar: ${stderr.trim()})` : ""}`);
  }
  finished(await exited, stderr);
}

function finished(code: number | null, stderr: string): void {
  if (code !== 0) throw new Error(`tar exited with ${code}: ${stderr.trim()}`);
}
