/**
 * The console's server (tools/console/server.ts, `thea console`) on a free loopback port, with a bare
 * `/harness.html` page that loads viewer.js for a test to drive, and the /mqtt bridge to the
 * test's broker.
 */
import { ConsoleServer } from "../../tools/console/server.ts";
import type { Chromium, Page } from "./chromium.ts";

const HARNESS = `<!doctype html><meta charset="utf-8"><video id="video" autoplay playsinline muted></video>
<script type="module">import { watch } from "./viewer.js"; window.watch = watch; window.harnessReady = true;</script>`;

export function startConsoleServer(brokerPort: number): Promise<ConsoleServer> {
  return ConsoleServer.start({ host: "127.0.0.1", port: 0, broker: { host: "127.0.0.1", port: brokerPort }, pages: { "/harness.html": HARNESS } });
}

/** What a page's viewer asks the agent: a command's name and parameters, answered with its result. */
export type AgentRequest = (name: string, params: object) => Promise<unknown>;

/**
 * The harness page with viewer.js loaded, its signalling (`theaRequest`) sent through the test
 * to the agent's commands, as a hospital's web app would relay it.
 */
export async function openHarness(browser: Chromium, server: ConsoleServer, request: AgentRequest): Promise<Page> {
  const page = await browser.open(server.url("/harness.html"));
  await page.expose("theaRequest", (body) => {
    const { name, params } = JSON.parse(body) as { name: string; params: object };
    return request(name, params);
  });
  await page.waitUntil("window.harnessReady");
  return page;
}

/** A command's result, or its error as a thrown Error (`code: message`). */
export function resultOf(answer: unknown): unknown {
  const response = answer as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
  if (!response.ok) throw new Error(`${response.error?.code}: ${response.error?.message}`);
  return response.result;
}

/**
 * In a harness page: watches `cameraId` with its stethoscope track and plays that track as the
 * console does: its own element, nothing in between (window.viewer is the session). Resolves
 * once playing has started, not once sound arrives.
 */
export async function playStethoscope(page: Page, cameraId: string): Promise<void> {
  await page.evaluate(`(async () => {
    window.viewer = await watch({
      video: document.getElementById("video"),
      camera: ${JSON.stringify(cameraId)},
      request: (name, params) => theaRequest(JSON.stringify({ name, params })),
      clinical: true,
    });
    const element = document.createElement("audio");
    element.muted = true;
    element.srcObject = new MediaStream([window.viewer.stethoscope]);
    document.body.append(element);
    await element.play();
  })()`);
}
