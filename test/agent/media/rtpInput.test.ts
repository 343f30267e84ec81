/**
 * A camera's RTP coming in on loopback UDP, as a pipeline's udpsink sends it: each stream on its own
 * port, a restarted pipeline's new SSRC flagged once, and H.264 parameter sets never ending a frame.
 */
import { createSocket } from "node:dgram";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import { RtpInput, type RtpStream } from "../../../agent/media/rtpInput.ts";
import { waitFor } from "../../helpers/wait.ts";

const MARKER = 0x80;
const SPS = 0x67; // NAL header: nal_ref_idc 3, type 7 (RFC 6184 §1.3)
const IDR = 0x65; // type 5

/** An RTP packet (RFC 3550 §5.1): version 2, payload type 96. */
function rtp(options: { ssrc: number; seq: number; marker?: boolean; payload: number[] }): Buffer {
  const packet = Buffer.alloc(12 + options.payload.length);
  packet[0] = 0x80;
  packet[1] = (options.marker ? MARKER : 0) | 96;
  packet.writeUInt16BE(options.seq, 2);
  packet.writeUInt32BE(options.seq * 3000, 4);
  packet.writeUInt32BE(options.ssrc, 8);
  Buffer.from(options.payload).copy(packet, 12);
  return packet;
}

const opened: RtpInput[] = [];
const sender = createSocket("udp4");
afterEach(() => {
  for (const input of opened.splice(0)) input.close();
});
afterAll(() => sender.close());

async function setUp(streams: RtpStream[]) {
  const received: { stream: RtpStream; packet: Buffer; newSource: boolean }[] = [];
  const input = await RtpInput.open({ streams, onPacket: (stream, packet, newSource) => received.push({ stream, packet, newSource }), log: createLogger({ level: "silent" }) });
  opened.push(input);
  const send = (stream: RtpStream, packet: Buffer) => sender.send(packet, input.port(stream) ?? 0, "127.0.0.1");
  const count = (n: number) =>
    waitFor<void>(`${n} packets`, 5000, (done) => {
      const timer = setInterval(() => received.length >= n && done(), 5);
      return () => clearInterval(timer);
    });
  return { input, received, send, count };
}

describe("RtpInput", () => {
  it("gives each stream its own loopback port and tells the stream apart on arrival", async () => {
    const { input, received, send, count } = await setUp(["h264", "audio"]);
    expect(input.port("h264")).not.toBe(input.port("audio"));
    expect(input.port("vp8")).toBeUndefined();
    send("audio", rtp({ ssrc: 1, seq: 1, payload: [0xfc] }));
    await count(1);
    expect(received[0]).toMatchObject({ stream: "audio", newSource: false });
  });

  it("flags the first packet of a new SSRC (a restarted pipeline), once", async () => {
    const { received, send, count } = await setUp(["vp8"]);
    for (const [ssrc, seq] of [[10, 1], [10, 2], [20, 1], [20, 2]] as const) {
      send("vp8", rtp({ ssrc, seq, payload: [0x90] }));
      await count(seq + (ssrc === 20 ? 2 : 0));
    }
    expect(received.map((packet) => packet.newSource)).toEqual([false, false, true, false]);
  });

  it("clears the marker of an H.264 parameter-set packet, and of nothing else", async () => {
    const { received, send, count } = await setUp(["h264", "audio"]);
    send("h264", rtp({ ssrc: 1, seq: 1, marker: true, payload: [SPS, 0x42] }));
    await count(1);
    send("h264", rtp({ ssrc: 1, seq: 2, marker: true, payload: [IDR, 0x88] }));
    await count(2);
    send("audio", rtp({ ssrc: 2, seq: 1, marker: true, payload: [SPS, 0x42] }));
    await count(3);
    expect(received.map(({ stream, packet }) => [stream, (packet[1] ?? 0) & MARKER])).toEqual([
      ["h264", 0],
      ["h264", MARKER],
      ["audio", MARKER],
    ]);
  });

  it("lets its ports go when closed", async () => {
    const { input } = await setUp(["h264"]);
    const port = input.port("h264");
    input.close();
    expect(input.port("h264")).toBeUndefined();
    const again = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.bind(port, "127.0.0.1", resolve);
    });
    again.close();
  });
});
