import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { deviceIdFromMachineId, loadConfig } from "../../../agent/config/load.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "thea-config-"));
});

async function file(name: string, text: string): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, text);
  return target;
}

describe("loadConfig", () => {
  it("applies defaults to a minimal file", async () => {
    const result = await loadConfig({ path: await file("a.yaml", "deviceId: box-1\nmqtt: { url: 'mqtt://b' }\n"), env: {} });
    expect(result.ok && result.config).toMatchObject({
      deviceId: "box-1",
      dataDir: "/var/lib/thea",
      log: { level: "info" },
      mqtt: { url: "mqtt://b", clientId: "thea-box-1", keepaliveSec: 30, reconnect: { maxDelaySec: 60, stableAfterSec: 60 } },
      telemetry: { healthIntervalSec: 60 },
    });
  });

  it("lets THEA_* variables override the file", async () => {
    const result = await loadConfig({
      path: await file("b.yaml", "deviceId: box-1\nmqtt: { url: 'mqtt://b' }\n"),
      env: { THEA_MQTT_URL: "mqtts://other:8883", THEA_DEVICE_ID: "box-2", THEA_DATA_DIR: "/tmp/x", THEA_LOG_LEVEL: "debug" },
    });
    expect(result.ok && result.config).toMatchObject({ deviceId: "box-2", dataDir: "/tmp/x", log: { level: "debug" }, mqtt: { url: "mqtts://other:8883" } });
  });

  it("works from the environment alone when there is no file", async () => {
    const result = await loadConfig({ env: { THEA_MQTT_URL: "mqtt://b", THEA_DEVICE_ID: "box-3" } });
    expect(result.ok).toBe(true);
  });

  it("reads the password from passwordFile, and the hash does not depend on it", async () => {
    const secret = await file("pw", "s3cret\n");
    const configPath = await file("c.yaml", `deviceId: box-1\nmqtt: { url: 'mqtts://b', username: u, passwordFile: '${secret}' }\n`);
    const first = await loadConfig({ path: configPath, env: {} });
    expect(first.ok && first.config.mqtt.password).toBe("s3cret");
    await writeFile(secret, "rotated\n");
    const second = await loadConfig({ path: configPath, env: {} });
    expect(second.ok && second.config.mqtt.password).toBe("rotated");
    expect(first.ok && second.ok && first.hash === second.hash).toBe(true);
  });

  it("names an unreadable passwordFile", async () => {
    const result = await loadConfig({
      path: await file("e.yaml", "deviceId: box-1\nmqtt: { url: 'mqtts://b', passwordFile: /nonexistent/pw }\n"),
      env: {},
    });
    expect(result).toMatchObject({ ok: false, errors: [expect.stringMatching(/^mqtt\.passwordFile: cannot read/)] });
  });

  it("refuses a client certificate over plain mqtt:// (it would not be used) and half a key pair", async () => {
    const plain = await loadConfig({
      path: await file("plain-tls.yaml", "deviceId: box-1\nmqtt: { url: 'mqtt://b', tls: { cert: /c.pem, key: /k.pem } }\n"),
      env: {},
    });
    expect(plain).toMatchObject({ ok: false, errors: [expect.stringMatching(/^mqtt\.url: tls settings need mqtts:\/\//)] });
    const half = await loadConfig({ path: await file("half.yaml", "deviceId: box-1\nmqtt: { url: 'mqtts://b', tls: { cert: /c.pem } }\n"), env: {} });
    expect(half).toMatchObject({ ok: false, errors: [expect.stringMatching(/^mqtt\.tls: give cert and key together/)] });
  });

  it("derives the device id from the machine id when none is set", async () => {
    const machineId = await file("machine-id", "0123456789abcdef0123456789abcdef\n");
    const result = await loadConfig({ env: { THEA_MQTT_URL: "mqtt://b" }, machineIdPath: machineId });
    expect(result.ok && result.config.deviceId).toMatch(/^box-[0-9a-f]{12}$/);
    expect(result.ok && result.config.deviceId).not.toContain("0123456789ab");
  });

  it("refuses when there is neither a device id nor a machine id", async () => {
    const result = await loadConfig({ env: { THEA_MQTT_URL: "mqtt://b" }, machineIdPath: path.join(dir, "none") });
    expect(result).toMatchObject({ ok: false, errors: [expect.stringMatching(/^deviceId: not set/)] });
  });

  it("finds a peripheral by the driver's known USB ids, and refuses that for a driver that has none", async () => {
    const base = "deviceId: box-1\nmqtt: { url: 'mqtt://b' }\nperipherals:\n";
    const ok = await loadConfig({ path: await file("u.yaml", `${base}  - { id: bp, driver: and-bp, usb: { serialNumber: A1 } }\n`), env: {} });
    expect(ok.ok && ok.config.peripherals[0]?.usb).toEqual({ serialNumber: "A1" });
    const none = await loadConfig({ path: await file("v.yaml", `${base}  - { id: spo2, driver: masimo-ascii, usb: {} }\n`), env: {} });
    expect(!none.ok && none.errors).toEqual([expect.stringMatching(/^peripherals\[0\]\.usb: masimo-ascii knows no USB adapter/)]);
    const half = await loadConfig({ path: await file("w.yaml", `${base}  - { id: spo2, driver: nonin, usb: { vendorId: "1C3D" } }\n`), env: {} });
    expect(!half.ok && half.errors.join()).toContain("give vendorId and productId together");
  });

  it("takes a Bluetooth LE peripheral by address or advertised service, only for a Bluetooth driver", async () => {
    const base = "deviceId: box-1\nmqtt: { url: 'mqtt://b' }\nperipherals:\n";
    const load = async (name: string, line: string) => loadConfig({ path: await file(name, `${base}  - ${line}\n`), env: {} });
    const byAddress = await load("a.yaml", `{ id: cuff, driver: ble-health, ble: { address: "c0:26:da:01:23:45" } }`);
    expect(byAddress.ok && byAddress.config.peripherals[0]?.ble).toEqual({ address: "C0:26:DA:01:23:45", pair: false });
    const byService = await load("b.yaml", `{ id: cuff, driver: ble-health, ble: { service: "1810", pair: true } }`);
    expect(byService.ok && byService.config.peripherals[0]?.ble).toEqual({ service: "1810", pair: true });
    const both = await load("c.yaml", `{ id: cuff, driver: ble-health, ble: { address: "C0:26:DA:01:23:45", service: "1810" } }`);
    expect(!both.ok && both.errors.join()).toContain("set either address or service");
    const onPort = await load("d.yaml", `{ id: cuff, driver: ble-health, port: /dev/ttyUSB0 }`);
    expect(!onPort.ok && onPort.errors.join()).toContain("ble-health reaches its device by Bluetooth LE: set ble");
    const serial = await load("e.yaml", `{ id: spo2, driver: nonin, ble: { address: "C0:26:DA:01:23:45" } }`);
    expect(!serial.ok && serial.errors.join()).toContain("nonin is no Bluetooth LE driver");
  });
});

describe("deviceIdFromMachineId", () => {
  it("is stable for one machine and differs between machines", async () => {
    const a = await file("m1", "0123456789abcdef0123456789abcdef\n");
    const b = await file("m2", "fedcba9876543210fedcba9876543210\n");
    const [a1, a2, b1] = await Promise.all([deviceIdFromMachineId(a), deviceIdFromMachineId(a), deviceIdFromMachineId(b)]);
    expect(a1).toEqual(a2);
    expect(a1).not.toEqual(b1);
  });

});
