/**
 * The fleet server with a roster, over real TLS with client certificates made by openssl: two
 * people of different sites each see only their boxes and the counts of their boxes; a box of
 * another site answers exactly as a box that does not exist; the event stream carries only their
 * rows; a certificate the roster does not name, or without a CN, gets 403 and nothing of the
 * fleet; a new roster takes effect at once and ends the streams of those whose sight it changed.
 */
import { connect as tlsConnect, type SecureVersion } from "node:tls";
import { describe, expect, it } from "vitest";
import type { FleetServer } from "../../../tools/fleet/server.ts";
import { parseRoster } from "../../../tools/roster/roster.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { readEventStream, type RawEventStream } from "../../helpers/rawEventStream.ts";
import { useTlsFleetServer, type HttpsReply } from "../../helpers/tlsFleetServer.ts";
import { waitFor } from "../../helpers/wait.ts";

const { cleanup } = useCleanups();

const LAN = "/CN=operator.dr-lan";
const MINH = "/CN=technician.minh";
const STRANGER = "/CN=operator.not-on-the-roster";
const NO_CN = "/O=thea test";

const ROSTER = `
sites:
  dak-lak:
    krong-pac:
      ea-kly: [dak-01, dak-02]
  gia-lai:
    chu-se:
      ia-blang: [gia-01, gia-02, gia-03]
people:
  operator.dr-lan: { sites: [dak-lak] }
  technician.minh: { sites: [gia-lai] }
`;

const tlsFleet = useTlsFleetServer({ subjects: [LAN, MINH, STRANGER, NO_CN], roster: ROSTER, cleanup });
const { client, get } = tlsFleet;

function fleet(): FakeFleetView {
  return new FakeFleetView([
    boxRow("dak-01"),
    boxRow("dak-02", { online: false, offlineReason: "connection-lost", attention: [{ kind: "offline", forMin: 30 }] }),
    boxRow("gia-01"),
    boxRow("gia-02"),
    boxRow("gia-03", { attention: [{ kind: "disk-full", usedPercent: 91 }] }),
    // Seen by the fleet, named by no site of the roster: nobody here may see it.
    boxRow("elsewhere-01"),
  ]);
}

const serve = (view: FakeFleetView, roster = ROSTER): Promise<FleetServer> => tlsFleet.serve({ view, roster, streamIntervalMs: 20 });

const rowsOf = (reply: HttpsReply) => (JSON.parse(reply.body) as { rows: Array<{ deviceId: string }> }).rows.map((row) => row.deviceId);

