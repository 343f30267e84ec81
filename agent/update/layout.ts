/**
 * The releases on a box, side by side (A/B and more):
 *
 *   {installRoot}/releases/<version>/   one unpacked bundle each
 *   {installRoot}/current  -> releases/<version>   what the launcher runs
 *   {installRoot}/previous -> releases/<version>   where a rollback goes
 *   {installRoot}/launch   -> releases/<committed>/bin/thea-launch   systemd's ExecStart
 *   {installRoot}/trial, rolled-back                the launcher's notes (bin/thea-launch)
 *
 * Every switch is a new symlink renamed over the old one, so a power cut leaves either.
 */
import { execFile } from "node:child_process";
import { access, mkdir, readFile, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { syncDir, writeFileAtomic } from "../../lib/atomicFile.ts";
import { extractCapped } from "./extract.ts";

const run = promisify(execFile);

export class InstallLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  releaseDir(version: string): string {
    return path.join(this.root, "releases", version);
  }

  /** The version a link points at (releases/<version>[/…]), or undefined. */
  async linked(name: "current" | "previous" | "launch"): Promise<string | undefined> {
    try {
      const target = await readlink(path.join(this.root, name));
      const match = /(?:^|\/)releases\/([^/]+)/.exec(target);
      return match?.[1];
    } catch {
      return undefined;
    }
  }

  /** Points `name` at `target` (relative to the root) atomically. */
  async link(name: "current" | "previous" | "launch", target: string): Promise<void> {
    const temporary = path.join(this.root, `.${name}.next`);
    await rm(temporary, { force: true });
    await symlink(target, temporary);
    await rename(temporary, path.join(this.root, name));
    await syncDir(this.root);
  }

  /**
   * Unpacks a verified bundle into releases/<version>; a half-done earlier attempt is cleared
   * first. More than `maxBytes` of unpacked tar stream stops it (UnpackTooLargeError).
   */
  async unpack(bundle: string, version: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<void> {
    const releases = path.join(this.root, "releases");
    const partial = path.join(releases, `.${version}.partial`);
    await mkdir(releases, { recursive: true });
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial);
    try {
      await extractCapped(bundle, partial, maxBytes);
      const unpacked = path.join(partial, `thea-${version}`);
      await access(path.join(unpacked, "bin", "thea"));
      const packaged = JSON.parse(await readFile(path.join(unpacked, "package.json"), "utf8")) as { version?: unknown };
      if (packaged.version !== version) throw new Error(`the bundle holds version ${String(packaged.version)}, not ${version}`);
      // tar does not fsync what it writes: without this, a power cut after the rename (and after
      // the bundle is deleted and `current` switched) can leave a release of empty or cut files.
      await syncFileSystem(unpacked);
      const target = this.releaseDir(version);
      if ((await this.linked("current")) !== version) await rm(target, { recursive: true, force: true });
      await rename(unpacked, target);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
    await syncDir(releases);
  }

  /** Whether releases/<version> holds that version, complete (it only ever appears by rename). */
  async hasRelease(version: string): Promise<boolean> {
    try {
      const packaged = JSON.parse(await readFile(path.join(this.releaseDir(version), "package.json"), "utf8")) as { version?: unknown };
      await access(path.join(this.releaseDir(version), "bin", "thea"));
      return packaged.version === version;
    } catch {
      return false;
    }
  }

  /** Trial notes for the launcher: "<new> <previous> <starts>". */
  async startTrial(version: string, previous: string): Promise<void> {
    await writeFileAtomic(path.join(this.root, "trial"), `${version} ${previous} 0\n`);
  }

  async endTrial(): Promise<void> {
    await rm(path.join(this.root, "trial"), { force: true });
    await syncDir(this.root);
  }

  async trial(): Promise<{ version: string; previous: string; starts: number } | undefined> {
    const fields = await readWords(path.join(this.root, "trial"));
    return fields ? { version: fields[0] ?? "", previous: fields[1] ?? "", starts: Number(fields[2] ?? 0) } : undefined;
  }

  /**
   * What the launcher left when it rolled back, read once. The removal is made durable before the
   * caller reports it, or a power cut after the report brings the note back and it is reported twice
   * (checked with strace: unlink, then fsync of the install root; no test can cut the power).
   */
  async takeRolledBack(): Promise<{ version: string; previous: string; starts: number } | undefined> {
    const file = path.join(this.root, "rolled-back");
    const fields = await readWords(file);
    if (!fields) return undefined;
    await rm(file, { force: true });
    await syncDir(this.root);
    return { version: fields[0] ?? "", previous: fields[1] ?? "", starts: Number(fields[2] ?? 0) };
  }

  /** Removes releases other than those linked. */
  async prune(): Promise<void> {
    const keep = new Set([await this.linked("current"), await this.linked("previous"), await this.linked("launch")]);
    const entries = await readdir(path.join(this.root, "releases")).catch(() => [] as string[]);
    for (const entry of entries) if (!keep.has(entry)) await rm(path.join(this.root, "releases", entry), { recursive: true, force: true });
  }
}

/**
 * Makes everything written on `dir`'s filesystem durable: syncfs(2), through coreutils `sync -f`.
 * One call for the whole tree rather than an fsync per file: a release holds thousands of files
 * (node_modules), and an fsync each means a journal commit each, minutes on an SD card; OSTree
 * commits its deployments with syncfs for the same reason. It flushes other writers' data on the
 * filesystem too, which costs little, and since Linux 5.8 it reports writeback errors. Checked with
 * strace: the syncfs comes before the rename into releases/ (a test cannot cut the power).
 */
async function syncFileSystem(dir: string): Promise<void> {
  try {
    await run("sync", ["--file-system", dir]);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`cannot make the unpacked release durable: ${stderr || (error instanceof Error ? error.message : String(error))}`);
  }
}

async function readWords(file: string): Promise<string[] | undefined> {
  try {
    return (await readFile(file, "utf8")).trim().split(/\s+/);
  } catch {
    return undefined;
  }
}
