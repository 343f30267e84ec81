/**
 * The fleet service's HTTP API (tools/fleet/server.ts) over a fake FleetView: what it answers,
 * that filters reach the view as given, that bad input gets a 4xx with a JSON error, and that its
 * event stream delivers changes, drops a reader that stops reading, and is capped like the
 * connections are; over HTTPS, only a client certificate from its CA gets in.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { FleetServer, type FleetServerOptions } from "../../../tools/fleet/server.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { readEventStream, type RawEventStream } from "../../helpers/rawEventStream.ts";
import { waitFor } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();
const run = promisify(execFile);

async function serve(view: FakeFleetView, options: Partial<FleetServerOptions> = {}): Promise<FleetServer> {
  const server = await FleetServer.start({ view, port: 0, ...options });
  cleanup(() => server.stop());
  return server;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(server: FleetServer, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: server.port, path, method: options.method ?? "GET", headers: options.headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

const json = (reply: Reply): unknown => JSON.parse(reply.body);

function fleet(): FakeFleetView {
  return new FakeFleetView([
    boxRow("box-a"),
    boxRow("box-b", { online: false, offlineReason: "connection-lost", attention: [{ kind: "offline", forMin: 42 }] }),
    boxRow("box-c", { site: { province: "Ha Giang" }, attention: [{ kind: "disk-full", usedPercent: 87 }] }),
  ]);
}

describe("FleetServer's API", () => {
  it("lists the boxes as the view orders them, with the counts, one box and its history", async () => {
    const view = fleet();
    const server = await serve(view);
    const list = await get(server, "/api/boxes");
    expect(list.status).toBe(200);
    expect(list.headers["content-type"]).toMatch(/^application\/json/);
    expect((json(list) as { rows: Array<{ deviceId: string }> }).rows.map((row) => row.deviceId)).toEqual(["box-b", "box-c", "box-a"]);
    expect(json(await get(server, "/api/counts"))).toEqual({ total: 3, online: 2, offline: 1, attention: 2, updating: 0 });
    expect(json(await get(server, "/api/boxes/box-c"))).toMatchObject({ deviceId: "box-c", attention: [{ kind: "disk-full", usedPercent: 87 }] });
    const before = Date.now();
    const history = await get(server, "/api/boxes/box-b/history?days=7");
    expect(history.status).toBe(200);
    expect(json(history)).toMatchObject({ deviceId: "box-b", days: 7, entries: [{ kind: "offline" }] });
    const asked = view.historyAsked.at(-1);
    expect(asked?.deviceId).toBe("box-b");
    expect(before - (asked?.sinceMs ?? 0)).toBeGreaterThanOrEqual(7 * 86_400_000 - 1000);
    expect(before - (asked?.sinceMs ?? 0)).toBeLessThanOrEqual(7 * 86_400_000 + 1000);
  });

  it("passes the filters to the view as given, empty ones left out", async () => {
    const view = fleet();
    const server = await serve(view);
    const reply = await get(server, "/api/boxes?province=Ha%20Giang&district=&commune=X&version=1.4.0&state=attention&q=box");
    expect(reply.status).toBe(200);
    expect(view.queries.at(-1)).toEqual({ province: "Ha Giang", commune: "X", version: "1.4.0", state: "attention", q: "box" });
  });

  it("answers 404 for an unknown path or box, 400 with a JSON error for bad input, 405 for other methods", async () => {
    const server = await serve(fleet());
    const cases: Array<[string, number, RegExp]> = [
      ["/api/nothing", 404, /no such path/],
      ["/etc/passwd", 404, /no such path/],
      ["/api/boxes/box-z", 404, /no box box-z/],
      ["/api/boxes/box-z/history", 404, /no box/],
      ["/api/boxes/box-a/other", 404, /no such path/],
      ["/api/boxes?state=sleeping", 400, /state must be one of/],
      ["/api/boxes?colour=red", 400, /unknown parameter "colour"/],
      ["/api/boxes?q=a&q=b", 400, /more than once/],
      [`/api/boxes?q=${"x".repeat(65)}`, 400, /longer than 64/],
      ["/api/boxes/BOX%20A", 400, /a box id is/],
      ["/api/boxes/%E0%A4%A", 400, /percent-encoding/],
      [`/api/boxes/${"a".repeat(65)}`, 400, /a box id is/],
      ["/api/boxes/box-a/history?days=31", 400, /days must be/],
      ["/api/boxes/box-a/history?days=0", 400, /days must be/],
      ["/api/boxes/box-a/history?days=1.5", 400, /days must be/],
      ["/api/counts?x=1", 400, /unknown parameter/],
      [`/api/boxes?q=${"y".repeat(1100)}`, 414, /longer than 1024/],
    ];
    for (const [path, status, error] of cases) {
      const reply = await get(server, path);
      expect({ path, status: reply.status }).toEqual({ path, status });
      expect((json(reply) as { error: string }).error).toMatch(error);
    }
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const reply = await get(server, "/api/boxes", { method });
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe("GET, HEAD");
    }
    expect((await get(server, "/api/boxes", { method: "HEAD" })).status).toBe(200);
  });

  it("refuses a Host that is not its own (a DNS-rebinding page) and a cross-site request", async () => {
    const server = await serve(fleet(), { hosts: ["fleet.hospital.example:8090", "fleet.hospital.example:80"] });
    expect((await get(server, "/api/counts", { headers: { host: "fleet.hospital.example" } })).status).toBe(200);
    expect((await get(server, "/api/counts", { headers: { host: "fleet.hospital.example:9999" } })).status).toBe(421);
    expect((await get(server, "/api/counts", { headers: { host: "evil.example" } })).status).toBe(421);
    expect((await get(server, "/api/counts", { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
    expect((await get(server, "/api/counts", { headers: { host: "fleet.hospital.example:8090" } })).status).toBe(200);
    expect((await get(server, "/api/counts", { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect((await get(server, "/api/stream", { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    // An operator following a link to the page from another site (a wiki, a mail) gets the page.
    expect((await get(server, "/", { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(200);
  });

  it("serves the page with a policy that forbids inline script and framing", async () => {
    const server = await serve(fleet());
    const page = await get(server, "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="fleet.js">');
    const policy = String(page.headers["content-security-policy"]);
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    for (const script of ["/fleet.js", "/fleetTable.js", "/fleetWords.js", "/fleet.css"]) expect((await get(server, script)).status).toBe(200);
    expect((await get(server, "/../server.ts")).status).toBe(404);
  });
});

/** Opens /api/stream raw and collects its events. */
async function openStream(server: FleetServer): Promise<RawEventStream & { socket: net.Socket }> {
  const socket = net.connect(server.port, "127.0.0.1");
  cleanup(() => void socket.destroy());
  await once(socket, "connect");
  return { socket, ...readEventStream(socket, server.port) };
}

