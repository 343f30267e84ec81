/**
 * One doctor watching one camera: a werift peer connection answering the browser's offer, with
 * its own track (werift rewrites the packet it sends and keeps it for NACK resends, so packets
 * are parsed afresh for each viewer). It forwards picture-loss and bandwidth feedback to the
 * camera, and ends on close, ICE failure, or when it does not connect in time. It sees the camera
 * only through WatchedCamera (watched.ts), never the Camera class.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  MediaStream,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpRrPacket,
  RtcpSrPacket,
  RtpPacket,
  useAbsSendTime,
  useSdesMid,
  useTransportWideCC,
  type RTCRtpSender,
  type RTCRtpTransceiver,
} from "werift";
import type { Logger } from "../../lib/log.ts";
import { TheaError } from "../core/errors.ts";
import { LossWindow, nextEstimateKbps } from "./bandwidth.ts";
import type { VideoCodec } from "./pipeline.ts";
import type { MediaKind } from "./rtpInput.ts";
import type { Speaker, WatchedCamera } from "./watched.ts";
import { restrictCandidates, withoutRefusedCandidates, type IcePolicy } from "./icePolicy.ts";
import { answerAsDtlsServer } from "./dtlsServer.ts";
import { audioSections, CLINICAL_MSID, withClinicalFmtp } from "./clinicalTrack.ts";

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null | undefined;
  sdpMLineIndex?: number | null | undefined;
}

export interface ViewerSessionInfo {
  sessionId: string;
  camera: string;
  state: string;
  startedAt: string;
  connectedAt: string | undefined;
  packetsSent: number;
  keyframeRequests: number;
  estimateKbps: number | undefined;
  /** The video codec this viewer receives. */
  codec: VideoCodec;
  /** Whether this viewer's microphone has the clinic's speaker. */
  talking: boolean;
}

export interface ViewerSessionEvents {
  /** A local ICE candidate found after the answer (for trickle). */
  candidate: [candidate: IceCandidateInit];
  /** The viewer connected (ICE and DTLS done): from now on a consultation is live. */
  connected: [];
  closed: [reason: string];
}

export interface ViewerSessionOptions {
  camera: WatchedCamera;
  ice: IcePolicy;
  /** Close the session when it has not connected this long after the offer. */
  connectTimeoutMs: number;
  /** Longest wait for the box's own candidates before answering; later ones trickle. */
  answerGatherMs: number;
  /** The viewer's MQTT client, whose last will ends this session (webrtc.offer's viewerId). */
  viewerId: string | undefined;
  /** Candidates the viewer may give, in its offer and trickled together. */
  maxRemoteCandidates: number;
  log: Logger;
}

