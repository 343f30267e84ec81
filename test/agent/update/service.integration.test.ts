/**
 * Signed updates end to end, on an installed layout in a temporary directory: releases/0.1.0 is
 * this checkout, the launcher is its bin/thea-launch, and the test plays systemd (a supervisor
 * that restarts the agent whenever it exits). The new release is a real bundle made by
 * `thea release pack` and served from a loopback HTTP mirror.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signManifest, type Manifest, type SignedManifest } from "../../../agent/update/manifest.ts";
import type { UpdateStatePayload } from "../../../agent/update/state.ts";
import { PROJECT_ROOT, THEA_BIN } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { BundleServer } from "../../helpers/bundleServer.ts";
import { Supervisor } from "../../helpers/supervisor.ts";
import { watchOverLoopback } from "../../helpers/loopbackViewer.ts";
import { TopicLog } from "../../helpers/topicLog.ts";

const run = promisify(execFile);
const fixture = useBroker();

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
};
const releaseKey = keyPair();
let mirrorDir: string;
let mirror: BundleServer;
let good: SignedManifest;

beforeAll(async () => {
  mirrorDir = await mkdtemp(path.join(tmpdir(), "thea-mirror-"));
  await writeFile(path.join(mirrorDir, "release.key"), releaseKey.privatePem, { mode: 0o600 });
  mirror = await BundleServer.start(mirrorDir);
  await run(THEA_BIN, ["release", "pack", "--version", "0.2.0", "--key", path.join(mirrorDir, "release.key"), "--url", mirror.url("thea-0.2.0.tar.gz"), "--out", mirrorDir]);
  good = JSON.parse(await readFile(path.join(mirrorDir, "thea-0.2.0.manifest.json"), "utf8")) as SignedManifest;
}, 120_000);

afterAll(async () => {
  await mirror?.stop();
  await rm(mirrorDir, { recursive: true, force: true });
});

/** A small bundle (`bin/thea` a shell script) for the refusals and the release that cannot start. */
async function smallBundle(version: string, script: string, paddingBytes = 0): Promise<{ file: string; manifest: Manifest }> {
  const staging = await mkdtemp(path.join(tmpdir(), "thea-small-"));
  const root = path.join(staging, `thea-${version}`);
  await mkdir(path.join(root, "bin"), { recursive: true });
  await writeFile(path.join(root, "bin", "thea"), script);
  await chmod(path.join(root, "bin", "thea"), 0o755);
  await copyFile(path.join(PROJECT_ROOT, "bin", "thea-launch"), path.join(root, "bin", "thea-launch"));
  await writeFile(path.join(root, "package.json"), JSON.stringify({ version }));
  // Zeros: they gzip to almost nothing, as a bomb does (sparse here, so cheap to make).
  if (paddingBytes > 0) await run("truncate", ["-s", String(paddingBytes), path.join(root, "padding.bin")]);
  const file = `thea-${version}.tar.gz`;
  await run("tar", ["-czf", path.join(mirrorDir, file), "-C", staging, `thea-${version}`]);
  const { stdout } = await run("sha256sum", [path.join(mirrorDir, file)]);
  const bytes = (await readFile(path.join(mirrorDir, file))).length;
  return { file, manifest: { version, size: bytes, sha256: stdout.slice(0, 64), url: mirror.url(file), notes: "", force: false, allowDowngrade: false } };
}

interface Box {
  root: string;
  supervisor: Supervisor;
  deviceId: string;
  states: UpdateStatePayload[];
  desire: (signed: unknown) => Promise<void>;
  state: (match: (state: UpdateStatePayload) => boolean, timeoutMs?: number) => Promise<UpdateStatePayload>;
}

interface BoxOptions {
  extraYaml?: string;
  env?: Record<string, string>;
  /** Leaves things in the data directory before the agent first starts (a power cut's leftovers, a floor). */
  seed?: (dataDir: string) => Promise<void>;
}

