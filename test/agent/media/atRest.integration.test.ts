/**
 * A box nobody watches carries no media code: with a camera configured, the agent does not load
 * werift or the viewing code until the first webrtc.offer, and that first viewer then watches as
 * always. What the agent's process loads is recorded by a module hook (Node's registerHooks,
 * preloaded with --import through NODE_OPTIONS) that appends each module's URL to a file.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { watchOverLoopback } from "../../helpers/loopbackViewer.ts";

const fixture = useBroker();

/** Appends "<pid> <url>" for every module the process (and its children, which inherit it) loads. */
const RECORD_LOADS = [
  'import { registerHooks } from "node:module";',
  'import { appendFileSync } from "node:fs";',
  "registerHooks({ load(url, context, next) { appendFileSync(process.env.THEA_TEST_LOADS, `${process.pid} ${url}\\n`); return next(url, context); } });",
].join("\n");

interface Answer {
  ok: boolean;
  result?: Record<string, unknown>;
}

describe("media at rest", () => {
  it("loads werift only when a camera is first watched", async () => {
    const loads = path.join(await mkdtemp(path.join(tmpdir(), "thea-loads-")), "loaded.txt");
    const agent = await AgentProcess.start({
      brokerUrl: fixture.broker.url,
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(RECORD_LOADS)}`, THEA_TEST_LOADS: loads },
      extraYaml: ["media: { loopbackOnly: true }", "cameras:", "  - { id: cam1, source: { type: test }, codec: vp8, width: 320, height: 240 }"].join("\n"),
    });
    fixture.cleanup(() => agent.stop());
    const command = async (name: string, params: object = {}) =>
      (await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/${name}`, JSON.stringify(params), { timeoutMs: 30_000 })).body as Answer;
    await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
    // A command served end to end: the agent is at rest, not still starting.
    expect(await command("media.sessions")).toMatchObject({ ok: true, result: { sessions: [], cameras: [{ id: "cam1", state: "idle" }] } });
    const loaded = async () =>
      (await readFile(loads, "utf8"))
        .split("\n")
        .filter((line) => line.startsWith(`${agent.pid} `))
        .map((line) => line.slice(line.indexOf(" ") + 1));

    const atRest = await loaded();
    expect(atRest.some((url) => /\/agent\/agent\.(ts|js)$/.test(url))).toBe(true); // the hook saw the agent load
    expect(atRest.filter((url) => url.includes("/node_modules/werift/") || url.includes("/agent/media/viewerSession."))).toEqual([]);

    const viewer = await watchOverLoopback(command, "cam1");
    fixture.cleanup(() => viewer.close());
    expect((await loaded()).some((url) => url.includes("/node_modules/werift/"))).toBe(true);
    expect(await command("media.sessions")).toMatchObject({ result: { sessions: [{ camera: "cam1", state: "connected" }] } });
  });
});
