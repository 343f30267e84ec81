/**
 * What keeps the console relay (`thea console`, tools/console/server.ts) from being a door into the
 * broker for any web page the operator's browser opens: the per-start token, the Origin rule and
 * the connection cap, against a real mosquitto and a real headless Chromium; and the relay over
 * TLS with an operator's own certificate from the deploy kit's CA.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import path from "node:path";
import type { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConsoleServer } from "../../../tools/console/server.ts";
import { Kit, pkiRun } from "../../deploy/kit.ts";
import { THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { pageReaches, useBrowser } from "../../helpers/browserFixture.ts";
import { Mosquitto } from "../../helpers/mosquitto.ts";
import { freePort } from "../../helpers/ports.ts";
import { LineLog, terminate, waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();
const chrome = useBrowser(fixture);

/** In a page: tries a WebSocket to `url` and says whether it opened. */
const TRY_WEBSOCKET = (url: string) =>
  `new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(url)}, "mqtt"); ws.onopen = () => { ws.close(); resolve("open"); }; ws.onerror = () => resolve("refused"); })`;

function tokenOf(server: ConsoleServer): string {
  return new URL(server.url()).searchParams.get("token") ?? "";
}

async function relayTo(brokerPort: number, options: { maxConnections?: number } = {}): Promise<ConsoleServer> {
  const server = await ConsoleServer.start({ host: "127.0.0.1", port: 0, broker: { host: "127.0.0.1", port: brokerPort }, ...options });
  fixture.cleanup(() => server.stop());
  return server;
}

/** A broker of the test's own, so that every connection it logs is the relay's. */
async function ownBroker(): Promise<Mosquitto> {
  const broker = await Mosquitto.start();
  fixture.cleanup(() => broker.stop());
  return broker;
}

/** The TCP connections mosquitto has accepted so far (it logs each as it accepts it). */
const CONNECTION = "New connection from";
function connectionsTo(broker: Mosquitto): number {
  return broker.log.lines.filter((line) => line.includes(CONNECTION)).length;
}
function nthConnection(broker: Mosquitto, n: number): Promise<string> {
  return broker.log.waitForLine(`connection ${n} to the broker`, () => connectionsTo(broker) >= n);
}
/** A client's connection ending at the broker (the relay dropped its side). */
function nthClose(broker: Mosquitto, n: number): Promise<string> {
  return broker.log.waitForLine(`close ${n} at the broker`, () => broker.log.lines.filter((line) => line.includes("closed its connection")).length >= n);
}

/** A WebSocket handshake as a tool (or a page's browser, with `origin`) sends it; the HTTP status it got. */
function handshake(server: ConsoleServer, options: { token?: string; origin?: string; key?: string }): Promise<{ status: number; socket?: Duplex }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: "127.0.0.1",
      port: server.port,
      path: options.token === undefined ? "/mqtt" : `/mqtt?token=${encodeURIComponent(options.token)}`,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": options.key ?? randomBytes(16).toString("base64"),
        "sec-websocket-protocol": "mqtt",
        ...(options.origin !== undefined && { origin: options.origin }),
      },
    });
    request.once("upgrade", (_response, socket) => {
      fixture.cleanup(() => {
        socket.destroy();
      });
      resolve({ status: 101, socket });
    });
    request.once("response", (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    request.once("error", reject);
    request.end();
  });
}

async function pageStatus(url: string): Promise<number> {
  return (await fetch(url)).status;
}

