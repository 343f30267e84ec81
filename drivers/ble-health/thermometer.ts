/**
 * Temperature Measurement (0x2A1C, Health Thermometer Service 0x1809, by indication; GSS and
 * HTS v1.0): Flags, Temperature Measurement Value (FLOAT, °C or °F by flag bit 0), then by flag:
 * Time Stamp (Date Time, bit 1), Temperature Type (uint8, bit 2). Bits 3–7 are reserved.
 */
import type { ObservationType } from "../core/observations.ts";
import type { DeviceReading } from "../core/types.ts";
import { DATE_TIME_LENGTH, type DateTime, isoDeviceTime, readDateTime, writeDateTime } from "./dateTime.ts";
import { FieldWriter } from "./fields.ts";
import { impliedTimestamp, optionalLength, plausibleObservations, type MeasurementLayout } from "./layout.ts";
import { convertedValue, medValue, type MedFloat } from "./medfloat.ts";

const FLAG = { FAHRENHEIT: 0x01, TIME_STAMP: 0x02, TYPE: 0x04 } as const;
/**
 * Temperature Type (GSS) → the catalogue's type for that site, so the reading carries the site's
 * LOINC code. 2 "body (general)" and 3 "ear (usually ear lobe)" — which ear thermometers that
 * measure the eardrum also send — stay body_temperature (site not stated), as does no type.
 */
const SITE: ReadonlyMap<number, ObservationType> = new Map([
  [1, "axillary_temperature"], // armpit
  [4, "skin_temperature"], // finger
  [5, "core_temperature"], // gastro-intestinal tract
  [6, "oral_temperature"], // mouth
  [7, "rectal_temperature"], // rectum
  [8, "skin_temperature"], // toe
  [9, "tympanic_temperature"], // tympanum (ear drum)
]);

export interface TemperatureMeasurement {
  unit: "Cel" | "degF";
  value: MedFloat;
  timeStamp?: DateTime;
  /** Where it was taken (GSS, Temperature Type): 1 armpit, 2 body, 3 ear, 4 finger, 5 GI tract, 6 mouth, 7 rectum, 8 toe, 9 tympanum. */
  type?: number;
}

export const temperatureLayout: MeasurementLayout<TemperatureMeasurement> = {
  name: "Temperature Measurement",
  reservedFlags: 0xf8,
  impliedFields: [impliedTimestamp(FLAG.TIME_STAMP)],
  length: (flags) => 1 + 4 + optionalLength(flags, [[FLAG.TIME_STAMP, DATE_TIME_LENGTH], [FLAG.TYPE, 1]]),
  read(reader, flags) {
    const measurement: TemperatureMeasurement = { unit: flags & FLAG.FAHRENHEIT ? "degF" : "Cel", value: reader.float() };
    if (flags & FLAG.TIME_STAMP) measurement.timeStamp = readDateTime(reader);
    if (flags & FLAG.TYPE) measurement.type = reader.u8();
    return measurement;
  },
};

export function encodeTemperature(measurement: TemperatureMeasurement): Uint8Array {
  const flags = (measurement.unit === "degF" ? FLAG.FAHRENHEIT : 0) | (measurement.timeStamp ? FLAG.TIME_STAMP : 0) | (measurement.type !== undefined ? FLAG.TYPE : 0);
  const writer = new FieldWriter().u8(flags).float(measurement.value);
  if (measurement.timeStamp) writeDateTime(writer, measurement.timeStamp);
  if (measurement.type !== undefined) writer.u8(measurement.type);
  return writer.toBytes();
}

export function temperatureReading(measurement: TemperatureMeasurement): DeviceReading {
  const celsius = measurement.unit === "degF" ? convertedValue(measurement.value, (f) => ((f - 32) * 5) / 9) : medValue(measurement.value);
  const time = measurement.timeStamp && isoDeviceTime(measurement.timeStamp);
  return { kind: "spot", observations: plausibleObservations("Temperature Measurement", [[SITE.get(measurement.type ?? 0) ?? "body_temperature", celsius]]), flags: [], ...(time !== undefined && { deviceTime: time }) };
}
