/**
 * VISCA replies as the controller receives them: from a serial byte stream split anywhere, or
 * one UDP datagram at a time behind the VISCA-over-IP header, where a datagram that is not one is
 * counted and a control reply carries no camera message.
 */
import { describe, expect, it } from "vitest";
import type { DecoderEvent } from "../../../drivers/core/types.ts";
import { viscaDecoder } from "../../../drivers/visca/decoder.ts";
import { IP_PAYLOAD, wrapIp } from "../../../drivers/visca/framer.ts";
import { discarded } from "../../helpers/decoderEvents.ts";

const ACK = [0x90, 0x41, 0xff];
const COMPLETION = [0x90, 0x51, 0xff];
const messages = (events: DecoderEvent[]) => events.flatMap((event) => (event.type === "message" ? [event.message] : []));

describe("viscaDecoder over serial", () => {
  it("gives the same replies wherever the byte stream is split", () => {
    const stream = Uint8Array.from([...ACK, ...COMPLETION]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = viscaDecoder("serial");
      const events = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(messages(events)).toEqual([
        { kind: "ack", from: 1, socket: 1 },
        { kind: "completion", from: 1, socket: 1, data: [] },
      ]);
    }
  });
});

describe("viscaDecoder over IP", () => {
  it("reads the camera's reply out of a reply datagram", () => {
    const events = viscaDecoder("ip").push(wrapIp(IP_PAYLOAD.REPLY, 1, Uint8Array.from(ACK)));
    expect(messages(events)).toEqual([{ kind: "ack", from: 1, socket: 1 }]);
  });

  it("counts a datagram without a valid header as discarded, whole", () => {
    const events = viscaDecoder("ip").push(Uint8Array.from([0x01, 0x11, 0x00, 0x09, ...ACK]));
    expect(events).toEqual([{ type: "discarded", bytes: 7, reason: expect.any(String) }]);
    expect(discarded(viscaDecoder("ip").push(Uint8Array.from([1, 2, 3])))).toBe(3);
  });

  it("takes a control reply (sequence reset) as no camera message", () => {
    expect(viscaDecoder("ip").push(wrapIp(IP_PAYLOAD.CONTROL_REPLY, 0, Uint8Array.from([0x01])))).toEqual([]);
  });
});
