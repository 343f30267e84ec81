/**
 * HL7 v2 over MLLP from a vitals monitor: every framed message is answered with an ACK — AA when
 * taken, AE when it is an ORU^R01 we cannot use as sent, AR when it is not an ORU^R01 at all —
 * and its observations become readings (DEMO-marked ones separately, flagged `demo-data`).
 */
import type { Decoder, DecoderEvent, ReadingKind } from "../core/types.ts";
import { buildAck, parseHl7, type AckCode, type Hl7Message } from "./hl7.ts";
import { MllpFramer, wrapMllp } from "./mllp.ts";
import { MAX_DEVICE_NUMERICS, readingsFromOru } from "./oru.ts";

export interface Hl7DecoderOptions {
  kind: ReadingKind;
  now?: () => Date;
}

export function hl7Decoder(options: Hl7DecoderOptions): Decoder {
  const framer = new MllpFramer();
  const now = options.now ?? (() => new Date());
  let acks = 0;
  const reply = (message: Hl7Message | undefined, code: AckCode, reason?: string): DecoderEvent => {
    acks += 1;
    const ack = buildAck(message, code, { now: now(), controlId: `THEA${acks}` }, reason);
    return { type: "reply", bytes: wrapMllp(new TextEncoder().encode(ack)) };
  };
  return {
    push(chunk) {
      return framer.push(chunk).flatMap((event): DecoderEvent[] => {
        if (event.type === "discarded") return [event];
        const unused = (reason: string): DecoderEvent => ({ type: "discarded", bytes: event.bytes.length + 3, reason });
        const parsed = parseHl7(new TextDecoder().decode(event.bytes));
        if (!parsed.ok) return [unused(parsed.reason), reply(undefined, "AR", parsed.reason)];
        const { message } = parsed;
        const type = message.msh(9).split("^");
        if (type[0] !== "ORU" || type[1] !== "R01") {
          const reason = `unsupported message type ${type.slice(0, 2).join("^") || "(none)"}; only ORU^R01 is accepted`;
          return [unused(reason), reply(message, "AR", reason)];
        }
        if (message.msh(10) === "") return [unused("MSH-10 (message control id) is empty"), reply(message, "AE", "MSH-10 (message control id) is empty")];
        if (!message.segments.some((segment) => segment.id === "OBX")) return [reply(message, "AE", "no OBX segment in ORU^R01")];
        const { patient, demo, overflow } = readingsFromOru(message, options.kind);
        const readings: DecoderEvent[] = [patient, demo].flatMap((reading) => (reading ? [{ type: "reading" as const, reading }] : []));
        // A flood of unknown codes in one message is not amplified into one huge reading: counted.
        if (overflow > 0) readings.push({ type: "discarded", bytes: 0, reason: `${overflow} numeric OBX beyond the ${MAX_DEVICE_NUMERICS} unknown codes a message may carry` });
        return [...readings, reply(message, "AA")];
      });
    },
  };
}
