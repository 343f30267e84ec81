import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../../agent/config/load.ts";
import type { ResolvedConfig } from "../../../config/schema.ts";
import { policyViolations } from "../../../agent/config/policy.ts";
import { layer } from "../../../agent/config/remote.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "thea-policy-"));
  await mkdir(path.join(dir, "allowed"));
  await writeFile(path.join(dir, "allowed", "ca.pem"), "");
  await symlink("/etc", path.join(dir, "allowed", "escape"));
});

const base = { deviceId: "box-1", mqtt: { url: "mqtts://b" } };

async function resolved(value: object): Promise<ResolvedConfig> {
  const result = await resolveConfig(value, { env: {} });
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.config;
}

/** The problems of a remote layer over a box file that says `policy`. */
async function check(remote: Record<string, unknown>, localExtra: Record<string, unknown> = {}): Promise<string[]> {
  const localRaw = { ...base, ...localExtra };
  return policyViolations(await resolved(layer(localRaw, remote) as object), await resolved(localRaw));
}

const hl7 = (tcp: object) => ({ peripherals: [{ id: "monitor", driver: "hl7-mllp", tcp }] });

describe("remotePolicy", () => {
  it("by default lets a remote layer add no network peripheral, listener or file, nor lower the reboot floor", async () => {
    expect(await check(hl7({ connect: "127.0.0.1:2575" }))).toEqual([expect.stringMatching(/^peripherals\[0\]\.tcp\.connect: 127\.0\.0\.1 is outside remotePolicy\.networks/)]);
    expect(await check(hl7({ listen: "0.0.0.0:2575" }))).toEqual([expect.stringMatching(/^peripherals\[0\]\.tcp\.listen: 0\.0\.0\.0 is not in remotePolicy\.listenAddresses/)]);
    expect(await check({ media: { turnTlsCa: "/etc/shadow" } })).toEqual([expect.stringMatching(/^media\.turnTlsCa: \/etc\/shadow is not under remotePolicy\.fileDirectories/)]);
    expect(await check({ management: { rebootMinIntervalMin: 1 } })).toEqual(["management.rebootMinIntervalMin: 1 is below remotePolicy.floors (a remote layer may not set it below 30)"]);
    expect(await check({ telemetry: { healthIntervalSec: 5 }, log: { level: "debug" } })).toEqual([]);
  });

  it("keeps the retained summary to once a minute at most against a remote layer, unless the box's own file went lower", async () => {
    expect(await check({ telemetry: { summaryMinIntervalSec: 1 } })).toEqual(["telemetry.summaryMinIntervalSec: 1 is below remotePolicy.floors (a remote layer may not set it below 60)"]);
    expect(await check({ telemetry: { summaryMinIntervalSec: 300 } })).toEqual([]);
    expect(await check({ telemetry: { summaryMinIntervalSec: 10 } }, { telemetry: { summaryMinIntervalSec: 10 } })).toEqual([]);
  });

  it("allows addresses inside the listed networks only, and no names", async () => {
    const policy = { remotePolicy: { networks: ["192.168.10.0/24", "fd00::/8"], listenAddresses: ["127.0.0.1"] } };
    expect(await check(hl7({ connect: "192.168.10.40:2575" }), policy)).toEqual([]);
    expect(await check(hl7({ connect: "[fd00::5]:2575" }), policy)).toEqual([]);
    expect(await check(hl7({ connect: "192.168.11.1:22" }), policy)).toEqual([expect.stringMatching(/outside remotePolicy\.networks/)]);
    expect(await check(hl7({ connect: "monitor.local:2575" }), policy)).toEqual([expect.stringMatching(/is a name, not an address/)]);
    expect(await check({ peripherals: [{ id: "cam", driver: "visca", udp: "10.0.0.1:52381" }] }, policy)).toEqual([
      expect.stringMatching(/^peripherals\[0\]\.udp: 10\.0\.0\.1 is outside/),
    ]);
    expect(await check(hl7({ listen: "127.0.0.1:2575" }), policy)).toEqual([]);
  });

  it("lets a remote layer add a Bluetooth LE peripheral but not pair the box with one", async () => {
    const ble = (settings: object) => ({ peripherals: [{ id: "cuff", driver: "ble-health", ble: settings }] });
    expect(await check(ble({ address: "C0:26:DA:01:23:45" }))).toEqual([]);
    expect(await check(ble({ service: "1810", pair: true }))).toEqual([expect.stringMatching(/^peripherals\[0\]\.ble\.pair: a remote layer may not pair/)]);
    // The box's own file may.
    expect(await check({}, ble({ address: "C0:26:DA:01:23:45", pair: true }))).toEqual([]);
  });

  it("keeps file paths under the listed directories: no .., no symbolic link out", async () => {
    const policy = { remotePolicy: { fileDirectories: [path.join(dir, "allowed")] } };
    expect(await check({ media: { turnTlsCa: path.join(dir, "allowed", "ca.pem") } }, policy)).toEqual([]);
    expect(await check({ media: { turnTlsCa: `${dir}/allowed/../allowed/ca.pem` } }, policy)).toEqual([expect.stringMatching(/must be an absolute path without \.\./)]);
    expect(await check({ media: { turnTlsCa: path.join(dir, "allowed", "escape", "shadow") } }, policy)).toEqual([expect.stringMatching(/not under remotePolicy\.fileDirectories/)]);
    const talkback = (file: string) => ({ cameras: [{ id: "room", source: { type: "test" }, talkback: { sink: { type: "wav", path: file } } }] });
    expect(await check(talkback("/tmp/../etc/x.wav"), policy)).toEqual([expect.stringMatching(/^cameras\[0\]\.talkback\.sink\.path: /)]);
  });

  it("trusts what the box's own file sets, even when the remote layer repeats it", async () => {
    const local = { ...hl7({ listen: "0.0.0.0:2575" }), management: { rebootMinIntervalMin: 5 }, media: { turnTlsCa: "/etc/ssl/ca.pem" } };
    expect(await check({ ...hl7({ listen: "0.0.0.0:2575" }), telemetry: { healthIntervalSec: 30 } }, local)).toEqual([]);
    expect(await check(hl7({ listen: "0.0.0.0:2576" }), local)).toEqual([expect.stringMatching(/tcp\.listen/)]);
  });

  it("lowers the floors only as the box's own file says", async () => {
    const local = { remotePolicy: { floors: { rebootMinIntervalMin: 10 } } };
    expect(await check({ management: { rebootMinIntervalMin: 10 } }, local)).toEqual([]);
    expect(await check({ management: { rebootMinIntervalMin: 9 } }, local)).toEqual([expect.stringMatching(/below 10/)]);
    // A file that itself went below the floor: a remote layer may go as low as the file, no lower.
    const low = { management: { rebootMinIntervalMin: 5 } };
    expect(await check({ management: { rebootMinIntervalMin: 6 } }, low)).toEqual([]);
    expect(await check({ management: { rebootMinIntervalMin: 4 } }, low)).toEqual([expect.stringMatching(/below 5/)]);
  });
});