describe("FleetServer's event stream", () => {
  it("delivers a changed row with the counts after it", async () => {
    const view = fleet();
    const server = await serve(view, { streamIntervalMs: 20 });
    const stream = await openStream(server);
    await waitFor("the stream to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 1 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    view.change(boxRow("box-a", { online: false, attention: [{ kind: "offline", forMin: 5 }] }));
    const data = JSON.parse(await stream.next((event) => event.includes("box-a"))) as { rows: Array<{ deviceId: string; online: boolean }>; counts: { offline: number } };
    expect(data.rows).toEqual([expect.objectContaining({ deviceId: "box-a", online: false })]);
    expect(data.counts.offline).toBe(2);
  });

  it("batches many changes into one event per interval", async () => {
    const view = fleet();
    const server = await serve(view, { streamIntervalMs: 100 });
    const stream = await openStream(server);
    await waitFor("the stream to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 1 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    for (let i = 0; i < 50; i++) view.change(boxRow(`box-${i}`));
    const data = JSON.parse(await stream.next((event) => event.includes("box-49"))) as { rows: unknown[] };
    expect(data.rows).toHaveLength(50);
    expect(stream.events()).toHaveLength(1);
  });

  it("drops a reader that stops reading once its queue passes the cap, and keeps serving the others", async () => {
    const view = new FakeFleetView(Array.from({ length: 500 }, (_, i) => boxRow(`box-${i}`, { site: { province: "p".repeat(64), district: "d".repeat(64), commune: "c".repeat(64) } })));
    const server = await serve(view, { streamIntervalMs: 5, maxQueuedBytes: 256 * 1024 });
    const slow = await openStream(server);
    const fast = await openStream(server);
    await waitFor("both streams to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 2 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    slow.socket.pause();
    const dropped = waitFor<{ queuedBytes: number }>("the slow reader to be dropped", 20_000, (done) => {
      server.streams.events.once("stream-dropped", done);
      // Every box changes, again and again: each batch is ~400 kB until the kernel's buffers and then the cap are full.
      const timer = setInterval(() => view.change(...view.rows.values()), 10);
      return () => clearInterval(timer);
    });
    const { queuedBytes } = await dropped;
    expect(queuedBytes).toBeGreaterThan(256 * 1024);
    expect(server.streams.open).toBe(1);
    const before = fast.events().length;
    view.change(boxRow("box-new"));
    await fast.next((event) => event.includes("box-new"));
    expect(fast.events().length).toBeGreaterThan(before);
  });

  it("refuses a stream past the cap with 503", async () => {
    const server = await serve(fleet(), { maxStreams: 1 });
    await openStream(server);
    await waitFor("the first stream to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 1 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    const reply = await get(server, "/api/stream");
    expect(reply.status).toBe(503);
    expect((json(reply) as { error: string }).error).toMatch(/too many event streams/);
  });
});

describe("FleetServer's connection cap", () => {
  it("closes connections past the cap at once, and serves again when one ends", async () => {
    const server = await serve(fleet(), { maxConnections: 2 });
    const sockets = await Promise.all([0, 1].map(async () => {
      const socket = net.connect(server.port, "127.0.0.1");
      cleanup(() => void socket.destroy());
      await once(socket, "connect");
      return socket;
    }));
    // Both held open (a keep-alive or a slow client): a third is closed without an answer.
    const third = net.connect(server.port, "127.0.0.1");
    cleanup(() => void third.destroy());
    third.write(`GET /api/counts HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    let answered = "";
    third.on("data", (chunk: Buffer) => (answered += chunk.toString()));
    // Node ends it as soon as it accepts it: a close, or a reset if the request was already on its way.
    await new Promise((resolve) => third.once("close", resolve).on("error", () => undefined));
    expect(answered).toBe("");
    sockets[0]?.destroy();
    await waitFor("a slot to be free again", 5000, (done) => {
      const timer = setInterval(() => {
        get(server, "/api/counts").then((reply) => reply.status === 200 && done(undefined), () => undefined);
      }, 50);
      return () => clearInterval(timer);
    });
  });
});

/** A CA, the server's certificate for 127.0.0.1 and a person's client certificate, made with openssl. */
async function pki(): Promise<Record<"ca" | "serverCert" | "serverKey" | "clientCert" | "clientKey" | "strangerCert" | "strangerKey", Buffer>> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-pki-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  const selfSigned = (name: string, cn: string) => openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "1", "-subj", `/CN=${cn}`);
  await selfSigned("ca", "test fleet CA");
  await selfSigned("stranger", "not from the CA");
  for (const [name, cn, extension] of [["server", "127.0.0.1", "subjectAltName=IP:127.0.0.1"], ["client", "operator-1", "extendedKeyUsage=clientAuth"]] as const) {
    await openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    await writeFile(path.join(dir, `${name}.ext`), `${extension}\n`);
    await openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
  }
  const read = (file: string) => readFile(path.join(dir, file));
  return {
    ca: await read("ca.crt"),
    serverCert: await read("server.crt"),
    serverKey: await read("server.key"),
    clientCert: await read("client.crt"),
    clientKey: await read("client.key"),
    strangerCert: await read("stranger.crt"),
    strangerKey: await read("stranger.key"),
  };
}

function getTls(server: FleetServer, ca: Buffer, client?: { cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest({ host: "127.0.0.1", port: server.port, path: "/api/counts", ca, ...client }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", reject);
    request.end();
  });
}

describe("FleetServer over HTTPS", () => {
  it("serves a browser with a client certificate from its CA, and no one else", async () => {
    const keys = await pki();
    const server = await serve(fleet(), { tls: { cert: keys.serverCert, key: keys.serverKey, ca: keys.ca } });
    expect(server.url).toBe(`https://127.0.0.1:${server.port}/`);
    expect(await getTls(server, keys.ca, { cert: keys.clientCert, key: keys.clientKey })).toBe(200);
    await expect(getTls(server, keys.ca)).rejects.toThrow();
    await expect(getTls(server, keys.ca, { cert: keys.strangerCert, key: keys.strangerKey })).rejects.toThrow();
  });
});