/** An installed box: releases/0.1.0 (this checkout), current and launch pointing at it. */
async function installedBox(options: BoxOptions | string = {}): Promise<Box> {
  const { extraYaml = "", env, seed } = typeof options === "string" ? { extraYaml: options } : options;
  const root = await mkdtemp(path.join(tmpdir(), "thea-opt-"));
  await mkdir(path.join(root, "releases"));
  await symlink(PROJECT_ROOT.replace(/\/$/, ""), path.join(root, "releases", "0.1.0"));
  await symlink("releases/0.1.0", path.join(root, "current"));
  await symlink("releases/0.1.0/bin/thea-launch", path.join(root, "launch"));
  const deviceId = `upd-${path.basename(root).slice(-6).toLowerCase()}`;
  const dataDir = path.join(root, "var-lib-thea"); // the same state directory across restarts, as on a box
  await seed?.(dataDir);
  const supervisor = await Supervisor.start({
    brokerUrl: fixture.broker.url,
    deviceId,
    dataDir,
    ...(env && { env }),
    command: path.join(root, "launch"),
    extraYaml: ["update:", `  installRoot: ${root}`, `  trustedKeys: [${JSON.stringify(releaseKey.publicPem)}]`, "  healthGraceSec: 10", "  downloadAttempts: 2", extraYaml].join("\n"),
  });
  // rm does not follow symlinks: releases/0.1.0 (this checkout) is unlinked, not deleted.
  fixture.cleanup(() => rm(root, { recursive: true, force: true }));
  fixture.cleanup(() => supervisor.stop());
  const topic = (leaf: string) => `thea/v1/${deviceId}/update/${leaf}`;
  await fixture.watcher.next(`thea/v1/${deviceId}/status`, (m) => (m.json() as { online: boolean }).online, 30_000);
  const states = await TopicLog.open<UpdateStatePayload>(fixture.watcher, topic("state"));
  return {
    root,
    supervisor,
    deviceId,
    states: states.messages,
    desire: (signed) => fixture.watcher.publish(topic("desired"), JSON.stringify(signed), { qos: 1, retain: true }),
    state: (match, timeoutMs = 60_000) => states.next(match, timeoutMs),
  };
}

const link = (root: string, name: string) => readlink(path.join(root, name));

/** What update/floor.json would hold on a box that once committed `version`. */
const seedFloor = (version: string) => async (dataDir: string) => {
  await mkdir(path.join(dataDir, "update"), { recursive: true });
  await writeFile(path.join(dataDir, "update", "floor.json"), JSON.stringify({ version, since: new Date().toISOString() }));
};

/**
 * A PATH whose `timedatectl` answers what the returned file holds ("yes"/"no"), as timedated does
 * once NTP has (not) set the clock: the agent asks it whether its clock can be trusted.
 */
async function fakeTimedatectl(answer: "yes" | "no"): Promise<{ env: Record<string, string>; answer: (to: "yes" | "no") => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "thea-ntp-"));
  fixture.cleanup(() => rm(dir, { recursive: true, force: true }));
  const answerFile = path.join(dir, "ntp-synchronized");
  await writeFile(answerFile, `${answer}\n`);
  await writeFile(path.join(dir, "timedatectl"), `#!/bin/sh\ncat '${answerFile}'\n`);
  await chmod(path.join(dir, "timedatectl"), 0o755);
  return { env: { PATH: `${dir}:${process.env.PATH ?? ""}` }, answer: (to) => writeFile(answerFile, `${to}\n`) };
}

