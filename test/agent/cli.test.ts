/**
 * The `thea` command as a technician uses it: bin/thea from any directory, with the project's
 * Node 24 runtime.
 */
import { execFile } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { verifyManifest } from "../../agent/update/manifest.ts";
import { PROJECT_ROOT, THEA_BIN } from "../helpers/agentProcess.ts";

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function thea(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const clean = { ...process.env, THEA_MQTT_URL: "", THEA_DEVICE_ID: "", THEA_CONFIG: "", ...env };
    execFile(THEA_BIN, args, { cwd: tmpdir(), env: clean }, (error, stdout, stderr) => {
      const code = error && typeof error.code === "number" ? error.code : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function configFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-cli-"));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe("thea config check", () => {
  it("accepts a valid YAML config and names the device", async () => {
    const file = await configFile("ok.yaml", "deviceId: clinic-7\nmqtt:\n  url: mqtts://broker.example.org:8883\n");
    const result = await thea(["config", "check", file]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("ok (device clinic-7");
  });

  it.each(["demo.yaml", "thea.yaml", "test-camera.yaml"])("accepts the shipped example config/examples/%s", async (name) => {
    const result = await thea(["config", "check", path.join(PROJECT_ROOT, "config", "examples", name)]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });

  it("accepts JSON too", async () => {
    const file = await configFile("ok.json", JSON.stringify({ deviceId: "clinic-8", mqtt: { url: "mqtt://127.0.0.1:1883" } }));
    expect((await thea(["config", "check", file])).code).toBe(0);
  });

  it("exits non-zero listing every error as key: problem", async () => {
    const file = await configFile(
      "bad.yaml",
      [
        "deviceId: Clinic_7",
        "mqtt:",
        "  url: http://broker",
        "  keepaliveSec: 2",
        "  colour: blue",
        "telemetry:",
        "  healthIntervalSec: -5",
        "log: { level: loud }",
      ].join("\n"),
    );
    const result = await thea(["config", "check", file]);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        "deviceId: must match [a-z0-9][a-z0-9-]{0,63}",
        "mqtt.url: must be mqtt://, mqtts://, ws:// or wss://",
        expect.stringMatching(/^mqtt\.keepaliveSec: /),
        "mqtt.colour: unknown key",
        expect.stringMatching(/^telemetry\.healthIntervalSec: /),
        expect.stringMatching(/^log\.level: /),
      ]),
    );
  });

  it("says which environment variable a bad value came from", async () => {
    const file = await configFile("env.yaml", "deviceId: clinic-9\n");
    const result = await thea(["config", "check", file], { THEA_MQTT_URL: "ftp://nowhere" });
    expect(result.stderr).toContain("mqtt.url (from THEA_MQTT_URL): must be mqtt://, mqtts://, ws:// or wss://");
  });

  it("refuses a password over plain mqtt:// unless allowed for a lab", async () => {
    const file = await configFile("pw.yaml", "deviceId: clinic-1\nmqtt:\n  url: mqtt://broker\n  username: box\n  password: hunter2\n");
    const result = await thea(["config", "check", file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^mqtt\.url: refusing to send a password over plain mqtt:\/\//m);
    expect(result.stderr).not.toContain("hunter2");
  });

  it("refuses credentials in the broker URL over plain mqtt:// unless allowed for a lab, and never prints them", async () => {
    const file = await configFile("url.yaml", "deviceId: clinic-2\nmqtt:\n  url: mqtt://box:hunter2@broker:1883\n");
    const result = await thea(["config", "check", file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^mqtt\.url: refusing to send a password over plain mqtt:\/\//m);
    expect(result.stderr).not.toContain("hunter2");
    const lab = await configFile("lab.yaml", "deviceId: clinic-2\nmqtt:\n  url: mqtt://box:hunter2@broker:1883\n  allowInsecureCredentials: true\n");
    expect(await thea(["config", "check", lab])).toMatchObject({ code: 0, stderr: "" });
    const tls = await configFile("tls.yaml", "deviceId: clinic-2\nmqtt:\n  url: mqtts://box:hunter2@broker:8883\n");
    expect((await thea(["config", "check", tls])).code).toBe(0);
  });

  it("reports a YAML syntax error with its line", async () => {
    const file = await configFile("broken.yaml", "mqtt:\n  url: [unclosed\n");
    const result = await thea(["config", "check", file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/broken\.yaml line \d+: not valid YAML or JSON/);
  });
});

describe("thea config schema and docs", () => {
  it("prints a JSON Schema of the configuration", async () => {
    const result = await thea(["config", "schema"]);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["deviceId", "mqtt", "telemetry", "log", "dataDir"]));
  });

  it("docs/configuration.md is what the schema generates (run `bin/thea config docs > docs/configuration.md`)", async () => {
    const result = await thea(["config", "docs"]);
    expect(await readFile(path.join(PROJECT_ROOT, "docs", "configuration.md"), "utf8")).toBe(result.stdout);
  });
});

describe("thea version and usage", () => {
  it("prints the version and runs on Node 24", async () => {
    const manifest = JSON.parse(await readFile(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
    const result = await thea(["version"]);
    expect(result.stdout).toMatch(new RegExp(`^thea ${manifest.version.replaceAll(".", "\\.")} \\(node v24\\.`));
  });

  it("rejects an unknown command with usage", async () => {
    const result = await thea(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("usage: thea");
  });

  it("refuses to run with an invalid configuration and says why", async () => {
    const file = await configFile("run.yaml", "deviceId: clinic-2\n");
    const result = await thea(["run", "--config", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("mqtt: is required");
  });
});

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
