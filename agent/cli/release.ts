/**
 * `thea keys generate [--out DIR]` and `thea release pack --version V --key FILE --url URL
 * [--out DIR] [--notes TEXT] [--min-version V] [--from DIR]`: what a release manager runs on the
 * build machine (docs/updates.md). Never on a box: the private key stays with the releases.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { messageOf } from "../errors.ts";
import { generateKeyPair } from "../update/keys.ts";
import { packRelease } from "../update/pack.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ReleaseArgs {
  version?: string | undefined;
  key?: string | undefined;
  url?: string | undefined;
  out?: string | undefined;
  notes?: string | undefined;
  minVersion?: string | undefined;
  from?: string | undefined;
}

const USAGE = "usage: thea keys generate [--out DIR]\n       thea release pack --version V --key FILE --url URL [--out DIR] [--notes TEXT] [--min-version V] [--from DIR]\n";

export async function keysCommand(rest: string[], args: ReleaseArgs): Promise<number> {
  if (rest[0] !== "generate") {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const { privateKeyFile, publicKeyFile } = await generateKeyPair(args.out ?? ".");
    process.stdout.write(`private key (keep it off the boxes, back it up): ${privateKeyFile}\npublic key (add to update.trustedKeys): ${publicKeyFile}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`thea keys: ${messageOf(error)}\n`);
    return 1;
  }
}

export async function releaseCommand(rest: string[], args: ReleaseArgs): Promise<number> {
  if (rest[0] !== "pack" || !args.version || !args.key || !args.url) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const packed = await packRelease({
      from: path.resolve(args.from ?? PROJECT_ROOT),
      version: args.version,
      url: args.url,
      privateKeyPem: await readFile(args.key, "utf8"),
      outDir: path.resolve(args.out ?? "."),
      notes: args.notes,
      minVersion: args.minVersion,
    });
    process.stdout.write(`${packed.bundleFile}\n${packed.manifestFile}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`thea release: ${messageOf(error)}\n`);
    return 1;
  }
}