describe("the fleet server with a roster", () => {
  it("shows each person only the boxes of their sites, and counts only those", async () => {
    const server = await serve(fleet());
    expect(rowsOf(await get(server, LAN, "/api/boxes"))).toEqual(["dak-02", "dak-01"]);
    expect(rowsOf(await get(server, MINH, "/api/boxes"))).toEqual(["gia-03", "gia-01", "gia-02"]);
    // A filter narrows within their boxes; it never reaches past them.
    expect(rowsOf(await get(server, LAN, "/api/boxes?q=gia"))).toEqual([]);
    expect(rowsOf(await get(server, MINH, "/api/boxes?state=attention"))).toEqual(["gia-03"]);
    expect(JSON.parse((await get(server, LAN, "/api/counts")).body)).toEqual({ total: 2, online: 1, offline: 1, attention: 1, updating: 0 });
    expect(JSON.parse((await get(server, MINH, "/api/counts")).body)).toEqual({ total: 3, online: 3, offline: 0, attention: 1, updating: 0 });
  });

  it("answers a box of another site, and its history, exactly as a box that does not exist", async () => {
    const server = await serve(fleet());
    expect((await get(server, LAN, "/api/boxes/dak-01")).status).toBe(200);
    expect((await get(server, LAN, "/api/boxes/dak-02/history")).status).toBe(200);
    for (const path of ["/api/boxes/ID", "/api/boxes/ID/history?days=3"]) {
      const other = await get(server, LAN, path.replace("ID", "gia-01"));
      const none = await get(server, LAN, path.replace("ID", "gia-99"));
      expect(other.status).toBe(404);
      expect(other.body).toBe(none.body.replace("gia-99", "gia-01"));
    }
    expect((await get(server, MINH, "/api/boxes/dak-01")).status).toBe(404);
    expect((await get(server, MINH, "/api/boxes/elsewhere-01")).status).toBe(404);
  });

  it("refuses a certificate the roster does not name, or without a CN, with 403 and nothing of the fleet", async () => {
    const server = await serve(fleet());
    for (const subject of [STRANGER, NO_CN]) {
      for (const path of ["/", "/fleet.js", "/api/boxes", "/api/counts", "/api/boxes/dak-01", "/api/boxes/nothing", "/api/stream", "/api/no-such-path"]) {
        const reply = await get(server, subject, path);
        expect({ subject, path, status: reply.status }).toEqual({ subject, path, status: 403 });
        expect(JSON.parse(reply.body)).toEqual({ error: "this certificate is not on the fleet service's roster" });
      }
    }
    expect(server.streams.open).toBe(0);
  });

  it("streams to each person the changes of their boxes only, with their counts", async () => {
    const view = fleet();
    const server = await serve(view);
    const lan = await openStream(server, LAN);
    const minh = await openStream(server, MINH);
    await waitFor("both streams to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 2 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    view.change(boxRow("gia-01", { online: false, attention: [{ kind: "offline", forMin: 12 }] }), boxRow("elsewhere-01", { online: false }));
    const seen = JSON.parse(await minh.next((data) => data.includes("gia-01"))) as { rows: Array<{ deviceId: string }>; removed: string[]; counts: { total: number; offline: number } };
    expect(seen.rows.map((row) => row.deviceId)).toEqual(["gia-01"]);
    expect(seen.removed).toEqual([]);
    expect(seen.counts).toMatchObject({ total: 3, offline: 1 });
    view.change(boxRow("dak-01", { online: false }));
    const theirs = JSON.parse(await lan.next((data) => data.includes("dak-01"))) as { rows: Array<{ deviceId: string }>; counts: { total: number; offline: number } };
    expect(theirs.rows.map((row) => row.deviceId)).toEqual(["dak-01"]);
    expect(theirs.counts).toMatchObject({ total: 2, offline: 2 });
    // Nothing of gia-lai's or of the unlisted box ever reached dr-lan, not even a batch of no rows.
    expect(lan.events()).toHaveLength(1);
    expect(lan.text()).not.toMatch(/gia-|elsewhere/);
    expect(minh.text()).not.toMatch(/dak-|elsewhere/);
  });

  it("caps one person's event streams, leaving room for the others", async () => {
    const server = await tlsFleet.serve({ view: fleet(), maxStreamsPerPerson: 2 });
    await openStream(server, LAN);
    await openStream(server, LAN);
    await waitFor("two streams to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 2 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    const third = await get(server, LAN, "/api/stream");
    expect(third.status).toBe(503);
    expect(JSON.parse(third.body)).toEqual({ error: "too many event streams open with this certificate; close a tab" });
    await openStream(server, MINH);
    await waitFor("another person's stream to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 3 && done(undefined), 10);
      return () => clearInterval(timer);
    });
  });

  it("knows a person again on a resumed TLS session (a browser's next connection)", async () => {
    const server = await serve(fleet());
    for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
      const first = await countsOver(server, LAN, version);
      const again = await countsOver(server, LAN, version, first.session);
      expect({ version, reused: again.reused, status: again.status }).toEqual({ version, reused: true, status: "HTTP/1.1 200 OK" });
    }
  });

  it("answers by a new roster at once, and ends the streams of those whose boxes it changed", async () => {
    const view = fleet();
    const server = await serve(view);
    const lan = await openStream(server, LAN);
    const minh = await openStream(server, MINH);
    await waitFor("both streams to be open", 5000, (done) => {
      const timer = setInterval(() => server.streams.open === 2 && done(undefined), 10);
      return () => clearInterval(timer);
    });
    // dr-lan now covers one commune's neighbour only; technician.minh is unchanged.
    const ended = server.setRoster(parseRoster(ROSTER.replace("operator.dr-lan: { sites: [dak-lak] }", "operator.dr-lan: { sites: [gia-lai/chu-se/ia-blang] }")));
    expect(ended).toBe(1);
    await lan.ended();
    expect(server.streams.open).toBe(1);
    expect(rowsOf(await get(server, LAN, "/api/boxes"))).toEqual(["gia-03", "gia-01", "gia-02"]);
    view.change(boxRow("gia-02", { online: false }));
    await minh.next((data) => data.includes("gia-02"));
    // Taken off the roster: refused from the next request on.
    server.setRoster(parseRoster(ROSTER.replace("  operator.dr-lan: { sites: [dak-lak] }\n", "")));
    expect((await get(server, LAN, "/api/counts")).status).toBe(403);
  });
});

/** /api/stream over TLS with a person's certificate, raw, collecting its events. */
async function openStream(server: FleetServer, subject: string): Promise<RawEventStream> {
  const socket = tlsConnect({ host: "127.0.0.1", port: server.port, ca: tlsFleet.ca, ...client(subject) });
  cleanup(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  return readEventStream(socket, server.port);
}

/** GET /api/counts on a connection of its own, resuming `session` if given: the status line, whether it was resumed, and the session to resume next. */
function countsOver(server: FleetServer, subject: string, version: SecureVersion, session?: Buffer): Promise<{ status: string; reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: server.port, ca: tlsFleet.ca, ...client(subject), minVersion: version, maxVersion: version, ...(session && { session }) });
    cleanup(() => void socket.destroy());
    let next: Buffer | undefined;
    let text = "";
    socket.on("session", (ticket: Buffer) => (next = ticket));
    socket.once("secureConnect", () => socket.write(`GET /api/counts HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`));
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.once("end", () => resolve({ status: text.split("\r\n")[0] ?? "", reused: socket.isSessionReused(), session: next }));
    socket.once("error", reject);
  });
}
