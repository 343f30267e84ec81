/**
 * `thea config check` as a technician uses it: bin/thea from any directory, with the project's
 * Node 24 runtime.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../helpers/agentProcess.ts";
import { thea } from "../helpers/theaCommand.ts";

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
