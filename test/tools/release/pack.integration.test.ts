/**
 * What a box runs: a bundle made by `thea release pack`, unpacked, carries the agent built as
 * JavaScript and no TypeScript, and its bin/thea runs agent/main.js with Node's type stripping
 * switched off — so a single `.ts` module left in the bundle would stop it from starting. It
 * comes online on a real mosquitto, and a camera's pipeline host (a child process, built too)
 * takes a snapshot.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { AgentProcess, THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";

const run = promisify(execFile);
const fixture = useBroker();

interface Answer {
  ok: boolean;
  result?: Record<string, unknown>;
}

describe("a packed release", () => {
  it("runs the built JavaScript with type stripping off, comes online and starts a camera's pipeline", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-release-"));
    const { privateKey } = generateKeyPairSync("ed25519");
    await writeFile(path.join(dir, "release.key"), privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600 });
    await run(THEA_BIN, ["release", "pack", "--version", "0.3.0", "--key", path.join(dir, "release.key"), "--url", "https://updates.example.org/thea-0.3.0.tar.gz", "--out", dir]);
    await run("tar", ["-xzf", path.join(dir, "thea-0.3.0.tar.gz"), "-C", dir]);
    const release = path.join(dir, "thea-0.3.0");

    const code = (await readdir(release, { recursive: true })).filter((file) => /^(agent|drivers|config)\//.test(file));
    expect(code).toContain("agent/main.js");
    expect(code).toContain("agent/media/host.js");
    expect(code.filter((file) => file.endsWith(".ts"))).toEqual([]);

    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      command: path.join(release, "bin", "thea"),
      extraYaml: ["cameras:", "  - { id: cam1, source: { type: test }, codec: vp8, width: 320, height: 240 }"].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    const online = await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online, 30_000);
    expect(online.json()).toMatchObject({ online: true, version: "0.3.0" });
    const argv = (await readFile(`/proc/${agent.pid}/cmdline`, "utf8")).split("\0");
    expect(argv).toContain("--no-experimental-strip-types");
    expect(argv).toContain(path.join(release, "agent", "main.js"));

    const snapshot = (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/camera.snapshot`, JSON.stringify({ camera: "cam1" }), { timeoutMs: 30_000 })).body as Answer;
    expect(snapshot).toMatchObject({ ok: true, result: { camera: "cam1", contentType: "image/jpeg", width: 320, height: 240 } });
  });
});