describe("the console relay lets in only the operator's own console page", () => {
  it("refuses a WebSocket from a page of another origin, even one that knows the token", async () => {
    const broker = await ownBroker();
    const server = await relayTo(broker.port);
    // Another web page the operator has open, served from another local port.
    const foreign: Server = createServer((_request, response) => response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>another site</title>"));
    await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", resolve));
    fixture.cleanup(() => new Promise<void>((resolve) => foreign.close(() => resolve())));
    const address = foreign.address();
    const foreignPort = typeof address === "object" && address ? address.port : 0;

    const token = encodeURIComponent(tokenOf(server));
    const other = await chrome.browser.open(`http://127.0.0.1:${foreignPort}/`);
    fixture.cleanup(() => other.close());
    expect(await other.evaluate(TRY_WEBSOCKET(`ws://127.0.0.1:${server.port}/mqtt?token=${token}`))).toBe("refused");
    expect(await other.evaluate(TRY_WEBSOCKET(`ws://localhost:${server.port}/mqtt?token=${token}`))).toBe("refused");

    // The console's own page, with the same token, gets through (its MQTT client, then a second try).
    const own = await chrome.browser.open(server.url("/?device=none"));
    fixture.cleanup(() => own.close());
    expect(await pageReaches(own, "the console's broker connected", "document.getElementById('broker').textContent === 'connected'")).toBe(true);
    expect(await own.evaluate(TRY_WEBSOCKET(`ws://127.0.0.1:${server.port}/mqtt?token=${token}`))).toBe("open");
    await nthConnection(broker, 2);
    // The foreign page's tries, made first, never reached the broker: only the own page's did.
    expect(connectionsTo(broker)).toBe(2);
  });

  it("wants the token for the page and for the WebSocket: none or a wrong one is refused (403)", async () => {
    const broker = await ownBroker();
    const server = await relayTo(broker.port);
    const token = tokenOf(server);
    const origin = new URL(server.url()).origin;
    expect(await pageStatus(`${origin}/?device=x`)).toBe(403);
    expect(await pageStatus(`${origin}/index.html?device=x&token=${"A".repeat(token.length)}`)).toBe(403);
    expect(await pageStatus(server.url("/?device=x"))).toBe(200);
    expect((await handshake(server, { origin })).status).toBe(403);
    expect((await handshake(server, { origin, token: token.slice(1) })).status).toBe(403);
    expect((await handshake(server, {})).status).toBe(403); // a tool with no Origin still needs it
    expect((await handshake(server, { origin: "http://evil.example", token })).status).toBe(403);
    expect((await handshake(server, { origin, token })).status).toBe(101);
    expect((await handshake(server, { token })).status).toBe(101); // a tool (no Origin) with the token
    await nthConnection(broker, 2);
    expect(connectionsTo(broker)).toBe(2);
  });

  it("holds at most --max-connections WebSockets and refuses more (503) without connecting to the broker", async () => {
    const broker = await ownBroker();
    const server = await relayTo(broker.port, { maxConnections: 2 });
    const token = tokenOf(server);
    const origin = new URL(server.url()).origin;
    const first = await handshake(server, { origin, token });
    const second = await handshake(server, { origin, token });
    expect([first.status, second.status]).toEqual([101, 101]);
    await nthConnection(broker, 2);
    expect((await handshake(server, { origin, token })).status).toBe(503);
    expect((await handshake(server, { origin, token })).status).toBe(503);

    // One goes away without a close frame (a crashed tab): its slot is free again, and the next
    // one is only the third connection the broker ever saw.
    first.socket?.destroy();
    await nthClose(broker, 1);
    expect((await handshake(server, { origin, token })).status).toBe(101);
    await nthConnection(broker, 3);
    expect(connectionsTo(broker)).toBe(3);
  });

  it("refuses a malformed handshake (400) without holding a place or connecting to the broker", async () => {
    const broker = await ownBroker();
    const server = await relayTo(broker.port, { maxConnections: 1 });
    const token = tokenOf(server);
    const origin = new URL(server.url()).origin;
    // RFC 6455 §4.1: the key is 16 random bytes in base64; this is not one.
    for (let i = 0; i < 3; i++) expect((await handshake(server, { origin, token, key: "not-a-key" })).status).toBe(400);
    expect((await handshake(server, { origin, token })).status).toBe(101);
    await nthConnection(broker, 1);
    expect(connectionsTo(broker)).toBe(1);
  });
});

describe("the console relay to a TLS broker with the operator's own certificate", () => {
  it("connects the console page over mqtts:// as operator.omar, asking for answers under reply/operator.omar", async () => {
    // The deploy kit as a site installs it (certificates made now by thea-pki, the ACL by
    // thea-roster, the kit's mosquitto.conf); nothing of it is kept.
    const kit = await Kit.start({
      devices: ["box-a"],
      people: [["operator", "omar"]],
      roster: ["sites:", "  north:", "    boxes: [box-a]", "people:", "  operator.omar:", "    sites: [north]", ""].join("\n"),
    });
    fixture.cleanup(() => kit.stop());
    const box = await kit.clientAs("box-a");
    await box.publish("thea/v1/box-a/status", JSON.stringify({ online: true }), { qos: 1, retain: true });
    const asked = await box.armed("thea/v1/box-a/cmd/+", () => true);

    // `thea console` as an operator starts it, with their certificate from the kit.
    const listen = await freePort();
    const omar = kit.issued("operator.omar");
    const child = spawn(
      THEA_BIN,
      ["console", "--broker", kit.url, "--cert", omar.cert, "--key", omar.key, "--ca", path.join(kit.pki, "ca.crt"), "--listen", `127.0.0.1:${listen}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    fixture.cleanup(() => terminate(child, "thea console"));
    const out = new LineLog();
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => out.push(chunk));
    const printed = await out.waitForLine("thea console to print its address", (line) => line.startsWith("console: open "), 20_000);
    const address = new URL(printed.slice("console: open ".length));
    expect(address.origin).toBe(`http://127.0.0.1:${listen}`);
    expect(address.searchParams.get("token")).toMatch(/^[\w-]{43}$/);
    // The kit lets a person read answers only under reply/{their CN}: the address asks for them there.
    expect(address.searchParams.get("requester")).toBe("operator.omar");

    address.searchParams.set("device", "box-a");
    const page = await chrome.browser.open(address.href);
    fixture.cleanup(() => page.close());
    expect(await pageReaches(page, "the broker connected", "document.getElementById('broker').textContent === 'connected'")).toBe(true);
    expect(await pageReaches(page, "the box online", "document.getElementById('box').textContent === 'online'")).toBe(true);
    // The broker knows the page by the operator's certificate, and the page's first request asks
    // for its answer where the operator may read it.
    await kit.broker.log.waitForLine("the console's client as operator.omar", (line) => line.includes("u'operator.omar'"));
    const request = await asked.message;
    expect(request.packet.properties?.responseTopic).toMatch(/^thea\/v1\/box-a\/reply\/operator\.omar\//);

    // One connection per certificate on the kit's broker: a second tab would take the first one's
    // place and the first would take it back, for ever. The relay lets the open tab keep working
    // and refuses the second before the broker sees it.
    const connections = () => kit.broker.log.lines.filter((line) => line.includes("u'operator.omar'")).length;
    const second = await chrome.browser.open(address.href);
    fixture.cleanup(() => second.close());
    await out.waitForLine("the relay to refuse the second tab", (line) => line.includes("1 connections already"), 20_000);
    expect(await pageReaches(second, "the second tab not connected", "document.getElementById('broker').textContent !== 'connected'")).toBe(true);
    expect(await page.evaluate("document.getElementById('broker').textContent")).toBe("connected");
    expect(connections()).toBe(1);

    // The broker's certificate is checked: told to trust another CA, the relay ends the WebSocket
    // at once instead of talking to a broker it cannot verify.
    const foreign = path.join(kit.work, "foreign");
    await pkiRun("init", foreign);
    const credulous = await ConsoleServer.start({
      host: "127.0.0.1",
      port: 0,
      broker: { host: "127.0.0.1", port: kit.broker.port, tls: { ca: await readFile(path.join(foreign, "ca.crt")), cert: await readFile(omar.cert), key: await readFile(omar.key) } },
    });
    fixture.cleanup(() => credulous.stop());
    const attempt = await handshake(credulous, { token: tokenOf(credulous) });
    expect(attempt.status).toBe(101);
    await waitFor<void>("the relay to end the WebSocket", 10_000, (done) => {
      attempt.socket?.once("close", () => done()).resume(); // read what comes, so that its end is seen
      return () => undefined;
    });
  });
});
