/**
 * `thea keys generate [--out DIR]` and `thea release pack --version V --key FILE --url URL
 * [--out DIR] [--notes TEXT] [--min-version V] [--from DIR] [--expires-in 7d | --expires-at ISO]
 * [--channel C]… [--device ID]… [--allow-downgrade] [--force]`: what a release manager runs on
 * the build machine (docs/updates.md). Never on a box: the private key stays with the releases.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { messageOf } from "../../agent/core/errors.ts";
import { generateKeyPair } from "../../agent/update/keys.ts";
import { packRelease } from "./pack.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ReleaseArgs {
  version?: string | undefined;
  key?: string | undefined;
  url?: string | undefined;
  out?: string | undefined;
  notes?: string | undefined;
  minVersion?: string | undefined;
  from?: string | undefined;
  expiresIn?: string | undefined;
  expiresAt?: string | undefined;
  channel?: string[] | undefined;
  device?: string[] | undefined;
  allowDowngrade?: boolean | undefined;
  force?: boolean | undefined;
}

const USAGE = [
  "usage: thea keys generate [--out DIR]",
  "       thea release pack --version V --key FILE --url URL [--out DIR] [--notes TEXT] [--min-version V] [--from DIR]",
  "                         [--expires-in 7d|12h|30m | --expires-at 2027-01-31T00:00:00Z] [--channel C]... [--device ID]...",
  "                         [--allow-downgrade (needs an expiry)] [--force]",
  "",
].join("\n");

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--expires-in 7d` / `--expires-at …` as the manifest's ISO 8601 expiresAt (undefined: none). */
export function expiryOf(args: Pick<ReleaseArgs, "expiresIn" | "expiresAt">, now: Date): string | undefined {
  if (args.expiresIn !== undefined && args.expiresAt !== undefined) throw new Error("give --expires-in or --expires-at, not both");
  if (args.expiresAt !== undefined) return args.expiresAt; // the manifest schema checks its form
  if (args.expiresIn === undefined) return undefined;
  const match = /^(\d+)([smhd])$/.exec(args.expiresIn);
  const unit = match ? UNIT_MS[match[2] ?? ""] : undefined;
  if (!match || unit === undefined || Number(match[1]) === 0) throw new Error(`--expires-in ${args.expiresIn}: give a number and a unit, such as 7d, 12h or 30m`);
  return new Date(now.getTime() + Number(match[1]) * unit).toISOString();
}

/** Repeated flags, each possibly a comma-separated list. */
const listOf = (values: string[] | undefined) => values?.flatMap((value) => value.split(",")).map((value) => value.trim()).filter((value) => value !== "");

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
      expiresAt: expiryOf(args, new Date()),
      channels: listOf(args.channel),
      devices: listOf(args.device),
      allowDowngrade: args.allowDowngrade,
      force: args.force,
    });
    process.stdout.write(`${packed.bundleFile}\n${packed.manifestFile}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`thea release: ${messageOf(error)}\n`);
    return 1;
  }
}
