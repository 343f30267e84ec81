/**
 * Finding a Bluetooth LE device in BlueZ's object tree (doc/org.bluez.Device.rst): one
 * ObjectManager.GetManagedObjects call lists every known device with its Address, UUIDs and
 * adapter, which is how a device is found by address or by the service it advertises. Discovery
 * (Adapter1.StartDiscovery) only adds devices to that tree; the matching here is pure.
 */
import { sessionBus, type MessageBus } from "dbus-next";

/** The Bluetooth Base UUID (Core Specification v5.4, Vol 3, Part B, 2.5.1) around a 16-bit number. */
export function fullUuid(uuid16: number): string {
  return `0000${uuid16.toString(16).padStart(4, "0")}-0000-1000-8000-00805f9b34fb`;
}

/** The 16-bit number of a UUID built on the Base UUID; undefined for a vendor's 128-bit UUID. */
export function uuid16Of(uuid: string): number | undefined {
  const match = /^0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb$/.exec(uuid.toLowerCase());
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 16);
}

/** A configured service: "1810" or a whole UUID, as the config schema admits them. */
export function serviceUuid(service: string): string {
  return /^[0-9a-f]{4}$/.test(service) ? fullUuid(Number.parseInt(service, 16)) : service.toLowerCase();
}

export interface KnownDevice {
  path: string;
  adapter: string;
  address: string;
  uuids: string[];
}

export interface DeviceWanted {
  /** Object path of the adapter, /org/bluez/hci0. */
  adapter: string;
  address?: string | undefined;
  /** A whole UUID (serviceUuid). */
  service?: string | undefined;
}

/** The device wanted among those BlueZ knows; by service, the first in path order. */
export function pickDevice(devices: readonly KnownDevice[], wanted: DeviceWanted): KnownDevice | undefined {
  const candidates = devices
    .filter((device) => device.adapter === wanted.adapter)
    .filter((device) => (wanted.address === undefined ? true : device.address.toUpperCase() === wanted.address))
    .filter((device) => (wanted.service === undefined ? true : device.uuids.includes(wanted.service)))
    .sort((a, b) => a.path.localeCompare(b.path));
  return candidates[0];
}

/** GetManagedObjects' answer (a{oa{sa{sv}}}) reduced to the devices, each field checked. */
export function knownDevices(managed: unknown): KnownDevice[] {
  if (!isRecord(managed)) return [];
  const devices: KnownDevice[] = [];
  for (const [path, interfaces] of Object.entries(managed)) {
    const device = isRecord(interfaces) ? interfaces["org.bluez.Device1"] : undefined;
    if (!isRecord(device)) continue;
    const address = variantValue(device["Address"]);
    const adapter = variantValue(device["Adapter"]);
    const uuids = variantValue(device["UUIDs"]);
    if (typeof address !== "string" || typeof adapter !== "string") continue;
    devices.push({ path, adapter, address, uuids: Array.isArray(uuids) ? uuids.filter((uuid) => typeof uuid === "string").map((uuid) => uuid.toLowerCase()) : [] });
  }
  return devices;
}

/** What BlueZ knows now, over a bus of one's own (closed again before returning). */
export async function listDevices(bus: MessageBus): Promise<KnownDevice[]> {
  const root = await bus.getProxyObject("org.bluez", "/");
  const manager = root.getInterface("org.freedesktop.DBus.ObjectManager");
  const getManagedObjects = manager["GetManagedObjects"];
  if (getManagedObjects === undefined) throw new Error("org.bluez has no ObjectManager");
  const managed: unknown = await getManagedObjects.call(manager);
  return knownDevices(managed);
}

/** A system bus connection whose failures become a rejected promise, never an unhandled 'error'. */
export function openSystemBus(onError: (error: Error) => void): MessageBus {
  const bus = sessionBus({ busAddress: plainSocketAddress(process.env["DBUS_SYSTEM_BUS_ADDRESS"]) });
  bus.on("error", (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))));
  return bus;
}

const DEFAULT_SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket";

/**
 * The system bus address with `unix:path=` written as dbus-next's `unix:socket=`. For a `path`,
 * dbus-next first tries the optional native module usocket, which npm installs beside it and
 * which breaks on Node 24 (it calls the removed util.isError on its first write); `socket` makes
 * it use Node's own net.Socket. Unix fd passing, the one thing usocket adds, is not used here.
 */
export function plainSocketAddress(address: string | undefined): string {
  return (address ?? DEFAULT_SYSTEM_BUS)
    .split(";")
    .map((entry) => entry.replace(/^unix:(.*)\bpath=/, "unix:$1socket="))
    .join(";");
}

/**
 * node-ble opens its own system bus from DBUS_SYSTEM_BUS_ADDRESS; point it at the same plain
 * socket before it does (the variable keeps meaning the same bus for every other reader).
 */
export function preferPlainSystemBusSocket(env: NodeJS.ProcessEnv = process.env): void {
  env["DBUS_SYSTEM_BUS_ADDRESS"] = plainSocketAddress(env["DBUS_SYSTEM_BUS_ADDRESS"]);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const variantValue = (value: unknown): unknown => (isRecord(value) && "value" in value ? value["value"] : undefined);
