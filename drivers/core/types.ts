/**
 * What every driver shares: readings as the device reports them (before the agent adds id,
 * sequence number and peripheral), the decoder contract, and the descriptor that makes a device
 * family data rather than code. Protocol code here imports nothing that does I/O.
 */
import type { z } from "zod";
import type { Observation, ObservationType } from "./observations.ts";
import type { DeviceSimulator, Scenario } from "./simulation.ts";

export type { Observation };

/** Conditions a device reports alongside (or instead of) values; documented in docs/mqtt-api.md. */
export const READING_FLAGS = [
  "sensor-disconnected",
  "sensor-off",
  "out-of-track",
  "artifact",
  "sensor-alarm",
  "low-perfusion",
  "marginal-perfusion",
  "searching",
  "low-battery",
  "sensor-fault",
  "pulse-search",
  "interference",
  "low-signal-quality",
  "in-alarm",
  "demo-data",
  "measurement-failed",
  // Bluetooth health devices' measurement status (drivers/ble-health).
  "body-movement",
  "cuff-loose",
  "irregular-pulse",
  "pulse-rate-out-of-range",
  "improper-position",
  "measurement-unavailable",
  "questionable-measurement",
  "device-clock-unreliable",
  "result-above-range",
  "result-below-range",
  // The device's clock is more than 5 s off the box's (drivers/ble-health/deviceClock.ts).
  "device-clock-offset",
] as const;
export type ReadingFlag = (typeof READING_FLAGS)[number];

export type ReadingKind = "continuous" | "spot";

/** One measurement moment as the device gives it. A value the device marks absent is omitted. */
export interface DeviceReading {
  kind: ReadingKind;
  observations: Observation[];
  flags: ReadingFlag[];
  /** The device's own clock, when the protocol carries one (ISO 8601, no zone if the device has none). */
  deviceTime?: string;
  /** The device's clock minus the box's, in ms, where it was measured (Bluetooth health devices). */
  deviceClockOffsetMs?: number;
}

/**
 * What decoding a chunk of bytes yields, in order. Bad bytes are counted, never silently lost.
 * `reply` carries bytes the protocol must send back (an HL7 ACK, a Bluetooth write); the decoder
 * only asks: its driver instance sends them through the connection's DeviceIo.
 */
export type DecoderEvent =
  | { type: "reading"; reading: DeviceReading }
  | { type: "discarded"; bytes: number; reason: string }
  | { type: "reply"; bytes: Uint8Array }
  /** A protocol message for the driver's controller (a command's reply); never leaves the driver. */
  | { type: "message"; message: unknown };

/** What a driver instance hands on from its decoder: replies and controller messages stay inside. */
export type DriverEvent = Extract<DecoderEvent, { type: "reading" | "discarded" }>;

/** A stateful, pure byte decoder: feed it chunks as they arrive, split anywhere. */
export interface Decoder {
  push(chunk: Uint8Array): DecoderEvent[];
}

export interface SerialSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: "none" | "even" | "odd";
  stopBits: 1 | 2;
}

export interface UsbFingerprint {
  /** Lower-case hex, as sysfs lists it. */
  vendorId: string;
  /** Absent: every product of the vendor (a device maker's own vendor id, not a bridge chip's). */
  productId?: string;
  /** Shown to technicians; which product this adapter is known from, and the public source. */
  note: string;
  /**
   * The bridge chip maker's default ids (a CP210x's 10c4:ea60, an FTDI's 0403:6001), which
   * countless other adapters share: `usb: {}` takes such a port only when it is the only one
   * listed with these ids (agent/devices/discovery.ts); with two, the site must say which by
   * serial number.
   */
  generic?: true;
}

/**
 * A device reached through Bluetooth LE (BlueZ) rather than a byte stream on a port: which GATT
 * characteristics (UUID16s) the agent's link subscribes to, reads once and may write, and the
 * advertised services that find the device. The link wraps each value in a frame the driver's
 * decoder unwraps (drivers/ble-health/gattStream.ts), so decoding stays bytes in, events out.
 */
export interface BleTransport {
  kind: "ble";
  /** Primary services (UUID16) a device of this family advertises: `ble.service` picks one. */
  services: readonly number[];
  /** Characteristics whose notifications or indications carry what the device reports. */
  subscribe: readonly number[];
  /** Characteristics read once after connecting (the Device Information strings). */
  read: readonly number[];
  /** The only characteristics the driver's writes may reach. */
  write: readonly number[];
}

