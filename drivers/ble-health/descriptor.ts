/**
 * Bluetooth LE health devices speaking the Bluetooth SIG's standard services (Blood Pressure,
 * Pulse Oximeter, Health Thermometer, Weight Scale, Glucose), reached through BlueZ: the agent's
 * link (agent/devices/bleLink.ts) subscribes to what `transport` names and relays each value as
 * a GATT frame; everything the values mean is decoded here, with no I/O.
 */
import { z } from "zod";
import { defineDriver } from "../core/types.ts";
import { CHARACTERISTIC, SERVICE } from "./characteristics.ts";
import { zoneOffsetMinutes } from "./deviceClock.ts";
import { QUIRK_IDS } from "./quirks.ts";
import { createBleHealthSimulator } from "./simulator.ts";
import { bleHealthMemoryFromJson, bleHealthMemoryToJson } from "./memoryJson.ts";
import { BleHealthMemory, BleHealthStream, DEVICE_INFORMATION, SUBSCRIBED_CHARACTERISTICS } from "./stream.ts";

const optionsSchema = z.strictObject({
  quirks: z.array(z.enum(QUIRK_IDS)).default([]).describe("Quirks to apply whatever the device's Device Information says (docs/drivers.md)."),
  setClock: z.boolean().default(true).describe("Set the device's clock from the box's through the Current Time Service, where the device has one."),
  utcOffsetMinutes: z.int().min(-720).max(840).default(0).describe("The device's wall clock, in minutes east of UTC (devices keep local time); timeZone instead follows DST."),
  timeZone: z
    .string()
    .refine(knownZone, { error: "must be an IANA time zone such as Asia/Ho_Chi_Minh" })
    .optional()
    .describe("The site's IANA time zone, for the device's wall clock (DST included); overrides utcOffsetMinutes."),
});

function knownZone(timeZone: string): boolean {
  try {
    zoneOffsetMinutes(timeZone, new Date(0));
    return true;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}

export const bleHealth = defineDriver({
  id: "ble-health",
  name: "Bluetooth LE health devices (Blood Pressure, Pulse Oximeter, Health Thermometer, Weight Scale, Glucose services)",
  measures: ["systolic_bp", "diastolic_bp", "mean_bp", "pulse_rate", "spo2", "body_temperature", "body_weight", "glucose", "glucose_molar", "perfusion_index"],
  // Cuffs, thermometers, scales and meters report one measurement at a time; a continuous
  // oximeter's readings carry kind "continuous" themselves and are throttled as such.
  kind: "spot",
  // Not used: there is no serial line (transport below); kept so every driver has line settings.
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  usb: [],
  transport: {
    kind: "ble",
    services: [SERVICE.BLOOD_PRESSURE, SERVICE.PULSE_OXIMETER, SERVICE.HEALTH_THERMOMETER, SERVICE.WEIGHT_SCALE, SERVICE.GLUCOSE],
    subscribe: SUBSCRIBED_CHARACTERISTICS,
    read: [DEVICE_INFORMATION.MANUFACTURER_NAME, DEVICE_INFORMATION.MODEL_NUMBER, CHARACTERISTIC.CURRENT_TIME],
    write: [CHARACTERISTIC.RECORD_ACCESS_CONTROL_POINT, CHARACTERISTIC.CURRENT_TIME],
  },
  optionsSchema,
  createMemory: () => new BleHealthMemory(),
  memoryToJson: bleHealthMemoryToJson,
  memoryFromJson: bleHealthMemoryFromJson,
  createDecoder: (options, memory) => new BleHealthStream(options, memory),
  createSimulator: (_options, scenario) => createBleHealthSimulator(scenario),
});
