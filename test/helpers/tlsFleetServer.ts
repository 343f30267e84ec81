/**
 * The usual set-up of a test file on the fleet server over TLS with a roster, as a hospital runs
 * it: one throw-away PKI for the file (fleetPki.ts: made before its tests, removed after them), the
 * file's roster, a FleetServer per test stopped after it, and a GET as one of the PKI's people.
 * One place, so that the files testing who sees what start their servers the same way.
 */
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll } from "vitest";
import { FleetServer, type FleetServerOptions } from "../../tools/fleet/server.ts";
import { parseRoster } from "../../tools/roster/roster.ts";
import type { Cleanups } from "./cleanups.ts";
import { makeFleetPki, type FleetPki, type KeyPair } from "./fleetPki.ts";

export interface TlsFleetServerSettings {
  /** The people's certificates to make: openssl `-subj` values, as makeFleetPki takes them. */
  subjects: readonly string[];
  /** The file's roster (YAML): the one each server gets unless a test gives another. */
  roster: string;
  /** The file's per-test clean-ups (useCleanups, useBroker): each server stops after its test. */
  cleanup: Cleanups["cleanup"];
}

export type TlsServeOptions = Omit<FleetServerOptions, "port" | "tls" | "roster"> & {
  /** Another roster than the file's. */
  roster?: string;
  /** false: plain loopback HTTP and no roster, as the service runs without certificates. */
  tls?: boolean;
};

export interface HttpsReply {
  status: number;
  body: string;
}

export interface TlsFleetServer {
  /** The CA that signed the server's and the people's certificates. */
  readonly ca: Buffer;
  /** The certificate and key of one of the subjects the file asked for. */
  client(subject: string): KeyPair;
  /** A FleetServer on a free port of 127.0.0.1, stopped after the test. */
  serve(options: TlsServeOptions): Promise<FleetServer>;
  /** GET `path` as `subject`, on a connection of its own. */
  get(server: FleetServer, subject: string, path: string): Promise<HttpsReply>;
}

export function useTlsFleetServer(settings: TlsFleetServerSettings): TlsFleetServer {
  let made: FleetPki | undefined;
  const pkiCleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    made = await makeFleetPki(settings.subjects, (step) => void pkiCleanups.push(step));
  }, 60_000);
  afterAll(async () => {
    for (const step of pkiCleanups) await step();
  });
  const pki = (): FleetPki => {
    if (!made) throw new Error("PKI not made yet (use it inside a test)");
    return made;
  };
  const client = (subject: string): KeyPair => {
    const pair = pki().clients[subject];
    if (!pair) throw new Error(`no certificate for ${subject}`);
    return pair;
  };
  return {
    get ca() {
      return pki().ca;
    },
    client,
    async serve({ roster = settings.roster, tls = true, ...options }) {
      const secured = tls && { tls: { ...pki().server, ca: pki().ca }, roster: parseRoster(roster) };
      const server = await FleetServer.start({ ...options, port: 0, ...secured });
      settings.cleanup(() => server.stop());
      return server;
    },
    get: (server, subject, path) =>
      new Promise((resolve, reject) => {
        const request = httpsRequest({ host: "127.0.0.1", port: server.port, path, ca: pki().ca, ...client(subject), agent: false }, (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (body += chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("error", reject);
        request.end();
      }),
  };
}
