/**
 * `thea fleet rollout` against a real FleetServer on loopback (rollouts over a fake BoxLink): the
 * commands a script uses, what they print, and the exit code that tells how a rollout ended.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RolloutApi } from "../../../../tools/fleet/rollout/api.ts";
import { EXIT, rolloutCommand, type RolloutCliArgs } from "../../../../tools/fleet/rollout/cli.ts";
import { RolloutEngine } from "../../../../tools/fleet/rollout/engine.ts";
import { MemoryRolloutStore } from "../../../../tools/fleet/rollout/memoryStore.ts";
import { FleetServer } from "../../../../tools/fleet/server.ts";
import { useCleanups } from "../../../helpers/cleanups.ts";
import { FakeBoxLink, FakeClock, signedManifestText } from "../../../helpers/fakeBoxLink.ts";
import { boxRow, FakeFleetView } from "../../../helpers/fakeFleetView.ts";
import { makeFleetPki } from "../../../helpers/fleetPki.ts";
import { parseRoster } from "../../../../tools/roster/roster.ts";

const { cleanup } = useCleanups();

async function setUp(): Promise<{ link: FakeBoxLink; args: RolloutCliArgs; run: (rest: string[], extra?: RolloutCliArgs) => Promise<{ code: number; lines: string[] }> }> {
  const view = new FakeFleetView(Array.from({ length: 6 }, (_, i) => boxRow(`bx-${i}`)));
  const link = new FakeBoxLink();
  const engine = new RolloutEngine({ store: new MemoryRolloutStore(), link, view, clock: new FakeClock(Date.now()) });
  await engine.start();
  cleanup(() => engine.stop());
  const server = await FleetServer.start({ view, port: 0, actWithoutRoster: true, rollouts: new RolloutApi({ engine }) });
  cleanup(() => server.stop());
  const dir = await mkdtemp(path.join(tmpdir(), "thea-rollout-cli-"));
  const release = path.join(dir, "thea-1.5.0.manifest.json");
  await writeFile(release, signedManifestText({ version: "1.5.0" }));
  const args: RolloutCliArgs = { api: server.url, release, province: "Lao Cai", canary: "1", batch: "2", threshold: "0" };
  const run = async (rest: string[], extra: RolloutCliArgs = {}) => {
    const lines: string[] = [];
    const code = await rolloutCommand(rest, { ...args, ...extra }, { out: (line) => lines.push(line), pollMs: 10 });
    return { code, lines };
  };
  return { link, args, run };
}

describe("thea fleet rollout", () => {
  it("creates a rollout, follows it to a halt and exits 3 naming the failed box", async () => {
    const { link, run } = await setUp();
    link.onPublish = (deviceId) =>
      queueMicrotask(() => link.updateState(deviceId, { state: "rolled-back", version: "1.5.0", result: "health-check-failed", reason: "the broker was not reached within 120 s" }));
    const { code, lines } = await run(["create"]);
    expect(code).toBe(EXIT.halted);
    expect(lines[0]).toMatch(/^rollout \S+: release 1.5.0 to 6 boxes, the canary then 3 batches$/);
    expect(lines).toContain("halted: 1 of 1 boxes sent failed, more than the threshold (0)");
    expect(lines.at(-1)).toMatch(/^ {2}bx-\d: failed health-check-failed the broker was not reached within 120 s$/);
  });

  it("pauses, lists, shows and aborts; a dry run sends nothing", async () => {
    const { link, run } = await setUp();
    const dry = await run(["dry-run"]);
    expect(dry.code).toBe(EXIT.completed);
    expect(dry.lines[0]).toBe("dry run: release 1.5.0 to 6 boxes, the canary then 3 batches; nothing was sent");
    expect(link.published).toEqual([]);
    // The canary never answers: the rollout waits, and a script pauses then aborts it.
    const created = run(["create"]);
    const id = await new Promise<string>((resolve) => {
      const look = async () => {
        const listed = await run(["list"]);
        const match = /^(\S+) +running/.exec(listed.lines[0] ?? "");
        if (match?.[1]) resolve(match[1]);
        else setImmediate(look);
      };
      void look();
    });
    expect((await run(["pause", id])).lines).toEqual([`rollout ${id}: paused (paused by the API)`]);
    const shown = await run(["show", id]);
    expect(shown.lines[0]).toMatch(new RegExp(`^rollout ${id}: paused \\(paused by the API\\), release 1.5.0`));
    expect(shown.lines.filter((line) => line.includes(": pending"))).toHaveLength(5);
    expect(await run(["resume", id, "extra"])).toMatchObject({ code: EXIT.usage });
    expect((await run(["abort", id])).code).toBe(EXIT.completed);
    link.updateState(link.published[0]?.deviceId ?? "", { state: "committed", version: "1.5.0", result: "ok" });
    expect((await created).code).toBe(EXIT.aborted);
    expect((await run(["abort", id])).code).toBe(EXIT.failed); // it has ended: the service says 409
  });

  it("refuses what it cannot send, before asking the service", async () => {
    const { run } = await setUp();
    expect((await run(["create"], { patch: "x.json" })).code).toBe(EXIT.usage);
    expect((await run(["create"], { province: undefined })).code).toBe(EXIT.usage);
    expect((await run(["create"], { deadline: "soon" })).code).toBe(EXIT.usage);
    expect((await run(["frobnicate"])).code).toBe(EXIT.usage);
    expect((await run(["show", "nope"])).code).toBe(EXIT.failed);
  });

  it("speaks HTTPS with the person's own certificate: a technician is let in, an operator refused", async () => {
    const pki = await makeFleetPki(["/CN=technician.minh", "/CN=operator.lan"], (step) => cleanup(step));
    const view = new FakeFleetView([boxRow("bx-1")]);
    const engine = new RolloutEngine({ store: new MemoryRolloutStore(), link: new FakeBoxLink(), view, clock: new FakeClock(Date.now()) });
    await engine.start();
    cleanup(() => engine.stop());
    const roster = parseRoster("sites:\n  lao-cai: [bx-1]\npeople:\n  technician.minh: { sites: [lao-cai] }\n  operator.lan: { sites: [lao-cai] }\n");
    const server = await FleetServer.start({ view, port: 0, tls: { ...pki.server, ca: pki.ca }, roster, rollouts: new RolloutApi({ engine }) });
    cleanup(() => server.stop());
    const dir = await mkdtemp(path.join(tmpdir(), "thea-rollout-tls-"));
    const files = async (name: string) => {
      const pair = pki.clients[`/CN=${name}`];
      if (!pair) throw new Error(`no certificate for ${name}`);
      await writeFile(path.join(dir, `${name}.crt`), pair.cert);
      await writeFile(path.join(dir, `${name}.key`), pair.key);
      return { api: server.url, cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`), ca: path.join(dir, "ca.crt") };
    };
    await writeFile(path.join(dir, "ca.crt"), pki.ca);
    const lines: string[] = [];
    expect(await rolloutCommand(["list"], await files("technician.minh"), { out: (line) => lines.push(line) })).toBe(EXIT.completed);
    expect(lines).toEqual([]);
    expect(await rolloutCommand(["list"], await files("operator.lan"), { out: (line) => lines.push(line) })).toBe(EXIT.failed);
  }, 60_000);
});
