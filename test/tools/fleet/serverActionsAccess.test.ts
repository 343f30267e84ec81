/**
 * The box page's actions with a roster, over real TLS with client certificates: an operator sees
 * a box of theirs and may send the watching commands (ping, health.now, peripherals.list) but is
 * refused 403 for every action that changes the box and for its configuration; a technician may
 * act on their boxes only (another site's box answers 404, as for reading); each person's request
 * ids are their own.
 */
import { request as httpsRequest } from "node:https";
import { describe, expect, it } from "vitest";
import { scopedId } from "../../../tools/fleet/actionLedger.ts";
import type { FleetServer } from "../../../tools/fleet/server.ts";
import { useCleanups } from "../../helpers/cleanups.ts";
import { FakeBoxLink } from "../../helpers/fakeBoxLink.ts";
import { FakeFleetView, boxRow } from "../../helpers/fakeFleetView.ts";
import { useTlsFleetServer } from "../../helpers/tlsFleetServer.ts";

const { cleanup } = useCleanups();

const LAN = "/CN=operator.dr-lan";
const MINH = "/CN=technician.minh";
const ROSTER = `
sites:
  dak-lak:
    krong-pac:
      ea-kly: [dak-01]
  gia-lai:
    chu-se:
      ia-blang: [gia-01]
people:
  operator.dr-lan: { sites: [dak-lak, gia-lai] }
  technician.minh: { sites: [gia-lai] }
`;

const tlsFleet = useTlsFleetServer({ subjects: [LAN, MINH], roster: ROSTER, cleanup });

async function serve(): Promise<{ server: FleetServer; link: FakeBoxLink }> {
  const link = new FakeBoxLink();
  const view = new FakeFleetView([boxRow("dak-01"), boxRow("gia-01")]);
  const server = await tlsFleet.serve({ view, link, actWithoutRoster: true });
  return { server, link };
}

function ask(server: FleetServer, subject: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const pair = tlsFleet.client(subject);
  const headers = body === undefined ? {} : { "content-type": "application/json", origin: `https://127.0.0.1:${server.port}`, "sec-fetch-site": "same-origin" };
  return new Promise((resolve, reject) => {
    const request = httpsRequest({ host: "127.0.0.1", port: server.port, path, method: body === undefined ? "GET" : "POST", headers, ca: tlsFleet.ca, ...pair, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    request.on("error", reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

let ids = 0;
const newId = () => `roster-${Date.now()}-${(ids += 1)}`;

describe("the box page's actions with a roster", () => {
  it("lets an operator watch a box and send the watching commands, and refuses them every change", async () => {
    const { server, link } = await serve();
    expect((await ask(server, LAN, "/api/boxes/gia-01")).status).toBe(200);
    const allowed = (await ask(server, LAN, "/api/boxes/gia-01/actions")).body;
    expect(allowed).toMatchObject({ role: "operator", configure: false });
    expect((allowed.actions as Array<{ name: string }>).map((action) => action.name)).toEqual(["ping", "health.now", "peripherals.list"]);
    for (const name of ["ping", "health.now", "peripherals.list"]) {
      expect((await ask(server, LAN, `/api/boxes/gia-01/actions/${name}`, { requestId: newId() })).status).toBe(200);
    }
    for (const name of ["peripherals.rescan", "logs.tail", "diagnostics.collect", "agent.restart", "system.reboot"]) {
      const reply = await ask(server, LAN, `/api/boxes/gia-01/actions/${name}`, { requestId: newId() });
      expect({ name, status: reply.status, error: reply.body.error }).toEqual({ name, status: 403, error: `an operator may not send ${name}` });
    }
    expect((await ask(server, LAN, "/api/boxes/gia-01/config")).status).toBe(403);
    expect((await ask(server, LAN, "/api/boxes/gia-01/config", { requestId: newId(), desired: { version: 9, patch: {} } })).status).toBe(403);
    expect(link.commands.map((command) => command.name)).toEqual(["ping", "health.now", "peripherals.list"]);
    expect(link.published).toEqual([]);
  });

  it("lets a technician act on the boxes of their sites only, under request ids of their own", async () => {
    const { server, link } = await serve();
    const requestId = newId();
    expect((await ask(server, MINH, "/api/boxes/gia-01/actions/peripherals.rescan", { requestId })).status).toBe(200);
    expect(link.commands[0]?.requestId).toBe(scopedId("technician.minh", requestId));
    // The operator's same id is theirs, not a repeat of the technician's.
    expect((await ask(server, LAN, "/api/boxes/gia-01/actions/ping", { requestId })).status).toBe(200);
    expect(link.commands[1]?.requestId).toBe(scopedId("operator.dr-lan", requestId));
    const other = await ask(server, MINH, "/api/boxes/dak-01/actions/peripherals.rescan", { requestId: newId() });
    const none = await ask(server, MINH, "/api/boxes/dak-99/actions/peripherals.rescan", { requestId: newId() });
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).toBe(JSON.stringify(none.body).replace("dak-99", "dak-01"));
    expect((await ask(server, MINH, "/api/boxes/dak-01/config")).status).toBe(404);
    expect(link.commands).toHaveLength(2);
  });
});
