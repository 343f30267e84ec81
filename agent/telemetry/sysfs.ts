/**
 * Network interfaces and CPU temperature read straight from sysfs. systeminformation finds them
 * by running shell commands through execSync (ip, nmcli, a DHCP lease search, cat of the thermal
 * zones): a profile of an agent streaming video showed each health report's call stalling the
 * event loop for ~100 ms, which a live picture feels as a stutter and a doctor's answer as a delay.
 */
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { NetworkInterfaceState } from "../core/api.ts";

/** linux/if.h */
const IFF_LOOPBACK = 0x8;

/**
 * Every network interface but loopback, with or without an address: an unplugged cable shows as
 * `up: false` rather than vanishing from the report.
 */
export async function readInterfaces(
  net = "/sys/class/net",
  addresses: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): Promise<NetworkInterfaceState[]> {
  const names = await readdir(net).catch(() => Object.keys(addresses));
  const found: NetworkInterfaceState[] = [];
  for (const name of names.sort()) {
    const flags = Number.parseInt(await readText(path.join(net, name, "flags")), 16);
    const own = addresses[name] ?? [];
    const loopback = Number.isNaN(flags) ? own.some((address) => address.internal) : (flags & IFF_LOOPBACK) !== 0;
    if (loopback) continue;
    found.push({
      name,
      up: (await readText(path.join(net, name, "operstate"))) === "up",
      ipv4: own.filter((address) => address.family === "IPv4").map((address) => address.address),
    });
  }
  return found;
}

/** Zone types and hwmon chips that measure the CPU itself, on the x86 and ARM boards clinics use. */
const CPU_SENSOR = /x86_pkg_temp|cpu|soc|coretemp|k10temp|zenpower|package/i;

/**
 * The CPU's temperature in °C: a thermal zone or hwmon chip that measures the CPU, else any
 * thermal zone (an ACPI zone on a small PC); null when the machine exposes none (a VM).
 */
export async function readCpuTemperature(sys = "/sys/class"): Promise<number | null> {
  const sensors = [
    ...(await sensorsIn(path.join(sys, "thermal"), { only: "thermal_zone", kind: "type", temp: "temp" })),
    ...(await sensorsIn(path.join(sys, "hwmon"), { only: "hwmon", kind: "name", temp: "temp1_input" })),
  ];
  const usable = sensors.filter((sensor) => Number.isFinite(sensor.celsius) && sensor.celsius > 0);
  const chosen = usable.find((sensor) => CPU_SENSOR.test(sensor.kind)) ?? usable.find((sensor) => sensor.zone);
  return chosen ? Math.round(chosen.celsius * 100) / 100 : null;
}

interface Sensor {
  kind: string;
  celsius: number;
  /** A thermal zone (rather than a hwmon chip): good enough when nothing names the CPU. */
  zone: boolean;
}

/**
 * The sensors of one sysfs class, in number order: the entries named `only…`, each with the
 * attribute naming what it measures (`kind`) and its reading in millidegrees (`temp`).
 */
async function sensorsIn(dir: string, files: { only: string; kind: string; temp: string }): Promise<Sensor[]> {
  const entries = (await readdir(dir).catch(() => [])).filter((name) => name.startsWith(files.only)).sort(byNumber);
  return Promise.all(
    entries.map(async (name) => ({
      kind: await readText(path.join(dir, name, files.kind)),
      celsius: millidegrees(await readText(path.join(dir, name, files.temp))),
      zone: files.only === "thermal_zone",
    })),
  );
}

const millidegrees = (text: string): number => Number.parseInt(text, 10) / 1000;

/** thermal_zone2 before thermal_zone10. */
const byNumber = (a: string, b: string): number => Number(a.replace(/\D/g, "")) - Number(b.replace(/\D/g, ""));

/** A sysfs attribute, trimmed; "" when it cannot be read (an interface gone between listing and reading). */
async function readText(file: string): Promise<string> {
  return (await readFile(file, "utf8").catch(() => "")).trim();
}

/**
 * Total and available memory in bytes, from /proc/meminfo, as systeminformation's mem() gives
 * them (it reads the same file) without loading its ~5 MB of code into an agent at rest.
 * MemAvailable is the kernel's estimate (Linux 3.14+); before it, free + buffers + page cache.
 */
export async function readMemory(meminfo = "/proc/meminfo"): Promise<{ total: number; available: number }> {
  const kib = new Map<string, number>();
  for (const line of (await readFile(meminfo, "utf8")).split("\n")) {
    const match = /^(\w+):\s+(\d+)/.exec(line);
    if (match?.[1] !== undefined) kib.set(match[1], Number(match[2]));
  }
  const field = (name: string) => (kib.get(name) ?? 0) * 1024;
  return { total: field("MemTotal"), available: kib.has("MemAvailable") ? field("MemAvailable") : field("MemFree") + field("Buffers") + field("Cached") };
}
