/**
 * Record Access Control Point (0x2A52; GLS v1.0.1 and GSS): the collector writes
 * Op Code, Operator, Operand; the meter answers by indication after sending the records (as
 * Glucose Measurement notifications). Only what pulling stored glucose records needs is here:
 * "report stored records" for all records or those with a sequence number at or above one (the
 * last one published, so reconnects fetch only new records: glucoseSync.ts), "report number of
 * stored records" and "abort".
 */
import { BleValueError, FieldReader, FieldWriter } from "./fields.ts";

const OP = { REPORT_RECORDS: 0x01, ABORT: 0x03, REPORT_COUNT: 0x04, COUNT_RESPONSE: 0x05, RESPONSE_CODE: 0x06 } as const;
const OPERATOR = { NULL: 0x00, ALL: 0x01, AT_LEAST: 0x03 } as const;
/** Filter Type for "greater than or equal to" in the Glucose Service: 0x01 = Sequence Number. */
const FILTER_SEQUENCE_NUMBER = 0x01;

export type RacpRequest =
  | { op: "report-records"; from?: number }
  | { op: "report-count"; from?: number }
  | { op: "abort" };

export function encodeRacpRequest(request: RacpRequest): Uint8Array {
  if (request.op === "abort") return new FieldWriter().u8(OP.ABORT).u8(OPERATOR.NULL).toBytes();
  const writer = new FieldWriter().u8(request.op === "report-records" ? OP.REPORT_RECORDS : OP.REPORT_COUNT);
  if (request.from === undefined) return writer.u8(OPERATOR.ALL).toBytes();
  if (!Number.isInteger(request.from) || request.from < 0 || request.from > 0xffff) throw new RangeError(`sequence number ${request.from} is not a uint16`);
  return writer.u8(OPERATOR.AT_LEAST).u8(FILTER_SEQUENCE_NUMBER).u16(request.from).toBytes();
}

/** Response Code Values (GSS, Record Access Control Point): what the meter says about a request. */
export const RACP_RESPONSE_CODES = {
  1: "success",
  2: "op-code-not-supported",
  3: "invalid-operator",
  4: "operator-not-supported",
  5: "invalid-operand",
  6: "no-records-found",
  7: "abort-unsuccessful",
  8: "procedure-not-completed",
  9: "operand-not-supported",
} as const;
export type RacpResponseCode = (typeof RACP_RESPONSE_CODES)[keyof typeof RACP_RESPONSE_CODES];

export type RacpResponse =
  | { kind: "response"; requestOpCode: number; code: RacpResponseCode }
  | { kind: "count"; records: number };

const isCode = (value: number): value is keyof typeof RACP_RESPONSE_CODES => value in RACP_RESPONSE_CODES;

/** The meter's indication on the control point; anything else throws BleValueError. */
export function decodeRacpResponse(value: Uint8Array): RacpResponse {
  const reader = new FieldReader(value);
  const op = reader.u8();
  const operator = reader.u8();
  if (operator !== OPERATOR.NULL) throw new BleValueError("invalid-field", `RACP response with operator ${operator}, expected Null`);
  let response: RacpResponse;
  if (op === OP.COUNT_RESPONSE) response = { kind: "count", records: reader.u16() };
  else if (op === OP.RESPONSE_CODE) {
    const requestOpCode = reader.u8();
    const code = reader.u8();
    if (!isCode(code)) throw new BleValueError("invalid-field", `RACP response code ${code} is reserved`);
    response = { kind: "response", requestOpCode, code: RACP_RESPONSE_CODES[code] };
  } else throw new BleValueError("invalid-field", `RACP op code ${op} is not a response`);
  if (reader.remaining !== 0) throw new BleValueError("length-mismatch", `RACP response with ${reader.remaining} byte(s) too many`);
  return response;
}
