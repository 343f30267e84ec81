/**
 * The remote configuration layer on a real data directory: a box never configured from afar
 * starts from the empty layer, a saved layer is what the next start reads, and a damaged file is
 * an error value to report rather than a silent reset of the remote layer.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EMPTY_STATE, RemoteConfigStore, type RemoteConfigState } from "../../../agent/config/remoteStore.ts";

const dataDir = () => mkdtemp(path.join(tmpdir(), "thea-remote-store-"));

describe("RemoteConfigStore", () => {
  it("reads the empty layer when nothing was ever applied from afar, as a copy it may change", async () => {
    const loaded = await new RemoteConfigStore(await dataDir()).load();
    expect(loaded).toEqual({ ok: true, state: EMPTY_STATE });
    if (loaded.ok) loaded.state.applied.layer["log"] = { level: "debug" };
    expect(EMPTY_STATE.applied.layer).toEqual({});
  });

  it("gives back on the next start the layer and trial it saved", async () => {
    const dir = await dataDir();
    const state: RemoteConfigState = {
      applied: { version: 3, layer: { telemetry: { healthIntervalSec: 30 } }, appliedAt: "2026-12-03T10:00:00.000Z" },
      trial: { previous: { version: 2, layer: {}, appliedAt: "2026-12-01T10:00:00.000Z" }, since: "2026-12-03T10:00:00.000Z", starts: 1 },
      lastError: null,
      skipUpTo: 1,
    };
    await new RemoteConfigStore(dir).save(state);
    await expect(new RemoteConfigStore(dir).load()).resolves.toEqual({ ok: true, state });
  });

  it("answers a file that is not a remote config state, or not JSON, with an error naming the file", async () => {
    const dir = await dataDir();
    const store = new RemoteConfigStore(dir);
    await mkdir(path.dirname(store.file), { recursive: true });
    await writeFile(store.file, '{"applied":{"version":"3","layer":{}}}');
    await expect(store.load()).resolves.toEqual({ ok: false, error: `${store.file}: not a remote config state` });
    await writeFile(store.file, '{"applied":{"version":3}}');
    await expect(store.load()).resolves.toEqual({ ok: false, error: `${store.file}: not a remote config state` });
    await writeFile(store.file, "{ torn");
    await expect(store.load()).resolves.toMatchObject({ ok: false, error: expect.stringContaining(store.file) });
  });

  it("answers a file it cannot read with an error, not the empty layer", async () => {
    const dir = await dataDir();
    const store = new RemoteConfigStore(dir);
    await mkdir(store.file, { recursive: true });
    await expect(store.load()).resolves.toMatchObject({ ok: false, error: expect.stringContaining(store.file) });
  });
});
