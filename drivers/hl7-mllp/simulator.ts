/**
 * A vitals monitor sending IHE PCD-01 ORU^R01 messages over MLLP every 2 seconds (SpO2, pulse and
 * respiration from the pleth, ECG heart rate, impedance respiration, EtCO2 and its respiration
 * rate, non-invasive blood pressure, oral temperature). It counts the ACKs it gets back.
 */
import { garble, vitalsAt, type DeviceSimulator, type Scenario } from "../core/simulation.ts";
import { hl7Timestamp } from "./hl7.ts";
import { wrapMllp } from "./mllp.ts";

const INTERVAL_MS = 2000;
const START = Date.UTC(2026, 10, 23, 8, 0, 0);

export function oruMessage(tick: number, scenario: Scenario, demo = false): string {
  const vitals = vitalsAt(scenario, (tick * INTERVAL_MS) / 1000);
  const time = hl7Timestamp(new Date(START + tick * INTERVAL_MS));
  const obx: string[] = [];
  const add = (code: string, name: string, value: number | undefined, unit: string) => {
    if (value === undefined) return;
    // OBX-6 unit, -7 reference range, -8 abnormal flags (DEMO), -11 result status, -14 time.
    obx.push(`OBX|${obx.length + 1}|NM|${code}^${name}^MDC|1.0.1.${obx.length + 1}|${value}|${unit}||${demo ? "DEMO" : ""}|||R|||${time}`);
  };
  add("150456", "MDC_PULS_OXIM_SAT_O2", vitals.spo2, "262688^MDC_DIM_PERCENT^MDC");
  add("149530", "MDC_PULS_OXIM_PULS_RATE", vitals.pulseRate, "264864^MDC_DIM_BEAT_PER_MIN^MDC");
  add("151658", "MDC_PULS_OXIM_PLETH_RESP_RATE", vitals.spo2 === undefined ? undefined : 15 + (tick % 2), "264928^MDC_DIM_RESP_PER_MIN^MDC");
  add("147842", "MDC_ECG_HEART_RATE", 72 + (tick % 4), "264864^MDC_DIM_BEAT_PER_MIN^MDC");
  add("151578", "MDC_TTHOR_RESP_RATE", 16, "264928^MDC_DIM_RESP_PER_MIN^MDC");
  add("151708", "MDC_CONC_AWAY_CO2_ET", 37 + (tick % 3), "266016^MDC_DIM_MMHG^MDC");
  add("151594", "MDC_CO2_RESP_RATE", 16, "264928^MDC_DIM_RESP_PER_MIN^MDC");
  add("150021", "MDC_PRESS_BLD_NONINV_SYS", 118 + (tick % 5), "266016^MDC_DIM_MMHG^MDC");
  add("150022", "MDC_PRESS_BLD_NONINV_DIA", 76 + (tick % 3), "266016^MDC_DIM_MMHG^MDC");
  add("150023", "MDC_PRESS_BLD_NONINV_MEAN", 90, "266016^MDC_DIM_MMHG^MDC");
  add("188424", "MDC_TEMP_ORAL", 36.8, "268192^MDC_DIM_DEGC^MDC");
  return [
    `MSH|^~\\&|SIMMON^0000000000000001^EUI-64|SIM|THEA|CLINIC|${time}||ORU^R01^ORU_R01|SIM${tick}|P|2.6|||NE|AL||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO`,
    "PID|||SIM-PATIENT^^^SIM^MR||Simulated^Patient",
    `OBR|1|SIM${tick}^SIMMON|SIM${tick}^SIMMON|182777000^monitoring of patient^SNOMED-CT|||${time}`,
    ...obx,
  ].join("\r");
}

export function createHl7Simulator(scenario: Scenario): DeviceSimulator & { acks(): number } {
  let acks = 0;
  return {
    intervalMs: INTERVAL_MS,
    acks: () => acks,
    receive(bytes) {
      for (const byte of bytes) if (byte === 0x0b) acks += 1;
      return undefined;
    },
    chunk(tick) {
      const bytes = wrapMllp(new TextEncoder().encode(oruMessage(tick, scenario)));
      return scenario === "garbled" ? garble(bytes, tick) : bytes;
    },
  };
}
