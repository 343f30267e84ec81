/**
 * `thea keys generate` and `thea release pack` as a release manager runs them on the build
 * machine: a key pair that is never overwritten, and what the signed manifest says.
 */
import { createPublicKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { verifyManifest } from "../../../agent/update/manifest.ts";
import { thea } from "../../helpers/theaCommand.ts";

describe("thea keys generate", () => {
  it("writes an Ed25519 pair, the private half readable by its owner only, and never overwrites one", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-keys-"));
    const made = await thea(["keys", "generate", "--out", dir]);
    expect(made.code).toBe(0);
    expect((await stat(path.join(dir, "thea-release.key"))).mode & 0o777).toBe(0o600);
    const publicKey = createPublicKey(await readFile(path.join(dir, "thea-release.pub"), "utf8"));
    expect(publicKey.asymmetricKeyType).toBe("ed25519");
    const before = await readFile(path.join(dir, "thea-release.key"), "utf8");
    const again = await thea(["keys", "generate", "--out", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("EEXIST");
    expect(await readFile(path.join(dir, "thea-release.key"), "utf8")).toBe(before);
    expect((await thea(["release", "pack", "--version", "1.0.0"])).code).toBe(2); // key and url missing: usage
  });
});

describe("thea release pack", () => {
  /** A project tree with everything a release carries, each part tiny. */
  async function tinyProject(): Promise<string> {
    const from = await mkdtemp(path.join(tmpdir(), "thea-from-"));
    for (const dir of ["bin", "lib", "agent", "drivers", "config", "systemd", "viewer", "node_modules", ".runtime/node/bin"]) await mkdir(path.join(from, dir), { recursive: true });
    await writeFile(path.join(from, "bin", "thea"), "#!/bin/sh\n");
    await writeFile(path.join(from, "package.json"), JSON.stringify({ name: "thea", version: "0.0.0" }));
    await writeFile(path.join(from, "package-lock.json"), JSON.stringify({ name: "thea", version: "0.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "thea", version: "0.0.0" } } }));
    await writeFile(path.join(from, ".node-version"), "24\n");
    await writeFile(path.join(from, ".runtime", "node", "bin", "node"), "#!/bin/sh\n");
    return from;
  }

  it("signs an expiry, channels, device ids and allowDowngrade into the manifest, and refuses a downgrade without an expiry", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-keys-"));
    expect((await thea(["keys", "generate", "--out", dir])).code).toBe(0);
    const key = path.join(dir, "thea-release.key");
    const base = ["release", "pack", "--version", "1.0.1", "--key", key, "--url", "https://updates.example.org/thea-1.0.1.tar.gz", "--out", dir, "--from", await tinyProject()];

    const open = await thea([...base, "--allow-downgrade"]);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain("expiresAt: is required when allowDowngrade is set");
    const badExpiry = await thea([...base, "--expires-in", "soon"]);
    expect(badExpiry).toMatchObject({ code: 1, stderr: expect.stringContaining("--expires-in soon: give a number and a unit") });

    const before = Date.now();
    const packed = await thea([...base, "--allow-downgrade", "--expires-in", "2d", "--channel", "beta", "--device", "clinic-7,clinic-8", "--device", "clinic-9"]);
    expect(packed.stderr).toBe("");
    expect(packed.code).toBe(0);
    const signed = JSON.parse(await readFile(path.join(dir, "thea-1.0.1.manifest.json"), "utf8")) as { manifest: Record<string, unknown> };
    expect(signed.manifest).toMatchObject({ version: "1.0.1", allowDowngrade: true, channels: ["beta"], devices: ["clinic-7", "clinic-8", "clinic-9"] });
    const expiresAt = Date.parse(String(signed.manifest.expiresAt));
    expect(expiresAt - before).toBeGreaterThanOrEqual(2 * 86_400_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(2 * 86_400_000);
    expect(verifyManifest(signed, [await readFile(path.join(dir, "thea-release.pub"), "utf8")])).toMatchObject({ ok: true });

    const at = await thea([...base, "--expires-at", "2027-01-31T00:00:00Z"]);
    expect(at.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, "thea-1.0.1.manifest.json"), "utf8"))).toMatchObject({ manifest: { expiresAt: "2027-01-31T00:00:00Z", allowDowngrade: false } });
  });
});
