/**
 * Serves the viewer page's files (viewer/, and mqtt.js's browser bundle beside them) on a loopback
 * port, plus `/harness.html`: a bare page that loads viewer.js for a test to drive.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const FILES: Record<string, { file: string; type: string }> = {
  "/viewer.js": { file: path.join(ROOT, "viewer/viewer.js"), type: "text/javascript" },
  "/index.html": { file: path.join(ROOT, "viewer/index.html"), type: "text/html" },
  "/mqtt.esm.js": { file: path.join(ROOT, "node_modules/mqtt/dist/mqtt.esm.js"), type: "text/javascript" },
};

const HARNESS = `<!doctype html><meta charset="utf-8"><video id="video" autoplay playsinline muted></video>
<script type="module">import { watch } from "./viewer.js"; window.watch = watch; window.harnessReady = true;</script>`;

export class ViewerServer {
  readonly #server: Server;
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(): Promise<ViewerServer> {
    const server = createServer((request, response) => {
      const route = new URL(request.url ?? "/", "http://localhost").pathname;
      if (route === "/harness.html") {
        response.writeHead(200, { "content-type": "text/html" }).end(HARNESS);
        return;
      }
      const entry = FILES[route];
      if (!entry) {
        response.writeHead(404).end();
        return;
      }
      readFile(entry.file).then(
        (body) => response.writeHead(200, { "content-type": entry.type }).end(body),
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("viewer server has no address");
    return new ViewerServer(server, address.port);
  }

  url(route: string): string {
    return `http://127.0.0.1:${this.port}${route}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
