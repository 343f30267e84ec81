/**
 * Fetching a release bundle over a poor link: HTTPS (plain HTTP only to a loopback address, for
 * tests and local mirrors), resuming with a Range request from what an earlier, interrupted
 * attempt left in the `.part` file, never taking more than the manifest's size.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";

export interface DownloadOptions {
  url: string;
  /** The partial file; grows until it holds `size` bytes. */
  file: string;
  size: number;
  onProgress?: (received: number) => void;
  /** No byte for this long: give up (the next attempt resumes). */
  idleTimeoutMs?: number;
  ca?: string | undefined;
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
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let out: WriteStream | undefined;
    /** Rejects once the partial file is closed, so the next attempt resumes from what is really on disk. */
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      request.destroy();
      const reason = error instanceof DownloadError ? error : new DownloadError(`${url.href}: ${error.message}`);
      if (!out || out.closed) return reject(reason);
      out.once("close", () => reject(reason));
      out.destroy();
    };
    const request = client.get(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, ...(options.ca && { ca: options.ca }) }, (response) => {
      const status = response.statusCode ?? 0;
      const resumed = status === 206;
      if (status !== 200 && !resumed) {
        response.resume();
        const why = status === 416 ? `the server's file is shorter than the manifest's ${options.size} bytes (HTTP 416)` : `HTTP ${status}`;
        return fail(new DownloadError(`${url.href}: ${why}`));
      }
      // A server that ignores Range sends it all again: start the file over.
      let received = resumed ? have : 0;
      const file = createWriteStream(options.file, { flags: resumed ? "a" : "w" });
      out = file;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > options.size) return fail(new DownloadError(`${url.href}: more than the manifest's ${options.size} bytes`));
        options.onProgress?.(received);
      });
      response.pipe(file);
      response.on("error", () => fail(new DownloadError(`${url.href}: the connection dropped at ${received} bytes`)));
      response.on("close", () => {
        if (!response.complete) fail(new DownloadError(`${url.href}: the connection dropped at ${received} bytes`));
      });
      file.on("error", fail);
      file.on("finish", () => {
        if (settled) return;
        if (received !== options.size) return fail(new DownloadError(`${url.href}: got ${received} of ${options.size} bytes`));
        settled = true;
        resolve();
      });
    });
    request.setTimeout(options.idleTimeoutMs ?? 60_000, () => fail(new DownloadError(`${url.href}: no data for ${Math.round((options.idleTimeoutMs ?? 60_000) / 1000)} s`)));
    request.on("error", fail);
  });
}
