/**
 * What a remote config layer may reach, as the box's own file says (`remotePolicy`): network
 * peripherals only inside listed networks, listeners only on listed addresses, file paths only
 * under listed directories, rate limits no lower than the floors. The box's own file is trusted
 * and never checked here; a setting the remote layer leaves as the file has it passes too.
 * Every refusal names the key and the rule.
 */
import { realpath } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import path from "node:path";
import type { RemotePolicy } from "../../config/schema.ts";
import { parseEndpoint } from "../../drivers/net/tcpLink.ts";
import type { ResolvedConfig } from "../../config/schema.ts";

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Problems, one `key: rule` line each; none means the remote layer stays inside the policy. */
export async function policyViolations(effective: ResolvedConfig, local: ResolvedConfig): Promise<string[]> {
  const policy = local.remotePolicy;
  const problems: string[] = [];
  const networks = blockListOf(policy.networks);
  effective.peripherals.forEach((peripheral, index) => {
    if (local.peripherals.some((trusted) => same(trusted, peripheral))) return;
    const key = `peripherals[${index}]`;
    if (peripheral.tcp?.connect !== undefined) problems.push(...outsideNetworks(`${key}.tcp.connect`, peripheral.tcp.connect, networks));
    if (peripheral.udp !== undefined) problems.push(...outsideNetworks(`${key}.udp`, peripheral.udp, networks));
    // Bonding leaves keys in BlueZ for good: only the box's own file may pair it with a device.
    if (peripheral.ble?.pair) problems.push(`${key}.ble.pair: a remote layer may not pair the box with a Bluetooth device (only the box's own file may)`);
    const listen = peripheral.tcp?.listen === undefined ? undefined : parseEndpoint(peripheral.tcp.listen);
    if (listen && !policy.listenAddresses.includes(listen.host)) {
      problems.push(`${key}.tcp.listen: ${listen.host} is not in remotePolicy.listenAddresses (a remote layer may listen only on addresses the box's own file lists)`);
    }
  });

  const files: Array<[string, string | undefined, string | undefined]> = [
    ["media.turnTlsCa", effective.media.turnTlsCa, local.media.turnTlsCa],
    ["mqtt.passwordFile", effective.mqtt.passwordFile, local.mqtt.passwordFile],
    ["mqtt.tls.ca", effective.mqtt.tls.ca, local.mqtt.tls.ca],
    ["mqtt.tls.cert", effective.mqtt.tls.cert, local.mqtt.tls.cert],
    ["mqtt.tls.key", effective.mqtt.tls.key, local.mqtt.tls.key],
  ];
  effective.cameras.forEach((camera, index) => {
    if (local.cameras.some((trusted) => same(trusted, camera))) return;
    const sink = camera.talkback?.sink;
    if (sink?.type === "wav") files.push([`cameras[${index}].talkback.sink.path`, sink.path, undefined]);
  });
  for (const [key, file, trusted] of files) {
    if (file !== undefined && file !== trusted) problems.push(...(await outsideDirectories(key, file, policy.fileDirectories)));
  }

  const floors: Array<[string, number, number, number]> = [
    ["management.rebootMinIntervalMin", effective.management.rebootMinIntervalMin, local.management.rebootMinIntervalMin, policy.floors.rebootMinIntervalMin],
    ["media.keyframeMinIntervalMs", effective.media.keyframeMinIntervalMs, local.media.keyframeMinIntervalMs, policy.floors.keyframeMinIntervalMs],
    ["telemetry.healthIntervalSec", effective.telemetry.healthIntervalSec, local.telemetry.healthIntervalSec, policy.floors.healthIntervalSec],
    ["telemetry.summaryMinIntervalSec", effective.telemetry.summaryMinIntervalSec, local.telemetry.summaryMinIntervalSec, policy.floors.summaryMinIntervalSec],
  ];
  for (const [key, value, trusted, floor] of floors) {
    // Lower than the floor only as far as the box's own file itself went.
    const lowest = Math.min(floor, trusted);
    if (value < lowest) problems.push(`${key}: ${value} is below remotePolicy.floors (a remote layer may not set it below ${lowest})`);
  }
  return problems;
}

function blockListOf(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const network of networks) {
    const [address = "", prefix] = network.split("/");
    const type = isIP(address) === 6 ? "ipv6" : "ipv4";
    list.addSubnet(address, prefix === undefined ? (type === "ipv6" ? 128 : 32) : Number(prefix), type);
  }
  return list;
}

function outsideNetworks(key: string, text: string, networks: BlockList): string[] {
  const host = parseEndpoint(text)?.host ?? "";
  const family = isIP(host);
  // A name is resolved later, by whatever DNS says then: only an address can be held to a network.
  if (family === 0) return [`${key}: ${host} is a name, not an address; a remote layer may reach only addresses inside remotePolicy.networks`];
  if (networks.check(host, family === 6 ? "ipv6" : "ipv4")) return [];
  return [`${key}: ${host} is outside remotePolicy.networks (a remote layer may reach only addresses inside the networks the box's own file lists)`];
}

/** Under a listed directory after resolving `..` and symbolic links (of the file, or of its nearest existing parent). */
async function outsideDirectories(key: string, file: string, directories: readonly string[]): Promise<string[]> {
  const rule = "a remote layer may name files only under remotePolicy.fileDirectories";
  if (!path.isAbsolute(file) || file.split("/").includes("..")) return [`${key}: ${file} must be an absolute path without .. (${rule})`];
  const real = await realExisting(file);
  for (const directory of directories) {
    const root = await realExisting(path.resolve(directory));
    if (real === root || real.startsWith(root.endsWith("/") ? root : `${root}/`)) return [];
  }
  return [`${key}: ${file} is not under remotePolicy.fileDirectories (${rule}, symbolic links followed)`];
}

async function realExisting(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    const parent = path.dirname(file);
    return parent === file ? file : path.join(await realExisting(parent), path.basename(file));
  }
}
