/**
 * The console page on the fleet service's origin (/console/?device=…), in a real headless
 * Chromium against a real agent with a test camera, through the fleet server's relay: the page
 * that the box page frames. Plain HTTP on loopback with actWithoutRoster (everyone a technician
 * of every box), as `make demo` runs it; the roster's rules are the relay's tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { FleetServer } from "../../../tools/fleet/server.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { pageReaches } from "../../helpers/browserFixture.ts";
import { Chromium } from "../../helpers/chromium.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";

const fixture = useBroker();
const SERVICE = "fleet.demo";

let browser: Chromium | undefined;
beforeAll(async () => {
  browser = await Chromium.launch();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function serve(deviceId: string, options: { actWithoutRoster?: boolean; console?: boolean } = {}): Promise<FleetServer> {
  const server = await FleetServer.start({
    view: new FakeFleetView([boxRow(deviceId)]),
    port: 0,
    actWithoutRoster: options.actWithoutRoster ?? true,
    ...(options.console !== false && { console: { broker: { host: "127.0.0.1", port: fixture.broker.port }, serviceCn: SERVICE } }),
  });
  fixture.cleanup(() => server.stop());
  return server;
}

describe("the console in the fleet's box page", () => {
  it("shows live video of the box's camera through the fleet server's relay", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: ["media: { loopbackOnly: true }", "cameras:", "  - { id: room, source: { type: test }, width: 640, height: 360 }"].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (message) => (message.json() as { online: boolean }).online);
    const server = await serve(agent.deviceId);
    if (!browser) throw new Error("no browser");
    const page = await browser.open(`${server.url}console/?device=${agent.deviceId}&camera=room`);
    fixture.cleanup(() => page.close());
    expect(await pageReaches(page, "the broker connected", "document.getElementById('broker').textContent === 'connected'")).toBe(true);
    expect(await pageReaches(page, "the box online", "document.getElementById('box').textContent === 'online'")).toBe(true);
    const stats = await pageReaches<{ frameWidth: number }>(page, "the picture", "window.theaViewer && window.theaViewer.stats().then((s) => s.framesDecoded > 10 && s)");
    expect(stats.frameWidth).toBe(640);
    // The answers came to the reply space the server named, the only one its relay lets it read;
    // the page's own style block ran under the page's policy (by its hash).
    expect(await page.evaluate("document.querySelector('meta[name=thea-requester]').content")).toBe(`${SERVICE}/anyone`);
    expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe("rgb(17, 17, 17)");
  });

  it("is framed in the box page, where the person picks the camera and its video plays", async () => {
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      extraYaml: ["media: { loopbackOnly: true }", "cameras:", "  - { id: room, source: { type: test }, width: 640, height: 360 }"].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (message) => (message.json() as { online: boolean }).online);
    const server = await serve(agent.deviceId);
    if (!browser) throw new Error("no browser");
    const page = await browser.open(`${server.url}box.html?id=${agent.deviceId}`);
    fixture.cleanup(() => page.close());
    // The box page asks whether the console is there for this box before it frames it.
    const src = "document.getElementById('console').hidden === false && document.getElementById('console-frame').getAttribute('src')";
    expect(await pageReaches(page, "the console framed", src)).toBe(`/console/?device=${agent.deviceId}`);
    const framed = "document.getElementById('console-frame').contentWindow";
    await pageReaches(page, "the camera listed in the frame", `${framed}.document.querySelector('button[data-camera=room]') !== null`);
    await page.evaluate(`${framed}.document.querySelector('button[data-camera=room]').click()`);
    const stats = await pageReaches<{ frameWidth: number }>(page, "the picture in the frame", `${framed}.theaViewer && ${framed}.theaViewer.stats().then((s) => s.framesDecoded > 10 && s)`);
    expect(stats.frameWidth).toBe(640);
  });

  it("may be framed by the fleet's own pages only, and is served with its scripts", async () => {
    const server = await serve("box-1");
    const page = await fetch(`${server.url}console/?device=box-1`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'self'");
    expect(page.headers.get("x-frame-options")).toBeNull();
    for (const script of ["console.js", "viewer.js", "mqtt.esm.js"]) {
      const answer = await fetch(`${server.url}console/${script}`);
      expect([answer.status, answer.headers.get("content-type")]).toEqual([200, "text/javascript"]);
    }
    // The fleet's own page is still never framed.
    expect((await fetch(server.url)).headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("names nobody without a roster: the page and the relay are refused unless the service acts without one", async () => {
    const server = await serve("box-1", { actWithoutRoster: false });
    const page = await fetch(`${server.url}console/?device=box-1`);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("roster");
    const upgrade = await fetch(`${server.url}console/mqtt`, { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } }).catch((error: unknown) => error);
    expect(upgrade).toBeInstanceOf(Error); // the socket was ended with 403, which fetch cannot take as an answer to an upgrade
  });

  it("takes the relay's WebSocket only under the server's own names and from its own pages", async () => {
    const server = await serve("box-1");
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${server.port}/console/mqtt`, ["mqtt"], { headers });
        socket.once("open", () => {
          socket.terminate();
          resolve(101);
        });
        socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
        socket.once("error", reject);
      });
    // A page that rebound its own DNS name to 127.0.0.1 still sends its own name.
    expect(await status({ host: `rebound.example:${server.port}` })).toBe(421);
    expect(await status({ origin: "http://evil.example" })).toBe(403);
    expect(await status({ origin: `http://127.0.0.1:${server.port}` })).toBe(101);
  });
});