/** `signed`'s manifest with `fields` changed, signed again with the release key (as `thea release pack` would). */
const resigned = (signed: SignedManifest, fields: Partial<Manifest>) => signManifest({ ...(signed.manifest as Manifest), ...fields }, releaseKey.privatePem);
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe("signed software updates", { timeout: 150_000 }, () => {
  it("installs a good release beside the running one, restarts onto it and commits it once it is healthy", async () => {
    const box = await installedBox();
    await box.desire(good);
    const committed = await box.state((s) => s.state === "committed", 120_000);
    expect(committed).toMatchObject({ version: "0.2.0", runningVersion: "0.2.0", result: "ok", floor: "0.2.0" });
    expect(JSON.parse(await readFile(path.join(box.root, "var-lib-thea", "update", "floor.json"), "utf8"))).toMatchObject({ version: "0.2.0" });
    const path1 = box.states.map((s) => s.state);
    for (const step of ["downloading", "verifying", "installing", "restarting", "verifying-health"]) expect(path1).toContain(step);
    expect(box.states.some((s) => s.state === "downloading" && (s.progress ?? 0) > 0 && (s.progress ?? 0) < 100)).toBe(true);
    expect(await link(box.root, "current")).toBe("releases/0.2.0");
    expect(await link(box.root, "previous")).toBe("releases/0.1.0");
    expect(await link(box.root, "launch")).toBe("releases/0.2.0/bin/thea-launch");
    expect(await readdir(box.root)).not.toContain("trial");
    const { body } = await fixture.watcher.request(`thea/v1/${box.deviceId}/cmd/ping`, "{}");
    expect(body).toMatchObject({ ok: true, result: { version: "0.2.0" } });
    expect(box.supervisor.starts).toHaveLength(2);
  });

  it("refuses bad signatures, unknown keys, wrong digests, truncated downloads and downgrades, and changes nothing", async () => {
    const box = await installedBox();
    const small = await smallBundle("0.4.0", "#!/bin/sh\nexit 0\n");
    const signed = signManifest(small.manifest, releaseKey.privatePem);

    await box.desire({ ...signed, manifest: { ...signed.manifest, url: mirror.url("elsewhere.tar.gz") } });
    expect(await box.state((s) => s.result === "bad-signature")).toMatchObject({ state: "failed", reason: expect.stringContaining("does not match") });
    await box.desire(signManifest(small.manifest, keyPair().privatePem));
    expect(await box.state((s) => s.result === "unknown-key")).toMatchObject({ state: "failed", reason: expect.stringContaining("not among this box's trusted keys") });
    await box.desire(signManifest({ ...small.manifest, sha256: "0".repeat(64) }, releaseKey.privatePem));
    expect(await box.state((s) => s.result === "digest-mismatch")).toMatchObject({ state: "failed", version: "0.4.0", reason: expect.stringContaining("the manifest says 0000") });
    await box.desire(signManifest({ ...small.manifest, version: "0.4.1", size: small.manifest.size + 1000 }, releaseKey.privatePem));
    expect(await box.state((s) => s.result === "download-failed")).toMatchObject({ state: "failed", reason: expect.stringMatching(/shorter than the manifest's \d+ bytes .*after 2 attempts/) });
    await box.desire(signManifest({ ...small.manifest, version: "0.0.9", sha256: "1".repeat(64) }, releaseKey.privatePem));
    expect(await box.state((s) => s.result === "downgrade")).toMatchObject({ state: "failed", reason: expect.stringContaining("older than the running 0.1.0") });

    expect(await link(box.root, "current")).toBe("releases/0.1.0");
    expect(await readdir(path.join(box.root, "releases"))).toEqual(["0.1.0"]);
    expect(box.supervisor.starts).toHaveLength(1); // never restarted
  });

  it("refuses a manifest for another channel, for other boxes or expired, downloading nothing", async () => {
    const box = await installedBox();
    const small = await smallBundle("0.5.0", "#!/bin/sh\nexit 0\n");
    const signed = signManifest(small.manifest, releaseKey.privatePem);

    await box.desire(resigned(signed, { channels: ["beta"] }));
    expect(await box.state((s) => s.result === "not-for-this-box")).toMatchObject({ state: "failed", version: "0.5.0", reason: expect.stringContaining("this box follows stable") });
    await box.desire(resigned(signed, { devices: ["clinic-elsewhere"] }));
    expect(await box.state((s) => s.reason?.includes(`${box.deviceId} is not among them`) === true)).toMatchObject({ state: "failed", result: "not-for-this-box" });
    await box.desire(resigned(signed, { expiresAt: new Date(Date.now() - 60_000).toISOString() }));
    expect(await box.state((s) => s.result === "expired")).toMatchObject({ state: "failed", reason: expect.stringContaining("expired at") });

    expect(mirror.requests.filter((request) => request.path.endsWith(small.file))).toEqual([]);
    expect(await readdir(path.join(box.root, "releases"))).toEqual(["0.1.0"]);
    expect(box.supervisor.starts).toHaveLength(1);
  });

  it("keeps a box rolled back by hand at its floor: an old upgrade is refused, a signed unexpired downgrade waits for NTP, then installs", { timeout: 240_000 }, async () => {
    // This box once committed 0.3.0; a technician put 0.1.0 back by hand. 0.2.0 (say, vulnerable) must not return on an old manifest.
    const ntp = await fakeTimedatectl("no");
    const box = await installedBox({ seed: seedFloor("0.3.0"), env: ntp.env });
    const fetches = () => mirror.requests.filter((request) => request.path.endsWith("thea-0.2.0.tar.gz")).length;
    const fetchedBefore = fetches();
    await box.desire(good);
    expect(await box.state((s) => s.result === "below-floor")).toMatchObject({ state: "failed", floor: "0.3.0", reason: expect.stringContaining("below this box's floor 0.3.0") });

    const downgrade = resigned(good, { allowDowngrade: true, expiresAt: inAnHour() });
    await box.desire(downgrade);
    expect(await box.state((s) => s.result === "clock-unsynchronized")).toMatchObject({ state: "failed", reason: expect.stringContaining("waiting for NTP") });
    expect(fetches()).toBe(fetchedBefore); // neither was downloaded
    await ntp.answer("yes"); // NTP has set the clock: the held downgrade goes ahead by itself
    expect(await box.state((s) => s.state === "committed", 200_000)).toMatchObject({ version: "0.2.0", runningVersion: "0.2.0", result: "ok", floor: "0.3.0" });
    expect(await link(box.root, "current")).toBe("releases/0.2.0");

    // Replaying it (or the retained copy coming back on a reconnect) changes nothing.
    const agent = box.supervisor.current;
    const from = agent.stdout.lines.length;
    await box.desire(downgrade);
    await agent.stdout.waitForLine("the replay ignored", (line) => line.includes("desired update ignored") && line.includes("already finished with"), 30_000, from);
    expect(box.states.at(-1)).toMatchObject({ state: "committed", runningVersion: "0.2.0" });
    expect(box.supervisor.starts).toHaveLength(2);
  });

  /** A box whose update was at `state` when the power went, with `bundle` left where the agent keeps the bundle. */
  const interruptedAt = (state: string, manifest: Manifest, bundle: Buffer) => async (dataDir: string) => {
    await mkdir(path.join(dataDir, "update"), { recursive: true });
    await writeFile(path.join(dataDir, "update", `${manifest.sha256}.tar.gz`), bundle);
    const record = { state, target: manifest, previous: null, progress: null, result: null, reason: null, since: new Date().toISOString(), settled: [] };
    await writeFile(path.join(dataDir, "update", "state.json"), JSON.stringify(record));
  };
  const fetched = (file: string) => mirror.requests.filter((request) => request.path.endsWith(file)).length;

  it("checks the bundle's digest again when an install resumes after a power cut, fetches it once more, and gives up on a second mismatch", async () => {
    const signedBundle = await smallBundle("0.6.0", "#!/bin/sh\nexit 0\n");
    const swapped = await readFile(path.join(mirrorDir, signedBundle.file));
    swapped.writeUInt8(swapped.readUInt8(swapped.length >> 1) ^ 0xff, swapped.length >> 1);
    // The power went while installing; what lies on the disk now is not the bundle that was verified,
    // and the mirror now serves that other bundle (of the same size) too.
    await writeFile(path.join(mirrorDir, signedBundle.file), swapped);
    const box = await installedBox({ seed: interruptedAt("installing", signedBundle.manifest, swapped) });
    expect(await box.state((s) => s.result === "digest-mismatch")).toMatchObject({ state: "failed", version: "0.6.0", reason: expect.stringContaining("the manifest says") });
    expect(box.states.some((s) => s.state === "downloading" && s.reason?.startsWith("on resuming the install, the bundle's SHA-256 is") === true && s.reason.endsWith("downloading it once more"))).toBe(true);
    expect(fetched(signedBundle.file)).toBe(1); // once more, not again and again
    expect(await readdir(path.join(box.root, "releases"))).toEqual(["0.1.0"]);
    expect(await readdir(path.join(box.root, "var-lib-thea", "update"))).not.toContain(`${signedBundle.manifest.sha256}.tar.gz`);
    expect(box.supervisor.starts).toHaveLength(1);
  });

  it("downloads a bundle damaged on the disk once more and installs it, rather than settling the update", async () => {
    const bundle = await smallBundle("0.6.1", "#!/bin/sh\nexit 0\n");
    const whole = await readFile(path.join(mirrorDir, bundle.file));
    // A power cut took the end of the bundle after the state said it was verified.
    const box = await installedBox({ seed: interruptedAt("installing", bundle.manifest, whole.subarray(0, whole.length >> 1)) });
    expect(await box.state((s) => s.state === "restarting")).toMatchObject({ version: "0.6.1" });
    expect(box.states.some((s) => s.state === "downloading" && s.reason?.endsWith("downloading it once more") === true)).toBe(true);
    expect(fetched(bundle.file)).toBe(1);
    expect(box.states.some((s) => s.result === "digest-mismatch")).toBe(false);
  });

  it("takes a whole bundle found on the disk after a power cut instead of downloading it again", async () => {
    const bundle = await smallBundle("0.6.2", "#!/bin/sh\nexit 0\n");
    // The bundle's rename reached the disk, the state saved after it ("downloaded") did not.
    const box = await installedBox({ seed: interruptedAt("downloading", bundle.manifest, await readFile(path.join(mirrorDir, bundle.file))) });
    expect(await box.state((s) => s.state === "restarting")).toMatchObject({ version: "0.6.2" });
    expect(fetched(bundle.file)).toBe(0);
  });

  it("refuses a bundle that unpacks to more than update.maxUnpackedMegabytes, and keeps nothing of it", async () => {
    const box = await installedBox("  maxUnpackedMegabytes: 4");
    const bomb = await smallBundle("0.7.0", "#!/bin/sh\nexit 0\n", 64 * 1024 * 1024);
    expect(bomb.manifest.size).toBeLessThan(1024 * 1024);
    await box.desire(signManifest(bomb.manifest, releaseKey.privatePem));
    expect(await box.state((s) => s.result === "unpacked-too-large")).toMatchObject({ state: "failed", version: "0.7.0", reason: expect.stringContaining("more than 4194304 bytes") });
    expect(await readdir(path.join(box.root, "releases"))).toEqual(["0.1.0"]);
    expect(box.supervisor.starts).toHaveLength(1);
  });

  it("rolls back a release that cannot start: the launcher goes back after three starts", async () => {
    const box = await installedBox();
    const broken = await smallBundle("0.3.0", "#!/bin/sh\necho 'thea 0.3.0: cannot start' >&2\nexit 1\n");
    await box.desire(signManifest(broken.manifest, releaseKey.privatePem));
    const back = await box.state((s) => s.state === "rolled-back", 120_000);
    expect(back).toMatchObject({ result: "crash-loop", version: "0.3.0", runningVersion: "0.1.0", reason: expect.stringContaining("did not come up (3 starts)") });
    expect(await link(box.root, "current")).toBe("releases/0.1.0");
    expect(await link(box.root, "launch")).toBe("releases/0.1.0/bin/thea-launch");
    expect(box.supervisor.starts).toHaveLength(5); // 0.1.0, three failed starts of 0.3.0, 0.1.0 again
  });

  it("rolls back a release that comes up but cannot reach the broker within the grace period", async () => {
    const box = await installedBox();
    await box.desire(good);
    await box.state((s) => s.state === "restarting", 120_000);
    await fixture.broker.pause(); // the new version finds no broker
    await box.supervisor.waitForStarts(3, 60_000); // 0.2.0 gave up after 10 s and restarted onto 0.1.0
    await fixture.broker.resume();
    const back = await box.state((s) => s.state === "rolled-back", 60_000);
    expect(back).toMatchObject({ result: "health-check-failed", version: "0.2.0", runningVersion: "0.1.0", reason: expect.stringContaining("the broker was not reached within 10 s") });
    expect(await link(box.root, "current")).toBe("releases/0.1.0");
  });

  it.each(["downloading", "verifying", "installing", "restarting", "verifying-health"])("survives kill -9 while %s and still ends committed", async (step) => {
    const box = await installedBox();
    if (step === "downloading") mirror.truncateAfter = 20_000_000; // a link that drops: the kill lands mid-download
    await box.desire(good);
    await box.state((s) => s.state === step, 120_000);
    box.supervisor.current.kill("SIGKILL");
    mirror.truncateAfter = undefined;
    expect(await box.state((s) => s.state === "committed", 120_000)).toMatchObject({ version: "0.2.0", runningVersion: "0.2.0", result: "ok" });
    expect(await link(box.root, "current")).toBe("releases/0.2.0");
    expect(await link(box.root, "launch")).toBe("releases/0.2.0/bin/thea-launch");
    expect(await readdir(box.root)).not.toContain("trial");
    expect((await readdir(path.join(box.root, "releases"))).sort()).toEqual(["0.1.0", "0.2.0"]);
  });

  it("waits for a live consultation to end before restarting onto the new version", async () => {
    const box = await installedBox(["cameras:", "  - { id: cam1, source: { type: test }, codec: vp8 }", "media: { loopbackOnly: true, sessionTimeoutSec: 300 }"].join("\n"));
    const command = async (name: string, params: object) => (await fixture.watcher.request(`thea/v1/${box.deviceId}/cmd/${name}`, JSON.stringify(params))).body as { ok: boolean; result: Record<string, unknown> };
    // A doctor's viewer has offered to watch: a consultation is live from then on.
    const consultation = await watchOverLoopback(command, "cam1");
    fixture.cleanup(() => consultation.close());

    await box.desire(good);
    expect(await box.state((s) => s.state === "deferred", 120_000)).toMatchObject({ version: "0.2.0", reason: expect.stringContaining("1 viewer session(s) live") });
    expect(box.supervisor.starts).toHaveLength(1);
    expect(await command("webrtc.close", { sessionId: consultation.sessionId })).toMatchObject({ ok: true });
    expect(await box.state((s) => s.state === "committed", 120_000)).toMatchObject({ runningVersion: "0.2.0" });
  });
});
