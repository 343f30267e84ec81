/**
 * Interfaces and CPU temperature from sysfs trees: small ones written to a temp dir in the shapes
 * the kernel gives them (an x86 PC, an ARM board, a VM), and this machine's own.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readCpuTemperature, readInterfaces, readMemory } from "../../../agent/telemetry/sysfs.ts";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/** Writes `files` (path → content) under a fresh temp dir; returns the dir. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "thea-sysfs-"));
  roots.push(root);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), `${content}\n`);
  }
  return root;
}

const ipv4 = (address: string): os.NetworkInterfaceInfo => ({
  address,
  family: "IPv4",
  internal: false,
  netmask: "255.255.255.0",
  mac: "02:00:00:00:00:01",
  cidr: `${address}/24`,
});

describe("readInterfaces", () => {
  it("lists every interface but loopback, an unplugged one as down", async () => {
    const net = await tree({
      "lo/flags": "0x9",
      "lo/operstate": "unknown",
      "eth0/flags": "0x1003",
      "eth0/operstate": "up",
      "wlan0/flags": "0x1002",
      "wlan0/operstate": "down",
    });
    const addresses = { lo: [{ ...ipv4("127.0.0.1"), internal: true }], eth0: [ipv4("192.168.1.20")] };
    expect(await readInterfaces(net, addresses)).toEqual([
      { name: "eth0", up: true, ipv4: ["192.168.1.20"] },
      { name: "wlan0", up: false, ipv4: [] },
    ]);
  });

  it("agrees with this machine: each addressed interface Node sees, loopback left out", async () => {
    const found = await readInterfaces();
    const external = Object.entries(os.networkInterfaces())
      .filter(([, list]) => list?.some((address) => !address.internal && address.family === "IPv4"))
      .map(([name]) => name);
    expect(found.map((nic) => nic.name)).toEqual(expect.arrayContaining(external));
    expect(found.map((nic) => nic.name)).not.toContain("lo");
  });
});

describe("readCpuTemperature", () => {
  it("takes the zone that measures the CPU over others (x86: x86_pkg_temp beside acpitz)", async () => {
    const sys = await tree({
      "thermal/thermal_zone0/type": "acpitz",
      "thermal/thermal_zone0/temp": "27800",
      "thermal/thermal_zone1/type": "x86_pkg_temp",
      "thermal/thermal_zone1/temp": "54000",
    });
    expect(await readCpuTemperature(sys)).toBe(54);
  });

  it("finds a CPU hwmon chip when no zone names the CPU", async () => {
    const sys = await tree({
      "thermal/thermal_zone0/type": "acpitz",
      "thermal/thermal_zone0/temp": "27800",
      "hwmon/hwmon0/name": "nvme",
      "hwmon/hwmon0/temp1_input": "38850",
      "hwmon/hwmon1/name": "coretemp",
      "hwmon/hwmon1/temp1_input": "61250",
    });
    expect(await readCpuTemperature(sys)).toBe(61.25);
  });

  it("falls back to any thermal zone, and says null on a machine without sensors", async () => {
    expect(await readCpuTemperature(await tree({ "thermal/thermal_zone0/type": "acpitz", "thermal/thermal_zone0/temp": "41500" }))).toBe(41.5);
    expect(await readCpuTemperature(await tree({ "thermal/.keep": "" }))).toBeNull();
    expect(await readCpuTemperature(await tree({ "thermal/thermal_zone0/type": "cpu-thermal", "thermal/thermal_zone0/temp": "garbled" }))).toBeNull();
  });
});

describe("readMemory", () => {
  it("reads total and available memory in bytes, as systeminformation's mem() did", async () => {
    const root = await tree({ meminfo: "MemTotal:        3936120 kB\nMemFree:          211964 kB\nMemAvailable:    2091000 kB\nBuffers:           89280 kB\nCached:          1800000 kB" });
    expect(await readMemory(path.join(root, "meminfo"))).toEqual({ total: 3936120 * 1024, available: 2091000 * 1024 });
  });

  it("falls back to free + buffers + page cache on a kernel without MemAvailable", async () => {
    const root = await tree({ meminfo: "MemTotal:  1000 kB\nMemFree:  100 kB\nBuffers:  20 kB\nCached:  300 kB" });
    expect(await readMemory(path.join(root, "meminfo"))).toEqual({ total: 1000 * 1024, available: 420 * 1024 });
  });

  it("gives this machine's figures as systeminformation does", async () => {
    const { default: si } = await import("systeminformation");
    const [ours, theirs] = await Promise.all([readMemory(), si.mem()]);
    expect(ours.total).toBe(theirs.total);
    expect(Math.abs(ours.available - theirs.available)).toBeLessThan(64 * 1024 * 1024); // read moments apart
  });
});
