/**
 * Fetching a release bundle over a poor link: HTTPS (plain HTTP only to a loopback address, for
 * tests and local mirrors), resuming with a Range request from what an earlier, interrupted
 * attempt left in the `.part` file, never taking more than the manifest's size.
 */
import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import https from "node:https";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import type { Writable } from "node:stream";

// Not `import http from "node:http"`: an ES import of a built-in reads every export for the
// module namespace, and node:http's lazy WebSocket/CloseEvent/MessageEvent getters then load
// undici (Node's fetch): +8 MB of heap and +9 MB of the node binary's pages on their own, held by
// an agent at rest that may never download anything (docs/media.md, "At rest"). require() leaves
// them lazy.
const http = createRequire(import.meta.url)("node:http") as typeof import("node:http");

export interface DownloadOptions {
  url: string;
  /** The partial file; grows until it holds `size` bytes. */
  file: string;
  size: number;
  onProgress?: (received: number) => void;
  /** No byte for this long: give up (the next attempt resumes). */
  idleTimeoutMs?: number;
  ca?: string | undefined;
  /**
   * Opens the partial file for writing ("a" to resume, "w" to start over). The download ends it
   * and waits for its close before the attempt is over. Default: a file stream that fsyncs
   * before it closes. Tests pass one that holds writes back, as a slow disk does.
   */
  openFile?: (file: string, flags: "a" | "w") => Writable;
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DownloadError";
  }
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

export async function download(options: DownloadOptions): Promise<void> {
  const url = new URL(options.url);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    throw new DownloadError(`${url.protocol}//${url.host}: bundles come over https (plain http only from this box itself)`);
  }
  const have = await stat(options.file).then((info) => info.size, () => 0);
  if (have === options.size) return;
  if (have > options.size) throw new DownloadError(`the partial download (${have} bytes) is larger than the bundle (${options.size}); starting over`);

  const client = url.protocol === "https:" ? https : http;
  const openFile = options.openFile ?? openPartialFile;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let out: Writable | undefined;
    let writeError: Error | undefined;
    /**
     * Ends the attempt. Whatever arrived is handed to the file, which is then ended (not
     * destroyed: destroy() throws away writes still buffered) and closed, fsynced first; only then
     * does the attempt resolve or reject, so the next one resumes from what is really on disk.
     */
    const settle = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      if (error) request.destroy();
      const done = () => {
        const failure = error ?? writeError;
        if (!failure) return resolve();
        reject(failure instanceof DownloadError ? failure : new DownloadError(`${url.href}: ${failure.message}`));
      };
      if (!out || out.closed) return done();
      out.once("close", done);
      if (!out.destroyed) out.end();
    };
    const fail = (error: Error) => settle(error);
    const request = client.get(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, ...(options.ca && { ca: options.ca }) }, (response) => {
      const status = response.statusCode ?? 0;
      const resumed = status === 206;
      if (status !== 200 && !resumed) {
        response.resume();
        const why = status === 416 ? `the server's file is shorter than the manifest's ${options.size} bytes (HTTP 416)` : `HTTP ${status}`;
        return fail(new DownloadError(`${url.href}: ${why}`));
      }
      // A 206 must carry on exactly where the file stops (RFC 9110 §14.4, §15.3.7), or the bytes appended
      // would not be the bundle's and only the digest, after the whole download, would tell.
      const from = /^bytes (\d+)-/.exec(response.headers["content-range"] ?? "")?.[1];
      if (resumed && Number(from) !== have) {
        response.resume();
        return fail(new DownloadError(`${url.href}: asked for bytes from ${have}, the server sent Content-Range "${response.headers["content-range"] ?? ""}"`));
      }
      // A server that ignores Range sends it all again: start the file over.
      let received = resumed ? have : 0;
      const file = openFile(options.file, resumed ? "a" : "w");
      out = file;
      file.on("error", (error: Error) => {
        writeError ??= error;
        fail(error);
      });
      // Written by hand rather than piped: a pipe would go on writing after the file was ended.
      response.on("data", (chunk: Buffer) => {
        if (settled) return;
        if (received + chunk.length > options.size) return fail(new DownloadError(`${url.href}: more than the manifest's ${options.size} bytes`));
        received += chunk.length;
        options.onProgress?.(received);
        if (!file.write(chunk)) {
          response.pause();
          file.once("drain", () => response.resume());
        }
      });
      const dropped = () => fail(new DownloadError(`${url.href}: the connection dropped at ${received} bytes`));
      response.on("error", dropped);
      response.on("end", () => settle(received === options.size ? undefined : new DownloadError(`${url.href}: got ${received} of ${options.size} bytes`)));
      response.on("close", () => {
        if (!response.complete) dropped();
      });
    });
    request.setTimeout(options.idleTimeoutMs ?? 60_000, () => fail(new DownloadError(`${url.href}: no data for ${Math.round((options.idleTimeoutMs ?? 60_000) / 1000)} s`)));
    request.on("error", fail);
  });
}

/** The partial file, fsynced before it closes (a power cut after a drop keeps what was received). */
function openPartialFile(file: string, flags: "a" | "w"): Writable {
  return createWriteStream(file, { flags, flush: true });
}