export class ViewerSession extends EventEmitter<ViewerSessionEvents> {
  readonly id = randomUUID();
  readonly #options: ViewerSessionOptions;
  readonly #log: Logger;
  readonly #pc: RTCPeerConnection;
  readonly #tracks = {
    video: new MediaStreamTrack({ kind: "video" }),
    audio: new MediaStreamTrack({ kind: "audio" }),
    clinical: new MediaStreamTrack({ kind: "audio" }),
  };
  /** The stethoscope's media section, when the viewer asked for it. */
  #clinicalMid: string | undefined;
  readonly #startedAt = new Date();
  #connectedAt: Date | undefined;
  #closed = false;
  #packetsSent = 0;
  #talking = false;
  #keyframeRequests = 0;
  readonly #loss = new LossWindow();
  #estimateKbps: number | undefined;
  /** The video codec agreed with the viewer (the camera's own unless the viewer cannot take it). */
  #codec: VideoCodec;
  #timers: NodeJS.Timeout[] = [];
  #remoteCandidates = 0;
  #cameraSending = false;

  constructor(options: ViewerSessionOptions) {
    super();
    this.#options = options;
    this.#codec = options.camera.offer.codec;
    this.#log = options.log.child({ ns: "media:viewer", session: this.id, camera: options.camera.id });
    const { offer, speaker } = options.camera;
    this.#pc = new RTCPeerConnection({
      // The camera's own codec when the viewer takes it (werift answers in this order), else the other.
      codecs: { video: [videoCodec(offer.codec), videoCodec(otherCodec(offer.codec))], audio: offer.audio || speaker || offer.clinicalAudio ? [OPUS] : [] },
      headerExtensions: { video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()], audio: [useSdesMid()] },
      iceServers: options.ice.iceServers,
      ...options.ice.peerConfig,
    });
  }

  get cameraId(): string {
    return this.#options.camera.id;
  }

  get viewerId(): string | undefined {
    return this.#options.viewerId;
  }

  /** Whether the viewer has connected (a session that never did is no consultation). */
  get connected(): boolean {
    return this.#connectedAt !== undefined && !this.#closed;
  }

  info(): ViewerSessionInfo {
    return {
      sessionId: this.id,
      camera: this.cameraId,
      state: this.#pc.connectionState,
      startedAt: this.#startedAt.toISOString(),
      connectedAt: this.#connectedAt?.toISOString(),
      packetsSent: this.#packetsSent,
      keyframeRequests: this.#keyframeRequests,
      estimateKbps: this.#estimateKbps,
      codec: this.#codec,
      talking: this.#talking,
    };
  }

  /**
   * Answers the viewer's offer (its shape checked already: offerShape.ts), which carries
   * `candidates` candidates; the answer carries the host candidates gathered so far.
   */
  async answer(offerSdp: string, candidates: number): Promise<string> {
    const { camera, ice, connectTimeoutMs } = this.#options;
    this.#remoteCandidates = candidates;
    // From the offer on, not from the answer: however the answering goes, the session ends.
    this.#timers.push(setTimeout(() => this.#connectedAt || void this.close("did not connect in time"), connectTimeoutMs));
    const transceiver = this.#pc.addTransceiver(this.#tracks.video, { direction: "sendonly" });
    // A viewer of a camera with a stethoscope offers two audio sections, room then stethoscope.
    const { offer, speaker } = camera;
    const clinical = offer.clinicalAudio !== undefined && audioSections(offerSdp) === 2;
    if (offer.audio || speaker || clinical) {
      // Sound goes both ways when the camera has a microphone and a talk-back speaker; the room's
      // section stays (inactive) without either, so the stethoscope's keeps its place after it.
      const direction = offer.audio && speaker ? "sendrecv" : offer.audio ? "sendonly" : speaker ? "recvonly" : "inactive";
      this.#pc.addTransceiver(this.#tracks.audio, { direction });
    }
    const stethoscope = clinical ? this.#addClinicalTransceiver() : undefined;
    if (speaker) this.#listen(speaker);
    this.#watch(transceiver.sender);
    try {
      await this.#pc.setRemoteDescription({ type: "offer", sdp: withoutRefusedCandidates(offerSdp, ice) });
      answerAsDtlsServer(this.#pc);
      ice.prepare(this.#pc);
      const answer = await this.#pc.createAnswer();
      await this.#pc.setLocalDescription(answer);
    } catch (error) {
      throw new TheaError("invalid-params", `sdp: not an offer this camera can answer (${error instanceof Error ? error.message : String(error)})`);
    }
    const negotiatedMs = this.#sinceStart();
    const negotiated = transceiver.sender.codec?.mimeType.toLowerCase();
    if (!negotiated) throw new TheaError("invalid-params", "sdp: the viewer accepts neither H264 nor VP8 video");
    this.#codec = negotiated === "video/vp8" ? "vp8" : "h264";
    // A browser closing its peer connection sends a DTLS alert; werift marks the DTLS transport
    // closed but not the connection, which would otherwise wait ~30 s for ICE consent to expire.
    for (const dtls of this.#pc.dtlsTransports) {
      dtls.onStateChange.subscribe((state) => {
        this.#log.debug({ dtls: state, ms: this.#sinceStart() }, "dtls state");
        if (state === "closed") void this.close("the viewer closed the connection");
      });
    }
    // The camera starts now, while candidates gather and ICE runs: a cold pipeline takes a few
    // hundred milliseconds to its first frame, which would otherwise come after them.
    await camera.attach(this.id, (kind, packet, newSource) => this.#send(kind, packet, newSource), this.#codec);
    if (this.#closed) {
      // Closed while answering (a damaged offer can fail ICE or DTLS at once): close() found
      // nothing to detach then, so the viewer's place would stay taken for good.
      await camera.detach(this.id);
      throw new TheaError("invalid-params", "sdp: the session failed while answering the offer");
    }
    const attachedMs = this.#sinceStart();
    await this.#gathered();
    this.#log.debug({ ms: this.#sinceStart(), attachedMs, negotiatedMs }, "answered");
    const sdp = this.#pc.localDescription?.sdp;
    if (!sdp) throw new TheaError("media-failed", "no local description after answering");
    this.#clinicalMid = stethoscope?.mid ?? undefined;
    if (this.#clinicalMid === undefined || !offer.clinicalAudio) return restrictCandidates(sdp, ice);
    return withClinicalFmtp(restrictCandidates(sdp, ice), this.#clinicalMid, offer.clinicalAudio.bitrateKbps);
  }

  async addCandidate(candidate: IceCandidateInit): Promise<void> {
    const { ice, maxRemoteCandidates } = this.#options;
    // Each candidate pairs with each of the box's own and is checked: counted, refused or not.
    if (++this.#remoteCandidates > maxRemoteCandidates) {
      throw new TheaError("invalid-params", `candidate: this session has had its ${maxRemoteCandidates} candidates`);
    }
    const refusal = ice.remoteRefusal(candidate.candidate);
    if (refusal !== undefined) throw new TheaError("invalid-params", `candidate: ${refusal}`);
    try {
      await this.#pc.addIceCandidate({
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid ?? undefined,
        sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
      });
    } catch (error) {
      // werift throws on candidates it cannot parse or place: the viewer's mistake, not ours.
      throw new TheaError("invalid-params", `candidate: not one this session can use (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  async close(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await this.#options.camera.detach(this.id);
    await this.#options.camera.speaker?.release(this.id);
    await this.#pc.close().catch((error: unknown) => this.#log.debug({ err: String(error) }, "closing the peer connection"));
    this.#log.info({ reason }, "viewing session closed");
    this.emit("closed", reason);
  }

  /** The stethoscope's own send-only track, labelled by its msid so the console can tell it from the room's. */
  #addClinicalTransceiver(): RTCRtpTransceiver {
    const transceiver = this.#pc.addTransceiver(this.#tracks.clinical, { direction: "sendonly", streams: [new MediaStream({ id: CLINICAL_MSID.stream })] });
    // werift draws a random track id for the msid; its typings mark the field read-only, but it is
    // a plain writable field read when the answer is written.
    Object.defineProperty(transceiver.sender, "trackId", { value: CLINICAL_MSID.track });
    return transceiver;
  }

  /** The doctor's microphone, when the browser sends it: to the clinic's speaker, one talker at a time. */
  #listen(speaker: Speaker): void {
    this.#pc.onTrack.subscribe((track) => {
      if (track.kind !== "audio") return;
      track.onReceiveRtp.subscribe((rtp) => {
        if (this.#talking) speaker.play(this.id, rtp.serialize());
      });
      void speaker.claim(this.id).then((granted) => {
        this.#talking = granted;
        this.#log.info({ granted }, granted ? "talk-back: the doctor's voice goes to the speaker" : "talk-back: another viewer has the speaker");
      });
    });
  }

  #send(kind: MediaKind, packet: Buffer, newSource: boolean): void {
    if (!this.#cameraSending) {
      this.#cameraSending = true;
      this.#log.debug({ kind, ms: this.#sinceStart(), connected: this.#connectedAt !== undefined }, "first packet from the camera");
    }
    if (!this.#connectedAt || this.#closed || (kind === "clinical" && this.#clinicalMid === undefined)) return;
    // Where a slow first frame goes: the first packet after connecting (debug log).
    if (this.#packetsSent === 0) this.#log.debug({ kind, ms: this.#sinceStart() }, "first packet to the viewer");
    this.#packetsSent += 1;
    const rtp = RtpPacket.deSerialize(packet);
    const track = this.#tracks[kind];
    // werift then continues its own sequence numbers and timestamps across the pipeline restart.
    if (newSource) track.onSourceChanged.execute(rtp.header);
    track.writeRtp(rtp);
  }

  #watch(sender: RTCRtpSender): void {
    const { camera } = this.#options;
    this.#pc.connectionStateChange.subscribe((state) => {
      // Not once closing: the service counts each connected session down once, at its close.
      if (state === "connected" && !this.#connectedAt && !this.#closed) {
        this.#connectedAt = new Date();
        this.#log.info({ ms: this.#sinceStart() }, "viewer connected");
        camera.keyframe(this.id, "new-viewer");
        this.emit("connected");
      } else if (state === "failed" || state === "closed") void this.close(`connection ${state}`);
    });
    // Where a slow start goes: ICE (the browser's checks) or DTLS after it.
    this.#pc.iceConnectionStateChange.subscribe((state) => this.#log.debug({ ice: state, ms: this.#sinceStart() }, "ice state"));
    this.#pc.onIceCandidate.subscribe((candidate) => {
      const init = candidate?.toJSON();
      if (init?.candidate && this.#options.ice.allows(init.candidate)) this.emit("candidate", init);
    });
    sender.onPictureLossIndication.subscribe(() => {
      this.#keyframeRequests += 1;
      camera.keyframe(this.id, "picture-loss");
    });
    sender.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpRrPacket || packet instanceof RtcpSrPacket) {
        const report = packet.reports.find((entry) => entry.ssrc === sender.ssrc);
        if (report) this.#loss.report(report.fractionLost / 256, report.highestSequence);
      }
    });
    const feedback = setInterval(() => {
      if (!this.#connectedAt) return;
      const remb = Number(sender.receiverEstimatedMaxBitrate) / 1000;
      // The viewer's own estimate evolves from where it was (the encoder's rate at first), kept
      // within the camera's range so it cannot drift away while another viewer holds the encode down.
      const { min, max } = camera.offer.bitrateKbps;
      const next = nextEstimateKbps({
        currentKbps: this.#estimateKbps ?? camera.encodingKbps(),
        fractionLost: this.#loss.sample(),
        rembKbps: remb > 0 ? remb : undefined,
      });
      this.#estimateKbps = Math.round(Math.min(max, Math.max(min, next)));
      camera.bandwidth(this.id, this.#estimateKbps);
    }, 1000);
    this.#timers.push(feedback);
  }

  /** Milliseconds since the offer came in: where a slow start went, in the debug log. */
  #sinceStart(): number {
    return Date.now() - this.#startedAt.getTime();
  }

  async #gathered(): Promise<void> {
    if (this.#pc.iceGatheringState === "complete" || this.#options.answerGatherMs === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.answerGatherMs);
      this.#pc.iceGatheringStateChange.subscribe((state) => {
        if (state === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
}

const OPUS = new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 });

const otherCodec = (codec: VideoCodec): VideoCodec => (codec === "h264" ? "vp8" : "h264");

function videoCodec(codec: VideoCodec): RTCRtpCodecParameters {
  const rtcpFeedback = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "goog-remb" }, { type: "transport-cc" }];
  return codec === "h264"
    ? new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        rtcpFeedback,
        // Constrained baseline 3.1, non-interleaved: what the pipeline produces and every browser decodes.
        parameters: "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
      })
    : new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback });
}
