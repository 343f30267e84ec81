/**
 * Bundle downloads from a real loopback HTTP server: a dropped connection resumes with Range
 * from the partial file; plain HTTP is refused off the box; a server sending more is cut off.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
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

describe("download", () => {
  it("resumes a dropped download where it stopped", async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const { dir, url, server: mirror } = await served(bytes);
    const file = path.join(dir, "got.part");
    mirror.truncateAfter = 100_000;
    await expect(download({ url, file, size: bytes.length })).rejects.toThrow(/dropped at 100000 bytes/);
    mirror.truncateAfter = undefined;
    const progress: number[] = [];
    await download({ url, file, size: bytes.length, onProgress: (received) => progress.push(received) });
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect(mirror.requests.map((request) => request.range)).toEqual([undefined, "bytes=100000-"]);
    expect(progress[0]).toBeGreaterThan(100_000);
  });

  it("takes no more than the manifest's size, and no plain HTTP from elsewhere", async () => {
    const { dir, url } = await served(Buffer.alloc(50_000, 7));
    await expect(download({ url, file: path.join(dir, "a.part"), size: 10_000 })).rejects.toThrow(/more than the manifest's 10000 bytes/);
    await expect(download({ url: "http://updates.example.org/x.tar.gz", file: path.join(dir, "b.part"), size: 1 })).rejects.toThrow(/come over https/);
    await expect(download({ url: url.replace("bundle", "missing"), file: path.join(dir, "c.part"), size: 1 })).rejects.toThrow(/HTTP 404/);
  });
});