export interface DriverDescriptor<Schema extends z.ZodType, Memory = undefined> {
  id: string;
  name: string;
  /** How the agent reaches the device: absent for a byte stream (serial line, TCP, UDP). */
  transport?: BleTransport;
  /** What the device measures (ranges and units in observations.ts). */
  measures: readonly ObservationType[];
  kind: ReadingKind;
  serial: SerialSettings;
  usb: readonly UsbFingerprint[];
  /** Line settings that depend on the options (e.g. firmware generation); `serial` otherwise. */
  serialFor?(options: z.output<Schema>): SerialSettings;
  /** Bytes the driver instance sends when the line comes up and, for devices that stop talking otherwise, again and again. */
  handshake?(options: z.output<Schema>): Handshake | undefined;
  /** The driver's `options` in a peripheral's config. */
  optionsSchema: Schema;
  /**
   * What a peripheral's protocol keeps from one connection to the next (a glucose meter's last
   * published record); made once per peripheral, handed to every connection's decoder.
   */
  createMemory?(): Memory;
  /**
   * The memory as JSON, for the agent to keep across its restarts (agent/devices/memoryStore.ts);
   * absent: the memory lasts as long as the agent's process.
   */
  memoryToJson?(memory: Memory): unknown;
  /** The memory back from memoryToJson's JSON, validated; undefined when it is not one. */
  memoryFromJson?(json: unknown): Memory | undefined;
  createDecoder(options: z.output<Schema>, memory?: Memory): Decoder;
  createSimulator(options: z.output<Schema>, scenario: Scenario): DeviceSimulator;
  /** Commands the device takes (e.g. ptz.move), with their parameters. */
  commands?: readonly DeviceCommandSpec[];
  /** For a spot device that measures when told to (a cuff): the command that starts a measurement. */
  measureCommand?: string;
  /** Sends commands and matches the device's replies (the decoder's `message` events). */
  createController?(options: z.output<Schema>, io: DeviceIo): DeviceController;
}

export interface DeviceCommandSpec {
  name: string;
  description: string;
  params: z.ZodType;
  /** Running it twice does harm (a cuff inflating again): a retried request must not run it. */
  sideEffects?: boolean;
}

/**
 * The one way bytes reach a device: a driver instance's handshake and keep-alive, its decoder's
 * replies and its controller's commands all go through the `io` it was made with.
 */
export interface DeviceIo {
  /** Bytes to the device; false when the line is down. */
  send(bytes: Uint8Array): boolean;
}

export interface DeviceController {
  handle(message: unknown): void;
  /** Runs a command (parameters already validated against its spec) and resolves with its result. */
  execute(command: string, params: unknown): Promise<unknown>;
  /** The line went away: fail whatever is waiting. */
  disconnected(): void;
}

/** Why a device command failed, as a code the agent turns into an error answer. */
export type DeviceErrorCode = "device-timeout" | "device-rejected" | "device-unavailable" | "unsupported-command";

export class DeviceCommandError extends Error {
  readonly code: DeviceErrorCode;

  constructor(code: DeviceErrorCode, message: string) {
    super(message);
    this.name = "DeviceCommandError";
    this.code = code;
  }
}

/**
 * One connection's worth of protocol state: decoding, and commands for devices that take them.
 * Everything it writes to the device goes through its DeviceIo.
 */
export interface DriverInstance {
  /** The line is up: greets a device that talks only when asked (Handshake) and keeps reminding it. */
  connected(): void;
  /**
   * Decodes a chunk. Readings and discards go to `take` in order; a reply the decoder asks for is
   * sent once `take` has had everything decoded before it (an HL7 ACK follows its reading into
   * the outbox), and a controller message goes to the controller. Without `take` (a camera), only
   * the replies and messages count.
   */
  push(chunk: Uint8Array, take?: (event: DriverEvent) => void): void;
  execute(command: string, params: unknown): Promise<unknown>;
  /** The line went away (or the agent stops): fails waiting commands, ends the keep-alive. */
  disconnected(): void;
}

export interface Handshake {
  onOpen: Uint8Array;
  keepAlive?: { intervalMs: number; bytes: Uint8Array };
}

export interface OptionProblem {
  path: PropertyKey[];
  message: string;
}

