/**
 * A stand-in for bluetoothd on a private bus: the org.bluez object tree a Bluetooth LE client
 * sees, as BlueZ's D-Bus API documents it (doc/org.bluez.Adapter.rst, Device.rst,
 * GattService.rst, GattCharacteristic.rst, AgentManager.rst), with devices a test controls
 * instead of a radio.
 *
 * Where node-ble depends on BlueZ's behaviour, this behaves the same way:
 * - children are found by introspection (/org/bluez → hci0 → dev_XX_… → serviceNNNN → charNNNN);
 * - Adapter1.StartDiscovery brings devices in range into the tree (InterfacesAdded), and fails
 *   with org.bluez.Error.InProgress while discovering;
 * - Device1.Connect sets Connected, exports the GATT objects and then sets ServicesResolved;
 *   a link loss sets both false and removes the GATT objects again (BlueZ does not keep them
 *   exported for a disconnected device);
 * - GattCharacteristic1.StartNotify sets Notifying; each notification or indication is a
 *   PropertiesChanged of Value on org.freedesktop.DBus.Properties.
 */
import { EventEmitter } from "node:events";
import dbus from "dbus-next";
import { plainSocketAddress } from "../../agent/devices/bluez.ts";

const { Interface } = dbus.interface;
type MessageBus = ReturnType<typeof dbus.sessionBus>;
type Properties = Record<string, InstanceType<typeof dbus.Variant>>;

const ADAPTER_PATH = "/org/bluez/hci0";

const variant = (signature: string, value: unknown) => new dbus.Variant(signature, value);
const bluezError = (name: string, text: string) => new dbus.DBusError(`org.bluez.Error.${name}`, text);
export const fullUuid = (uuid16: number) => `0000${uuid16.toString(16).padStart(4, "0")}-0000-1000-8000-00805f9b34fb`;

export interface CharacteristicSpec {
  uuid: number;
  /** GattCharacteristic1.Flags: "read", "notify", "indicate", "write", … */
  flags: string[];
  value?: Uint8Array;
}

export interface ServiceSpec {
  uuid: number;
  characteristics: CharacteristicSpec[];
}

export interface DeviceSpec {
  address: string;
  name: string;
  /** Service UUID16s in the device's advertisements (Device1.UUIDs before connecting). */
  advertised: number[];
  services: ServiceSpec[];
  /** Already in BlueZ's tree (seen before); otherwise it appears only once discovery runs. */
  known?: boolean;
}

interface StandInEvents {
  notifying: [uuid: number, on: boolean];
  write: [uuid: number, value: Buffer];
  connected: [boolean];
  discovering: [boolean];
}

/** org.freedesktop.DBus.ObjectManager at /, as bluetoothd has it. */
class ObjectManager extends Interface {
  readonly #tree: () => Record<string, Record<string, Properties>>;

  constructor(tree: () => Record<string, Record<string, Properties>>) {
    super("org.freedesktop.DBus.ObjectManager");
    this.#tree = tree;
  }

  GetManagedObjects() {
    return this.#tree();
  }

  InterfacesAdded(path: string, interfaces: Record<string, Properties>) {
    return [path, interfaces];
  }

  InterfacesRemoved(path: string, interfaces: string[]) {
    return [path, interfaces];
  }
}
ObjectManager.configureMembers({
  methods: { GetManagedObjects: { outSignature: "a{oa{sa{sv}}}" } },
  signals: { InterfacesAdded: { signature: "oa{sa{sv}}" }, InterfacesRemoved: { signature: "oas" } },
});

/** org.bluez.AgentManager1 at /org/bluez: node-ble looks for it there to list the adapters. */
class AgentManager extends Interface {
  constructor() {
    super("org.bluez.AgentManager1");
  }
  RegisterAgent(_agent: string, _capability: string) {}
  UnregisterAgent(_agent: string) {}
  RequestDefaultAgent(_agent: string) {}
}
AgentManager.configureMembers({
  methods: { RegisterAgent: { inSignature: "os" }, UnregisterAgent: { inSignature: "o" }, RequestDefaultAgent: { inSignature: "o" } },
});

class Adapter extends Interface {
  readonly #standIn: BluezStandIn;
  discovering = false;
  filter: Record<string, unknown> = {};

  constructor(standIn: BluezStandIn) {
    super("org.bluez.Adapter1");
    this.#standIn = standIn;
  }

  get Address() {
    return "00:1A:7D:DA:71:13";
  }
  get AddressType() {
    return "public";
  }
  get Name() {
    return "thea-test";
  }
  get Alias() {
    return "thea-test";
  }
  get Powered() {
    return true;
  }
  get Discovering() {
    return this.discovering;
  }

