/**
 * werift as installed here: it carries the patches in patches/ (bin/setup applies them after
 * npm ci); SRTP/SRTCP still protect and unprotect as before the key-object patch, and a sender
 * keeps a bounded record of what it sent for transport-wide congestion control.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtpHeader,
  RtpPacket,
  RTCRtpSender,
  SrtcpSession,
  SrtpSession,
} from "werift";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The same key pair on both sides: what one side protects, the other unprotects. */
function keys(key: Buffer, salt: Buffer) {
  return { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };
}

// Known answers for AES-128-CM/HMAC-SHA1-80 shared by pion/srtp's and werift's context tests
// (TestRTPLifecyle): this master key and salt, RTP version 0, SSRC 0, payload 00 01 02 03 04 05;
// each answer is the encrypted payload followed by the 10-byte tag (RFC 3711 §4.1.1, §4.2).
const MASTER_KEY = Buffer.from("0dcd213e4cbcf28f017f6994401e2889", "hex");
const MASTER_SALT = Buffer.from("62776038c06dc9419f6dd9433e7c", "hex");
const PLAIN = Buffer.from("000102030405", "hex");
const ANSWERS: Array<[sequenceNumber: number, protectedPayload: string]> = [
  [5000, "6dd37ed599b72d28b1f3a1f00cfbfd08"],
  [5001, "da470b2a745365bd2febdc4b6d23f3de"],
  [5002, "6ea7698d246ddcbfec021cd16076c10e"],
  [5003, "247e96c87d33a2928d138de0769f08dc"],
  [5004, "754328e43a77599b2edf7b12680b5749"],
];

describe("werift's SRTP as installed", () => {
  it("carries every patch in patches/ (bin/patch-packages --check)", async () => {
    const check = promisify(execFile)(`${ROOT}bin/patch-packages`, ["--check"], { cwd: ROOT });
    await expect(check).resolves.toBeDefined();
  });

  it("protects RTP with AES-128-CM/HMAC-SHA1-80 to the known answers and unprotects them", () => {
    for (const [sequenceNumber, answer] of ANSWERS) {
      // A fresh pair per packet, as in the original vectors (each starts its rollover state anew).
      const sender = new SrtpSession({ profile: ProtectionProfileAes128CmHmacSha1_80, keys: keys(MASTER_KEY, MASTER_SALT) });
      const receiver = new SrtpSession({ profile: ProtectionProfileAes128CmHmacSha1_80, keys: keys(MASTER_KEY, MASTER_SALT) });
      const header = () => new RtpHeader({ sequenceNumber, version: 0 });
      const expected = new RtpPacket(header(), Buffer.from(answer, "hex")).serialize();
      const sent = sender.encrypt(PLAIN, header());
      expect(sent.toString("hex")).toBe(expected.toString("hex"));
      expect(receiver.decrypt(sent).toString("hex")).toBe(new RtpPacket(header(), PLAIN).serialize().toString("hex"));
    }
  });

  it("round-trips a run of RTP packets across the sequence-number wrap, both profiles, and rejects a flipped bit", () => {
    for (const [profile, saltLength] of [[ProtectionProfileAes128CmHmacSha1_80, 14], [ProtectionProfileAeadAes128Gcm, 12]] as const) {
      const salt = MASTER_SALT.subarray(0, saltLength);
      const sender = new SrtpSession({ profile, keys: keys(MASTER_KEY, salt) });
      const receiver = new SrtpSession({ profile, keys: keys(MASTER_KEY, salt) });
      for (let i = 0; i < 40; i++) {
        const sequenceNumber = (65520 + i) & 0xffff;
        const payload = Buffer.alloc(1200, i);
        const header = new RtpHeader({ sequenceNumber, ssrc: 0x1234, payloadType: 96, timestamp: i * 3000 });
        const sent = sender.encrypt(payload, header);
        expect(sent.subarray(12, 12 + payload.length).equals(payload)).toBe(false);
        expect(RtpPacket.deSerialize(receiver.decrypt(sent)).payload.equals(payload)).toBe(true);
      }
      const tampered = sender.encrypt(Buffer.alloc(100, 1), new RtpHeader({ sequenceNumber: 20, ssrc: 0x1234, payloadType: 96 }));
      tampered[20] = (tampered[20] ?? 0) ^ 1;
      expect(() => receiver.decrypt(tampered)).toThrow(/authenticate/);
    }
  });

  it("round-trips SRTCP, both profiles, and rejects a flipped bit", () => {
    const report = new RtcpRrPacket({ ssrc: 5000, reports: [new RtcpReceiverInfo({ ssrc: 0x1234, highestSequence: 3 })] }).serialize();
    for (const [profile, saltLength] of [[ProtectionProfileAes128CmHmacSha1_80, 14], [ProtectionProfileAeadAes128Gcm, 12]] as const) {
      const salt = MASTER_SALT.subarray(0, saltLength);
      const sender = new SrtcpSession({ profile, keys: keys(MASTER_KEY, salt) });
      const receiver = new SrtcpSession({ profile, keys: keys(MASTER_KEY, salt) });
      const sent = sender.encrypt(report);
      expect(sent.subarray(8, report.length).equals(report.subarray(8))).toBe(false);
      expect(receiver.decrypt(sent).toString("hex")).toBe(report.toString("hex"));
      const tampered = Buffer.from(sender.encrypt(report));
      tampered[10] = (tampered[10] ?? 0) ^ 1;
      expect(() => receiver.decrypt(tampered)).toThrow(/authenticate/);
    }
  });
});

describe("werift's sender bandwidth estimator as installed", () => {
  it("keeps the last 4,096 sent packets for TWCC feedback, not all 65,536 of a long viewing", () => {
    const estimator = new RTCRtpSender("video").senderBWE;
    const sent = 70_000;
    for (let i = 0; i < sent; i++) estimator.rtpPacketSent({ wideSeq: i & 0xffff, size: 1200, sendingAtMs: i * 5, sentAtMs: i * 5 });
    // The record is private to werift; its size is what the patch is about (~6 MB per viewer
    // after six minutes at 2 Mbit/s without it), so it is read here rather than inferred.
    expect(Object.keys(Reflect.get(estimator, "sentInfos") as object).length).toBeLessThanOrEqual(4096);

    // Feedback on the latest packets still finds them and yields an estimate.
    const estimates: number[] = [];
    estimator.onAvailableBitrate.subscribe((kbps) => estimates.push(kbps));
    const latest = Array.from({ length: 30 }, (_, k) => sent - 30 + k);
    const packetResults = latest.map((i) => ({ sequenceNumber: i & 0xffff, received: true, receivedAtMs: i * 5 + 40 }));
    estimator.receiveTWCC({ packetResults } as unknown as Parameters<typeof estimator.receiveTWCC>[0]);
    expect(estimates.length).toBe(1);
    expect(estimates[0]).toBeGreaterThan(0);
  });
});
