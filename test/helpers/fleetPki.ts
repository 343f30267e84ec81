/**
 * A throw-away CA for the fleet service's HTTPS tests, made with openssl as docs/deploy/thea-pki
 * makes the network's (EC P-256): the server's certificate for 127.0.0.1 and client certificates
 * with the subjects a test asks for (thea-pki's people are `/CN=ROLE.NAME`). Everything lives in a
 * temporary directory removed after the test; nothing is committed.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

export interface FleetPki {
  ca: Buffer;
  server: KeyPair;
  /** By the subject asked for. */
  clients: Record<string, KeyPair>;
}

/** `subjects`: openssl `-subj` values, e.g. "/CN=operator.dr-lan", or "/O=thea" for a certificate without a CN. */
export async function makeFleetPki(subjects: readonly string[], cleanup: (step: () => Promise<void>) => void): Promise<FleetPki> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-fleet-pki-"));
  cleanup(() => rm(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl("req", "-x509", ...newKey, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test fleet CA");
  const issue = async (name: string, subject: string, extension: string): Promise<KeyPair> => {
    await openssl("req", ...newKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    await writeFile(path.join(dir, `${name}.ext`), `${extension}\n`);
    await openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
    return { cert: await readFile(path.join(dir, `${name}.crt`)), key: await readFile(path.join(dir, `${name}.key`)) };
  };
  const server = await issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1");
  const clients: Record<string, KeyPair> = {};
  for (const [index, subject] of subjects.entries()) clients[subject] = await issue(`client-${index}`, subject, "extendedKeyUsage=clientAuth");
  return { ca: await readFile(path.join(dir, "ca.crt")), server, clients };
}
