/**
 * Management commands against a real agent and mosquitto: recent logs, a diagnostics bundle
 * fetched in parts (secrets redacted), the two-step rate-limited reboot (with a stand-in
 * `systemctl` first on the agent's PATH, so nothing reboots), restart, and rescan.
 */
import { watch } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { BundlePart } from "../../../agent/management/diagnostics.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { Supervisor } from "../../helpers/supervisor.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();

type Answer = { ok: true; result: Record<string, unknown> } | { ok: false; error: { code: string; message: string } };

async function managedAgent(options: { extraYaml?: string; env?: Record<string, string> } = {}) {
  const agent = await AgentProcess.start({ brokerUrl: fixture.broker.url, ...options });
  fixture.cleanup(() => agent.stop());
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
  const command = async (name: string, params: object = {}) => (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params))).body as Answer;
  return { agent, command };
}

/** Resolves when `file` appears in its directory (the stand-in systemctl renames it into place). */
function fileAppears(file: string, timeoutMs = 10_000): Promise<void> {
  return waitFor(`${file} to appear`, timeoutMs, (done) => {
    const watcher = watch(path.dirname(file), (_event, name) => {
      if (name === path.basename(file)) done(undefined);
    });
    return () => watcher.close();
  });
}

const resultOf = (answer: Answer) => {
  if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
  return answer.result;
};

describe("logs and diagnostics", () => {
  it("tails the agent's recent log lines, filtered by level", async () => {
    const { command } = await managedAgent();
    const { lines } = resultOf(await command("logs.tail", { lines: 50 })) as { lines: { level: string; msg: string }[] };
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.map((line) => line.msg)).toContain("configuration loaded");
    const warnings = resultOf(await command("logs.tail", { level: "warn" })) as { lines: { level: string }[] };
    expect(warnings.lines.every((line) => ["warn", "error", "fatal"].includes(line.level))).toBe(true);
  });

  it("collects a bundle in parts that put back together give versions, config (redacted), peripherals and logs", async () => {
    const { agent, command } = await managedAgent({
      extraYaml: ["media:", "  iceServers:", '    - { urls: "turn:127.0.0.1:3478", username: nurse, credential: "s3cret-turn" }'].join("\n"),
    });
    const first = resultOf(await command("diagnostics.collect")) as unknown as BundlePart;
    const parts = [first];
    for (let part = 1; part < first.parts; part++) parts.push(resultOf(await command("diagnostics.collect", { bundleId: first.bundleId, part })) as unknown as BundlePart);
    const bundle = JSON.parse(gunzipSync(Buffer.concat(parts.map((part) => Buffer.from(part.data, "base64")))).toString()) as Record<string, unknown>;
    expect(bundle).toMatchObject({
      deviceId: agent.deviceId,
      version: expect.any(String),
      configHash: expect.any(String),
      health: { outbox: expect.any(Object) },
      peripherals: [],
      media: { sessions: [] },
      recentLogs: expect.arrayContaining([expect.objectContaining({ msg: "configuration loaded" })]),
    });
    expect(JSON.stringify(bundle)).not.toContain("s3cret-turn");
    expect((await command("diagnostics.collect", { bundleId: "nope", part: 0 })).ok).toBe(false);
  });
});