/** A registered driver: its descriptor's data, with options checked at the boundary. */
export interface Driver {
  readonly id: string;
  readonly name: string;
  readonly measures: readonly ObservationType[];
  readonly kind: ReadingKind;
  readonly serial: SerialSettings;
  readonly usb: readonly UsbFingerprint[];
  /** Absent for a byte-stream device; see BleTransport. */
  readonly transport: BleTransport | undefined;
  /** Problems with a peripheral's `options` (empty when fine), each with the key it is about. */
  checkOptions(options: unknown): OptionProblem[];
  /** A fresh decoder; options must have passed checkOptions (as for the methods below). */
  decoder(options: unknown, memory?: DriverMemory): Decoder;
  /** A fresh memory for one peripheral, kept across its connections (see createMemory). */
  memory(): DriverMemory;
  /** The memory as JSON to keep across restarts; undefined when the driver's memory does not outlive the process. */
  memoryJson(memory: DriverMemory): unknown;
  /** A memory from memoryJson's output (read back after a restart); undefined when it is not valid. */
  restoreMemory(json: unknown): DriverMemory | undefined;
  serialSettings(options: unknown): SerialSettings;
  handshake(options: unknown): Handshake | undefined;
  simulator(options: unknown, scenario: Scenario): DeviceSimulator;
  readonly commands: readonly DeviceCommandSpec[];
  readonly measureCommand: string | undefined;
  /** Decoder and controller for one connection; `io` reaches the device. */
  instantiate(options: unknown, io: DeviceIo, memory?: DriverMemory): DriverInstance;
}

/** A driver's memory for one peripheral, opaque outside the driver. */
export interface DriverMemory {
  readonly driver: string;
}

export function defineDriver<Schema extends z.ZodType, Memory = undefined>(descriptor: DriverDescriptor<Schema, Memory>): Driver {
  // Memories by their opaque handle: only this driver can look inside its own.
  const memories = new WeakMap<DriverMemory, Memory>();
  const recall = (handle: DriverMemory | undefined) => (handle === undefined ? undefined : memories.get(handle));
  const parse = (options: unknown) => descriptor.optionsSchema.parse(options ?? {});
  return {
    id: descriptor.id,
    name: descriptor.name,
    measures: descriptor.measures,
    kind: descriptor.kind,
    serial: descriptor.serial,
    usb: descriptor.usb,
    transport: descriptor.transport,
    checkOptions(options) {
      const parsed = descriptor.optionsSchema.safeParse(options ?? {});
      return parsed.success ? [] : parsed.error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
    },
    decoder: (options, memory) => descriptor.createDecoder(parse(options), recall(memory)),
    memory() {
      const handle: DriverMemory = { driver: descriptor.id };
      const memory = descriptor.createMemory?.();
      if (memory !== undefined) memories.set(handle, memory);
      return handle;
    },
    memoryJson(handle) {
      const memory = memories.get(handle);
      return memory === undefined ? undefined : descriptor.memoryToJson?.(memory);
    },
    restoreMemory(json) {
      const memory = descriptor.memoryFromJson?.(json);
      if (memory === undefined) return undefined;
      const handle: DriverMemory = { driver: descriptor.id };
      memories.set(handle, memory);
      return handle;
    },
    serialSettings: (options) => descriptor.serialFor?.(parse(options)) ?? descriptor.serial,
    handshake: (options) => descriptor.handshake?.(parse(options)),
    simulator: (options, scenario) => descriptor.createSimulator(parse(options), scenario),
    commands: descriptor.commands ?? [],
    measureCommand: descriptor.measureCommand,
    instantiate(options, io, memory) {
      const parsed = parse(options);
      return driverInstance({
        id: descriptor.id,
        io,
        decoder: descriptor.createDecoder(parsed, recall(memory)),
        controller: descriptor.createController?.(parsed, io),
        handshake: descriptor.handshake?.(parsed),
      });
    },
  };
}

interface InstanceParts {
  id: string;
  io: DeviceIo;
  decoder: Decoder;
  controller: DeviceController | undefined;
  handshake: Handshake | undefined;
}

/** Where each decoder event goes, decided here once; every byte for the device leaves through `io`. */
function driverInstance({ id, io, decoder, controller, handshake }: InstanceParts): DriverInstance {
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const stopKeepAlive = () => {
    clearInterval(keepAlive);
    keepAlive = undefined;
  };
  return {
    connected() {
      stopKeepAlive();
      if (!handshake) return;
      io.send(handshake.onOpen);
      const reminder = handshake.keepAlive;
      if (reminder) keepAlive = setInterval(() => io.send(reminder.bytes), reminder.intervalMs);
    },
    push(chunk, take) {
      for (const event of decoder.push(chunk)) {
        if (event.type === "reply") io.send(event.bytes);
        else if (event.type === "message") controller?.handle(event.message);
        else take?.(event);
      }
    },
    execute(command, params) {
      if (!controller) return Promise.reject(new DeviceCommandError("unsupported-command", `${id} takes no commands`));
      return controller.execute(command, params);
    },
    disconnected() {
      stopKeepAlive();
      controller?.disconnected();
    },
  };
}