  SetDiscoveryFilter(filter: Record<string, unknown>) {
    this.filter = filter;
  }

  StartDiscovery() {
    if (this.discovering) throw bluezError("InProgress", "Operation already in progress");
    this.discovering = true;
    Interface.emitPropertiesChanged(this, { Discovering: true }, []);
    this.#standIn.discovered();
  }

  StopDiscovery() {
    if (!this.discovering) throw bluezError("Failed", "No discovery started");
    this.discovering = false;
    Interface.emitPropertiesChanged(this, { Discovering: false }, []);
  }

  RemoveDevice(_device: string) {}

  properties(): Properties {
    return {
      Address: variant("s", this.Address),
      AddressType: variant("s", this.AddressType),
      Name: variant("s", this.Name),
      Alias: variant("s", this.Alias),
      Powered: variant("b", true),
      Discovering: variant("b", this.discovering),
    };
  }
}
Adapter.configureMembers({
  properties: {
    Address: { signature: "s", access: "read" },
    AddressType: { signature: "s", access: "read" },
    Name: { signature: "s", access: "read" },
    Alias: { signature: "s", access: "read" },
    Powered: { signature: "b", access: "read" },
    Discovering: { signature: "b", access: "read" },
  },
  methods: { SetDiscoveryFilter: { inSignature: "a{sv}" }, StartDiscovery: {}, StopDiscovery: {}, RemoveDevice: { inSignature: "o" } },
});

class Characteristic extends Interface {
  readonly spec: CharacteristicSpec;
  readonly path: string;
  readonly #servicePath: string;
  readonly #events: EventEmitter<StandInEvents>;
  value: Buffer;
  notifying = false;

  constructor(spec: CharacteristicSpec, path: string, servicePath: string, events: EventEmitter<StandInEvents>) {
    super("org.bluez.GattCharacteristic1");
    this.spec = spec;
    this.path = path;
    this.#servicePath = servicePath;
    this.#events = events;
    this.value = Buffer.from(spec.value ?? []);
  }

  get UUID() {
    return fullUuid(this.spec.uuid);
  }
  get Service() {
    return this.#servicePath;
  }
  get Value() {
    return this.value;
  }
  get Notifying() {
    return this.notifying;
  }
  get Flags() {
    return this.spec.flags;
  }

  ReadValue(_options: Record<string, unknown>) {
    if (!this.spec.flags.includes("read")) throw bluezError("NotPermitted", "Read not permitted");
    return this.value;
  }

  WriteValue(value: Buffer, _options: Record<string, unknown>) {
    if (!this.spec.flags.includes("write")) throw bluezError("NotPermitted", "Write not permitted");
    this.#events.emit("write", this.spec.uuid, Buffer.from(value));
  }

  StartNotify() {
    if (!this.spec.flags.includes("notify") && !this.spec.flags.includes("indicate")) throw bluezError("NotSupported", "Operation is not supported");
    if (this.notifying) return;
    this.notifying = true;
    Interface.emitPropertiesChanged(this, { Notifying: true }, []);
    this.#events.emit("notifying", this.spec.uuid, true);
  }

  StopNotify() {
    if (!this.notifying) return;
    this.notifying = false;
    Interface.emitPropertiesChanged(this, { Notifying: false }, []);
    this.#events.emit("notifying", this.spec.uuid, false);
  }

  /** A notification or indication: the new Value, announced as BlueZ does. */
  notify(value: Uint8Array): boolean {
    if (!this.notifying) return false;
    this.value = Buffer.from(value);
    Interface.emitPropertiesChanged(this, { Value: this.value }, []);
    return true;
  }

  properties(): Properties {
    return {
      UUID: variant("s", this.UUID),
      Service: variant("o", this.#servicePath),
      Value: variant("ay", this.value),
      Notifying: variant("b", this.notifying),
      Flags: variant("as", this.spec.flags),
    };
  }
}
Characteristic.configureMembers({
  properties: {
    UUID: { signature: "s", access: "read" },
    Service: { signature: "o", access: "read" },
    Value: { signature: "ay", access: "read" },
    Notifying: { signature: "b", access: "read" },
    Flags: { signature: "as", access: "read" },
  },
  methods: {
    ReadValue: { inSignature: "a{sv}", outSignature: "ay" },
    WriteValue: { inSignature: "aya{sv}" },
    StartNotify: {},
    StopNotify: {},
  },
});

class Service extends Interface {
  readonly spec: ServiceSpec;
  readonly #devicePath: string;

