/** VISCA messages as the camera manual lays them out: commands encoded, replies read from any camera address. */
import { describe, expect, it } from "vitest";
import { parseReply, visca } from "../../../drivers/visca/codec.ts";

describe("VISCA codec", () => {
  it("encodes commands as in the manual", () => {
    expect([...visca.panTiltDrive(1, "left", "up", 8, 8)]).toEqual([0x81, 0x01, 0x06, 0x01, 0x08, 0x08, 0x01, 0x01, 0xff]);
    expect([...visca.absolutePosition(1, -1, 0x1234, 0x18, 0x17)]).toEqual([0x81, 0x01, 0x06, 0x02, 0x18, 0x17, 0xf, 0xf, 0xf, 0xf, 0x1, 0x2, 0x3, 0x4, 0xff]);
    expect([...visca.presetRecall(2, 5)]).toEqual([0x82, 0x01, 0x04, 0x3f, 0x02, 0x05, 0xff]);
    expect([...visca.zoom(1, "in", 3)]).toEqual([0x81, 0x01, 0x04, 0x07, 0x23, 0xff]);
  });

  it("reads ACK, completion and errors, from any camera address", () => {
    expect(parseReply([0x90, 0x41, 0xff])).toEqual({ kind: "ack", from: 1, socket: 1 });
    expect(parseReply([0xa0, 0x52, 0xff])).toEqual({ kind: "completion", from: 2, socket: 2, data: [] });
    expect(parseReply([0xb0, 0x61, 0x41, 0xff])).toEqual({ kind: "error", from: 3, socket: 1, code: 0x41 });
    expect(parseReply([0x90, 0x60, 0x02, 0xff])).toEqual({ kind: "error", from: 1, socket: 0, code: 0x02 });
    expect(parseReply([0x88, 0x30, 0x02, 0xff])).toEqual({ kind: "address-set", cameras: 1 });
  });
});
