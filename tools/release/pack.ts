/**
 * Building a release bundle: the agent's code (built as JavaScript), its production dependencies
 * and its Node runtime, staged under `thea-<version>/`, tarred and gzipped, with a signed
 * manifest beside it.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import { buildJavaScript } from "./build.ts";
import { manifestSchema, signManifest, type Manifest, type SignedManifest } from "../../agent/update/manifest.ts";

const run = promisify(execFile);

/**
 * What a release carries from a project tree as it is. The code (CODE_DIRS) goes in built, as
 * JavaScript (build.ts), and the runtime is added separately.
 */
const RELEASE_PATHS = ["bin", "systemd", "viewer", "package.json", "package-lock.json", ".node-version", "node_modules"];

export interface PackOptions {
  from: string;
  version: string;
  url: string;
  privateKeyPem: string;
  outDir: string;
  notes?: string | undefined;
  minVersion?: string | undefined;
  /** ISO 8601; required with allowDowngrade (the schema says so). */
  expiresAt?: string | undefined;
  channels?: string[] | undefined;
  devices?: string[] | undefined;
  allowDowngrade?: boolean | undefined;
  force?: boolean | undefined;
}

export interface Packed {
  bundleFile: string;
  manifestFile: string;
  signed: SignedManifest;
}

export async function packRelease(options: PackOptions): Promise<Packed> {
  // The signed fields are checked before minutes of packing, not after.
  manifestFields(options, { size: 1, sha256: "0".repeat(64) });
  const name = `thea-${options.version}`;
  const staging = await mkdtemp(path.join(tmpdir(), "thea-pack-"));
  try {
    const root = path.join(staging, name);
    await mkdir(root);
    for (const entry of RELEASE_PATHS) {
      // From where a linked entry really is (a work tree sharing another checkout's node_modules):
      // copied through the link, npm prune took node_modules for stale and reinstalled it from its
      // cache without the native addons' builds, and the pipeline host could not load GStreamer.
      await cp(await realpath(path.join(options.from, entry)).catch(() => path.join(options.from, entry)), path.join(root, entry), { recursive: true, verbatimSymlinks: true }).catch((error: NodeJS.ErrnoException) => {
        throw error.code === "ENOENT" ? new Error(`${entry} is missing in ${options.from}: run bin/setup first`) : error;
      });
    }
    await buildJavaScript({ from: options.from, out: root });
    // Only the runtime's executable: headers and npm are for building, not running.
    await cp(path.join(options.from, ".runtime", "node", "bin", "node"), path.join(root, ".runtime", "node", "bin", "node"));
    const packageJson = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as Record<string, unknown>;
    await writeFile(path.join(root, "package.json"), `${JSON.stringify({ ...packageJson, version: options.version }, null, 2)}\n`);
    await run("npm", ["prune", "--omit=dev", "--no-audit", "--no-fund", "--offline", "--ignore-scripts"], { cwd: root, maxBuffer: 16 * 1024 * 1024 });

    await mkdir(options.outDir, { recursive: true });
    const bundleFile = path.join(options.outDir, `${name}.tar.gz`);
    const hash = createHash("sha256");
    const tar = spawn("tar", ["-C", staging, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", name], { stdio: ["ignore", "pipe", "inherit"] });
    const tarDone = new Promise<void>((resolve, reject) => tar.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`)))));
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await Promise.all([pipeline(tar.stdout, createGzip({ level: 1 }), hashing, createWriteStream(bundleFile)), tarDone]);

    const manifest = manifestFields(options, { size: (await stat(bundleFile)).size, sha256: hash.digest("hex") });
    const signed = signManifest(manifest, options.privateKeyPem);
    const manifestFile = path.join(options.outDir, `${name}.manifest.json`);
    await writeFile(manifestFile, `${JSON.stringify(signed, null, 2)}\n`);
    return { bundleFile, manifestFile, signed };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The manifest `thea release pack` signs; throws with every field that is wrong. */
export function manifestFields(options: PackOptions, bundle: { size: number; sha256: string }): Manifest {
  const parsed = manifestSchema.safeParse({
    version: options.version,
    ...bundle,
    url: options.url,
    ...(options.minVersion && { minVersion: options.minVersion }),
    notes: options.notes ?? "",
    force: options.force ?? false,
    allowDowngrade: options.allowDowngrade ?? false,
    ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }),
    ...(options.channels?.length && { channels: options.channels }),
    ...(options.devices?.length && { devices: options.devices }),
  });
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
  return parsed.data;
}