  constructor(spec: ServiceSpec, devicePath: string) {
    super("org.bluez.GattService1");
    this.spec = spec;
    this.#devicePath = devicePath;
  }

  get UUID() {
    return fullUuid(this.spec.uuid);
  }
  get Primary() {
    return true;
  }
  get Device() {
    return this.#devicePath;
  }

  properties(): Properties {
    return { UUID: variant("s", this.UUID), Primary: variant("b", true), Device: variant("o", this.#devicePath) };
  }
}
Service.configureMembers({
  properties: { UUID: { signature: "s", access: "read" }, Primary: { signature: "b", access: "read" }, Device: { signature: "o", access: "read" } },
});

/** One device: Device1 plus, while connected, its GATT objects. */
export class StandInDevice extends Interface {
  readonly spec: DeviceSpec;
  readonly path: string;
  readonly events = new EventEmitter<StandInEvents>();
  readonly #standIn: BluezStandIn;
  #gatt: Array<Service | Characteristic> = [];
  connected = false;
  servicesResolved = false;
  paired = false;
  /** Out of range: Connect fails as BlueZ's does when the device does not answer. */
  inRange = true;
  connects = 0;

  constructor(spec: DeviceSpec, standIn: BluezStandIn) {
    super("org.bluez.Device1");
    this.spec = spec;
    this.path = `${ADAPTER_PATH}/dev_${spec.address.replaceAll(":", "_")}`;
    this.#standIn = standIn;
  }

  get Address() {
    return this.spec.address;
  }
  get AddressType() {
    return "public";
  }
  get Name() {
    return this.spec.name;
  }
  get Alias() {
    return this.spec.name;
  }
  get Paired() {
    return this.paired;
  }
  get Trusted() {
    return false;
  }
  get Connected() {
    return this.connected;
  }
  get ServicesResolved() {
    return this.servicesResolved;
  }
  get UUIDs() {
    return this.spec.advertised.map(fullUuid);
  }
  get Adapter() {
    return ADAPTER_PATH;
  }

  async Connect() {
    if (!this.inRange) throw bluezError("Failed", "le-connection-abort-by-local");
    if (this.connected) return;
    this.connects += 1;
    this.connected = true;
    Interface.emitPropertiesChanged(this, { Connected: true }, []);
    this.#exportGatt();
    this.servicesResolved = true;
    Interface.emitPropertiesChanged(this, { ServicesResolved: true }, []);
    this.events.emit("connected", true);
  }

  Disconnect() {
    this.linkLost();
  }

  Pair() {
    if (!this.inRange) throw bluezError("ConnectionAttemptFailed", "Page Timeout");
    if (this.paired) throw bluezError("AlreadyExists", "Already Exists");
    this.paired = true;
    Interface.emitPropertiesChanged(this, { Paired: true }, []);
  }

  CancelPair() {}

  /** The characteristic with this UUID16, while connected. */
  characteristic(uuid: number): Characteristic | undefined {
    return this.#gatt.find((object): object is Characteristic => object instanceof Characteristic && object.spec.uuid === uuid);
  }

  /** Sends a value as the device would: true when a subscriber was there to get it. */
  notify(uuid: number, value: Uint8Array): boolean {
    return this.characteristic(uuid)?.notify(value) ?? false;
  }

  /** The radio link is gone (device switched off, out of range, or Disconnect). */
  linkLost(): void {
    if (!this.connected) return;
    this.servicesResolved = false;
    this.connected = false;
    Interface.emitPropertiesChanged(this, { ServicesResolved: false }, []);
    Interface.emitPropertiesChanged(this, { Connected: false }, []);
    this.#unexportGatt();
    this.events.emit("connected", false);
  }

  #exportGatt(): void {
    this.spec.services.forEach((serviceSpec, s) => {
      const servicePath = `${this.path}/service${(0x10 + s * 0x10).toString(16).padStart(4, "0")}`;
      const service = new Service(serviceSpec, this.path);
      this.#standIn.add(servicePath, service, { "org.bluez.GattService1": service.properties() });
      this.#gatt.push(service);
      serviceSpec.characteristics.forEach((characteristicSpec, c) => {
        const path = `${servicePath}/char${(0x10 + s * 0x10 + 1 + c * 2).toString(16).padStart(4, "0")}`;
        const characteristic = new Characteristic(characteristicSpec, path, servicePath, this.events);
        this.#standIn.add(path, characteristic, { "org.bluez.GattCharacteristic1": characteristic.properties() });
        this.#gatt.push(characteristic);
      });
    });
  }

  #unexportGatt(): void {
    for (const object of this.#gatt.reverse()) {
      const path = object instanceof Characteristic ? object.path : undefined;
      if (path) this.#standIn.remove(path, object);
    }
    for (const object of this.#gatt) if (object instanceof Service) this.#standIn.removeService(this.path, object);
    this.#gatt = [];
  }

  properties(): Properties {
    return {
      Address: variant("s", this.Address),
      AddressType: variant("s", "public"),
      Name: variant("s", this.Name),
      Alias: variant("s", this.Alias),
      Paired: variant("b", this.paired),
      Trusted: variant("b", false),
      Connected: variant("b", this.connected),
      ServicesResolved: variant("b", this.servicesResolved),
      UUIDs: variant("as", this.UUIDs),
      Adapter: variant("o", ADAPTER_PATH),
    };
  }
}
StandInDevice.configureMembers({
  properties: {
    Address: { signature: "s", access: "read" },
    AddressType: { signature: "s", access: "read" },
    Name: { signature: "s", access: "read" },
    Alias: { signature: "s", access: "read" },
    Paired: { signature: "b", access: "read" },
    Trusted: { signature: "b", access: "read" },
    Connected: { signature: "b", access: "read" },
    ServicesResolved: { signature: "b", access: "read" },
    UUIDs: { signature: "as", access: "read" },
    Adapter: { signature: "o", access: "read" },
  },
  methods: { Connect: {}, Disconnect: {}, Pair: {}, CancelPair: {} },
});

type Exported = { iface: InstanceType<typeof Interface>; properties: Record<string, Properties> };

export class BluezStandIn {
  readonly #bus: MessageBus;
  readonly #objects = new Map<string, Exported>();
  readonly #devices: StandInDevice[] = [];
  readonly #manager: ObjectManager;
  readonly adapter: Adapter;

