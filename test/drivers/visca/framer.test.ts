/** The VISCA-over-IP header around each message. */
import { describe, expect, it } from "vitest";
import { wrapIp, unwrapIp, IP_PAYLOAD } from "../../../drivers/visca/framer.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("VISCA-over-IP framing", () => {
  it("wraps and unwraps the VISCA-over-IP header", () => {
    const datagram = wrapIp(IP_PAYLOAD.COMMAND, 7, bytes(0x81, 0x01, 0x06, 0x04, 0xff));
    expect([...datagram.subarray(0, 8)]).toEqual([0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x07]);
    expect(unwrapIp(datagram)).toMatchObject({ ok: true, payloadType: 0x0100, sequence: 7 });
    expect(unwrapIp(bytes(1, 2, 3))).toMatchObject({ ok: false });
  });
});
