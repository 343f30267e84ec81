/**
 * A loopback HTTP server for release bundles, as an update mirror would be: files from a
 * directory, with Range requests. `truncateAfter` makes the next responses stop early, as a
 * dropped mobile link does.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export class BundleServer {
  readonly #server: http.Server;
  readonly requests: Array<{ path: string; range: string | undefined }> = [];
  /** While set, each response ends after this many bytes. */
  truncateAfter: number | undefined;

  private constructor(dir: string) {
    this.#server = http.createServer((request, response) => void this.#serve(dir, request, response));
  }

  static async start(dir: string): Promise<BundleServer> {
    const server = new BundleServer(dir);
    await new Promise<void>((resolve) => server.#server.listen(0, "127.0.0.1", resolve));
    return server;
  }

  url(file: string): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/${file}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(dir: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const file = path.join(dir, path.basename(request.url ?? "/"));
    this.requests.push({ path: request.url ?? "", range: request.headers.range });
    const size = await stat(file).then((info) => info.size, () => undefined);
    if (size === undefined) {
      response.writeHead(404).end();
      return;
    }
    const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? "")?.[1] ?? 0);
    if (from >= size) {
      response.writeHead(416).end();
      return;
    }
    const end = this.truncateAfter === undefined ? size - 1 : Math.min(size - 1, from + this.truncateAfter - 1);
    response.writeHead(from > 0 ? 206 : 200, { "Content-Length": size - from, ...(from > 0 && { "Content-Range": `bytes ${from}-${size - 1}/${size}` }) });
    const stream = createReadStream(file, { start: from, end });
    stream.pipe(response, { end: false });
    // A truncated response is a connection that drops, not one that ends cleanly.
    stream.on("end", () => (end === size - 1 ? response.end() : response.destroy()));
  }
}