  private constructor(bus: MessageBus) {
    this.#bus = bus;
    this.#manager = new ObjectManager(() => this.#tree());
    this.adapter = new Adapter(this);
  }

  /** Owns org.bluez on the bus at `address` and exports the adapter. */
  static async start(address: string): Promise<BluezStandIn> {
    // As the agent does: Node's own socket, not dbus-next's optional usocket (broken on Node 24).
    const bus = dbus.sessionBus({ busAddress: plainSocketAddress(address) });
    const standIn = new BluezStandIn(bus);
    bus.export("/", standIn.#manager);
    bus.export("/org/bluez", new AgentManager());
    standIn.add(ADAPTER_PATH, standIn.adapter, { "org.bluez.Adapter1": standIn.adapter.properties() });
    const reply = await bus.requestName("org.bluez", 0);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`could not own org.bluez (reply ${reply})`);
    return standIn;
  }

  /** A device in range; in the tree now if `known`, else once discovery runs. */
  addDevice(spec: DeviceSpec): StandInDevice {
    const device = new StandInDevice(spec, this);
    this.#devices.push(device);
    if (spec.known) this.#exportDevice(device);
    return device;
  }

  discovered(): void {
    for (const device of this.#devices) if (!this.#objects.has(device.path)) this.#exportDevice(device);
  }

  add(path: string, iface: InstanceType<typeof Interface>, properties: Record<string, Properties>): void {
    this.#bus.export(path, iface);
    this.#objects.set(path, { iface, properties });
    this.#manager.InterfacesAdded(path, properties);
  }

  remove(path: string, iface: InstanceType<typeof Interface>): void {
    const exported = this.#objects.get(path);
    this.#bus.unexport(path, iface);
    this.#objects.delete(path);
    this.#manager.InterfacesRemoved(path, Object.keys(exported?.properties ?? {}));
  }

  removeService(devicePath: string, service: Service): void {
    for (const [path, exported] of this.#objects) {
      if (exported.iface === service && path.startsWith(devicePath)) this.remove(path, service);
    }
  }

  async stop(): Promise<void> {
    this.#bus.disconnect();
  }

  #exportDevice(device: StandInDevice): void {
    this.add(device.path, device, { "org.bluez.Device1": device.properties() });
  }

  /** GetManagedObjects: every object with its interfaces' current properties. */
  #tree(): Record<string, Record<string, Properties>> {
    const tree: Record<string, Record<string, Properties>> = {};
    for (const [path, { iface, properties }] of this.#objects) {
      const name = Object.keys(properties)[0] ?? "";
      const current = iface instanceof StandInDevice || iface instanceof Adapter || iface instanceof Service || iface instanceof Characteristic ? iface.properties() : {};
      tree[path] = { [name]: current };
    }
    return tree;
  }
}