describe("restart, reboot and rescan", () => {
  it("reboots only with the token it handed out, then not again within the interval", async () => {
    const bin = await mkdtemp(path.join(tmpdir(), "thea-fake-systemctl-"));
    const record = path.join(bin, "calls");
    await writeFile(path.join(bin, "systemctl"), `#!/bin/sh\necho "$@" > '${record}.tmp' && mv '${record}.tmp' '${record}'\n`);
    await chmod(path.join(bin, "systemctl"), 0o755);
    const { command } = await managedAgent({ env: { PATH: `${bin}:${process.env.PATH ?? ""}` } });

    const { confirmToken } = resultOf(await command("system.reboot")) as { confirmToken: string };
    expect(await command("system.reboot", { confirmToken: "0".repeat(24) })).toMatchObject({ ok: false, error: { code: "invalid-params" } });
    const called = fileAppears(record);
    expect(await command("system.reboot", { confirmToken })).toEqual({ ok: true, result: { rebooting: true } });
    await called;
    expect(await readFile(record, "utf8")).toBe("reboot\n");
    expect(await command("system.reboot", { confirmToken })).toMatchObject({ ok: false, error: { code: "invalid-params" } }); // used up

    const again = resultOf(await command("system.reboot")) as { confirmToken: string };
    expect(await command("system.reboot", { confirmToken: again.confirmToken })).toMatchObject({
      ok: false,
      error: { code: "rate-limited", message: expect.stringContaining("next reboot allowed in") },
    });
  });

  it("restarts: answers, then stops cleanly and exits for systemd to start it again", async () => {
    const { agent, command } = await managedAgent();
    const offline = fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online === false);
    expect(await command("agent.restart")).toEqual({ ok: true, result: { restarting: true } });
    expect((await offline).json()).toMatchObject({ online: false, reason: "shutdown" });
    expect(await agent.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it("answers a retried restart from its record after the restart it caused, and does not restart again", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "thea-restart-"));
    const deviceId = `rst-${path.basename(root).slice(-6).toLowerCase()}`;
    const status = `thea/v1/${deviceId}/status`;
    const onlineAs = (match: (bootId: string) => boolean) =>
      fixture.watcher.next(status, (m) => {
        const body = m.json() as { online: boolean; bootId: string };
        return body.online && match(body.bootId);
      });
    const firstOnline = onlineAs(() => true);
    // Restarted like systemd does, on the same data directory, as on a box.
    const supervisor = await Supervisor.start({ brokerUrl: fixture.broker.url, deviceId, dataDir: path.join(root, "data") });
    fixture.cleanup(() => rm(root, { recursive: true, force: true }));
    fixture.cleanup(() => supervisor.stop());
    const { bootId: firstBoot } = (await firstOnline).json() as { bootId: string };
    // The technician's tool sends the same request (same correlation data) again: its link
    // dropped, it never saw the answer.
    const restart = async () => (await fixture.watcher.request(`thea/v1/${deviceId}/cmd/agent.restart`, "{}", { correlationData: Buffer.from("restart-0001") })).body;

    const secondOnline = onlineAs((bootId) => bootId !== firstBoot);
    expect(await restart()).toEqual({ ok: true, result: { restarting: true } });
    const { bootId: secondBoot } = (await secondOnline).json() as { bootId: string };

    expect(await restart()).toEqual({ ok: true, result: { restarting: true } });
    // Still the same run: a restart would have stopped answering before this ping.
    const ping = (await fixture.watcher.request(`thea/v1/${deviceId}/cmd/ping`, "", { timeoutMs: 10_000 })).body;
    expect(ping).toMatchObject({ ok: true, result: { bootId: secondBoot } });
    expect(supervisor.starts).toHaveLength(2);
    // A new request id is a new request: it restarts.
    const thirdOnline = onlineAs((bootId) => bootId !== firstBoot && bootId !== secondBoot);
    expect((await fixture.watcher.request(`thea/v1/${deviceId}/cmd/agent.restart`, "{}")).body).toEqual({ ok: true, result: { restarting: true } });
    await thirdOnline;
  });

  it("rescans the peripherals that are waiting for their device", async () => {
    const { command } = await managedAgent({ extraYaml: 'peripherals:\n  - { id: oximeter, driver: nonin, port: "/dev/thea-test-nothing-here" }' });
    const { rescanned, peripherals } = resultOf(await command("peripherals.rescan")) as { rescanned: string[]; peripherals: { peripheral: string; connected: boolean }[] };
    expect(rescanned).toEqual(["oximeter"]);
    expect(peripherals).toEqual([expect.objectContaining({ peripheral: "oximeter", connected: false })]);
  });
});
