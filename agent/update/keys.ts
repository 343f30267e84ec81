/** Release signing keys: an Ed25519 pair, private as PKCS#8 PEM (kept off the boxes), public as SPKI PEM. */
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";

export async function generateKeyPair(dir: string, name = "thea-release"): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privateKeyFile = path.join(dir, `${name}.key`);
  const publicKeyFile = path.join(dir, `${name}.pub`);
  // wx: never overwrite a key that may already sign releases.
  await writeFile(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  await writeFile(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644, flag: "wx" });
  return { privateKeyFile, publicKeyFile };
}
