/**
 * The deploy kit (docs/deploy) installed as a site would: certificates made by `thea-pki`, the ACL
 * made by `thea-roster` from a roster, the kit's own mosquitto.conf with only its paths and port
 * changed. Shared by the deploy integration tests.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { IClientOptions } from "mqtt";
import { PROJECT_ROOT } from "../helpers/agentProcess.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { TestClient } from "../helpers/mqttClient.ts";

export const run = promisify(execFile);
export const KIT = path.join(PROJECT_ROOT, "docs", "deploy");
const PKI = path.join(KIT, "thea-pki");
const ROSTER = path.join(KIT, "thea-roster");

export async function pkiRun(...args: string[]): Promise<string> {
  const { stdout } = await run(PKI, args);
  return stdout;
}

export interface KitOptions {
  /** deviceIds to issue box certificates for. */
  readonly devices: readonly string[];
  /** [role, name] pairs to issue people's certificates for (CN role.name). */
  readonly people: ReadonlyArray<readonly [string, string]>;
  /** The roster's YAML, turned into the broker's ACL by thea-roster. */
  readonly roster: string;
  /** Runs after issuing, before the broker takes ca.crt and crl.pem (to revoke, say). */
  readonly prepare?: (kit: { work: string; pki: string }) => Promise<void>;
}

export class Kit {
  readonly work: string;
  readonly pki: string;
  readonly broker: Mosquitto;
  readonly #open: TestClient[] = [];

  private constructor(work: string, pki: string, broker: Mosquitto) {
    this.work = work;
    this.pki = pki;
    this.broker = broker;
  }

  static async start(options: KitOptions): Promise<Kit> {
    const work = await mkdtemp(path.join(tmpdir(), "thea-deploy-"));
    const pki = path.join(work, "pki");
    await pkiRun("init", pki, "--name", "Test Network CA");
    await pkiRun("broker", pki, "localhost", "127.0.0.1");
    for (const box of options.devices) await pkiRun("device", pki, box);
    for (const [role, name] of options.people) await pkiRun("person", pki, role, name);
    await options.prepare?.({ work, pki });

    const etc = path.join(work, "etc");
    await mkdir(etc);
    await mkdir(path.join(work, "var"));
    await writeFile(path.join(work, "roster.yaml"), options.roster);
    await run(ROSTER, ["acl", path.join(work, "roster.yaml"), "--out", path.join(etc, "acl")]);
    await copyFile(path.join(pki, "ca.crt"), path.join(etc, "ca.crt"));
    await copyFile(path.join(pki, "crl.pem"), path.join(etc, "crl.pem"));
    await copyFile(path.join(pki, "issued", "localhost.crt"), path.join(etc, "broker.crt"));
    await copyFile(path.join(pki, "issued", "localhost.key"), path.join(etc, "broker.key"));
    const kitConfig = await readFile(path.join(KIT, "mosquitto.conf"), "utf8");
    const broker = await Mosquitto.startWith((port) =>
      kitConfig
        .replaceAll("/etc/mosquitto/thea/", `${etc}/`)
        .replaceAll("/var/lib/mosquitto/", `${work}/var/`)
        .replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`),
    );
    return new Kit(work, pki, broker);
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.broker.port}`;
  }

  issued(cn: string, authority = this.pki): { cert: string; key: string } {
    return { cert: path.join(authority, "issued", `${cn}.crt`), key: path.join(authority, "issued", `${cn}.key`) };
  }

  /** A client holding `cn`'s certificate (from `authority`, the site's CA unless told). */
  async clientAs(cn: string, options: IClientOptions & { authority?: string } = {}): Promise<TestClient> {
    const { authority, ...rest } = options;
    const files = this.issued(cn, authority);
    const client = await TestClient.connect(this.url, {
      ca: await readFile(path.join(this.pki, "ca.crt")),
      cert: await readFile(files.cert),
      key: await readFile(files.key),
      reconnectPeriod: 0,
      ...rest,
    });
    this.#open.push(client);
    return client;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#open.map((client) => client.close()));
    await this.broker?.stop();
  }
}

/**
 * A command request as a person sends it with the kit: the answer asked for on
 * `thea/v1/{box}/reply/{their CN}/…`, the only replies their ACL lets them read.
 */
export async function requestAs(client: TestClient, cn: string, box: string, command: string, payload = "{}"): Promise<unknown> {
  const responseTopic = `thea/v1/${box}/reply/${cn}/${randomBytes(4).toString("hex")}`;
  const correlationData = randomBytes(8);
  const answer = await client.armed(responseTopic, (message) => message.packet.properties?.correlationData?.equals(correlationData) ?? false);
  await client.publish(`thea/v1/${box}/cmd/${command}`, payload, { qos: 1, properties: { responseTopic, correlationData } });
  return (await answer.message).json();
}
