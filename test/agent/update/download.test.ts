/**
 * Bundle downloads from a real loopback HTTP server: a dropped connection resumes with Range
 * from the partial file, which holds every byte that arrived, however far the disk lags behind
 * the link; plain HTTP is refused off the box; a server sending more is cut off.
 */
import { mkdtemp, open, readFile, writeFile, type FileHandle } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { download } from "../../../agent/update/download.ts";
import { BundleServer } from "../../helpers/bundleServer.ts";

let server: BundleServer | undefined;
afterEach(async () => server?.stop());

async function served(bytes: Buffer) {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-dl-"));
  await writeFile(path.join(dir, "bundle.tar.gz"), bytes);
  server = await BundleServer.start(dir);
  return { dir, url: server.url("bundle.tar.gz"), server };
}

/**
 * A partial file on a disk slower than the link: writes are taken at once but reach the file only
 * when the stream is ended, so destroying it loses them, as destroying a file stream loses the
 * writes it still buffers. Makes certain what a real disk does only now and then.
 */
class HeldBackFile extends Writable {
  readonly #handle: Promise<FileHandle>;
  readonly #held: Buffer[] = [];

  constructor(file: string, flags: "a" | "w") {
    super();
    this.#handle = open(file, flags);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#held.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.#handle.then((handle) => handle.write(Buffer.concat(this.#held))).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.#handle.then((handle) => handle.close()).then(() => callback(error), callback);
  }
}

describe("download", () => {
  it("resumes a dropped download where it stopped", async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const { dir, url, server: mirror } = await served(bytes);
    const file = path.join(dir, "got.part");
    mirror.truncateAfter = 100_000;
    await expect(download({ url, file, size: bytes.length })).rejects.toThrow(/dropped at 100000 bytes/);
    expect((await readFile(file)).equals(bytes.subarray(0, 100_000))).toBe(true);
    mirror.truncateAfter = undefined;
    const progress: number[] = [];
    await download({ url, file, size: bytes.length, onProgress: (received) => progress.push(received) });
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect(mirror.requests.map((request) => request.range)).toEqual([undefined, "bytes=100000-"]);
    expect(progress[0]).toBeGreaterThan(100_000);
  });

  it("keeps every byte that arrived before a drop, however far the disk lags behind", async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const { dir, url, server: mirror } = await served(bytes);
    const file = path.join(dir, "got.part");
    const openFile = (name: string, flags: "a" | "w") => new HeldBackFile(name, flags);
    mirror.truncateAfter = 100_000;
    await expect(download({ url, file, size: bytes.length, openFile })).rejects.toThrow(/dropped at 100000 bytes/);
    // On disk by the time the attempt gives up: the next one resumes from there.
    const kept = await readFile(file);
    expect(kept.length).toBe(100_000);
    expect(kept.equals(bytes.subarray(0, 100_000))).toBe(true);
    mirror.truncateAfter = undefined;
    await download({ url, file, size: bytes.length, openFile });
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect(mirror.requests.map((request) => request.range)).toEqual([undefined, "bytes=100000-"]);
  });

  it("appends nothing from a server that answers a resume with another range", async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const dir = await mkdtemp(path.join(tmpdir(), "thea-dl-"));
    const file = path.join(dir, "got.part");
    await writeFile(file, bytes.subarray(0, 100_000));
    // A broken mirror: "206" for any Range, but from the start of the file.
    const mirror = http.createServer((_request, response) => {
      response.writeHead(206, { "Content-Length": bytes.length, "Content-Range": `bytes 0-${bytes.length - 1}/${bytes.length}` }).end(bytes);
    });
    await new Promise<void>((resolve) => mirror.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/bundle.tar.gz`;
      await expect(download({ url, file, size: bytes.length })).rejects.toThrow(/asked for bytes from 100000, the server sent Content-Range "bytes 0-299999\/300000"/);
      expect((await readFile(file)).equals(bytes.subarray(0, 100_000))).toBe(true);
    } finally {
      mirror.closeAllConnections();
      await new Promise<void>((resolve) => mirror.close(() => resolve()));
    }
  });

  it("takes no more than the manifest's size, and no plain HTTP from elsewhere", async () => {
    const { dir, url } = await served(Buffer.alloc(50_000, 7));
    await expect(download({ url, file: path.join(dir, "a.part"), size: 10_000 })).rejects.toThrow(/more than the manifest's 10000 bytes/);
    await expect(download({ url: "http://updates.example.org/x.tar.gz", file: path.join(dir, "b.part"), size: 1 })).rejects.toThrow(/come over https/);
    await expect(download({ url: url.replace("bundle", "missing"), file: path.join(dir, "c.part"), size: 1 })).rejects.toThrow(/HTTP 404/);
  });
});
