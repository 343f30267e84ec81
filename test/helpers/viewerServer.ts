/**
 * The agent's viewer server (agent/viewer/server.ts) on a free loopback port, with a bare
 * `/harness.html` page that loads viewer.js for a test to drive, and the /mqtt bridge to the
 * test's broker.
 */
import { ViewerServer } from "../../agent/viewer/server.ts";

const HARNESS = `<!doctype html><meta charset="utf-8"><video id="video" autoplay playsinline muted></video>
<script type="module">import { watch } from "./viewer.js"; window.watch = watch; window.harnessReady = true;</script>`;

export function startViewerServer(brokerPort: number): Promise<ViewerServer> {
  return ViewerServer.start({ host: "127.0.0.1", port: 0, broker: { host: "127.0.0.1", port: brokerPort }, pages: { "/harness.html": HARNESS } });
}
