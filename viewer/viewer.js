// thea viewer: watch a clinic camera in the browser. Signalling is thea's MQTT command API
// (docs/mqtt-api.md, "Live video"): webrtc.offer → answer, webrtc.candidate both ways, webrtc.close.
// `watch` takes any `request(name, params)` function; `mqttRequester` provides one over MQTT 5
// on WebSockets, with a response topic and correlation data per request.

/** Starts watching `camera` in `video`; resolves to a handle once the answer is applied. */
export async function watch({
  video,
  camera,
  request,
  viewerId,
  talkback = false,
  iceServers = [],
  iceTransportPolicy = "all",
  gatherMs = 0,
  onTrickleTopic,
  onState = () => {},
  // e.g. ["video/VP8"] on a device that decodes H.264 badly: the box encodes what is asked.
  videoCodecs,
  // Ask for the camera's stethoscope track too (only for a camera that has one: the box refuses
  // a second audio section otherwise). It arrives as handle.stethoscope, never in `video`.
  clinical = false,
}) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
  const pictures = pc.addTransceiver("video", { direction: "recvonly" });
  if (videoCodecs) {
    const offered = RTCRtpReceiver.getCapabilities("video").codecs.filter((codec) => videoCodecs.includes(codec.mimeType));
    pictures.setCodecPreferences(offered);
  }
  // Sound from the clinic (refused by the box when the camera has none) and, for talk-back, the
  // doctor's microphone to the clinic's speaker.
  const microphone = talkback ? (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0] : undefined;
  if (microphone) pc.addTransceiver(microphone, { direction: "sendrecv" });
  else pc.addTransceiver("audio", { direction: "recvonly" });
  // The stethoscope's section comes after the room's: the box answers it with its own track
  // (msid "thea-stethoscope stethoscope"), told apart here by its transceiver.
  const stethoscope = clinical ? pc.addTransceiver("audio", { direction: "recvonly" }) : undefined;
  const stream = new MediaStream();
  video.srcObject = stream;
  pc.ontrack = (event) => event.transceiver !== stethoscope && stream.addTrack(event.track);
  pc.onconnectionstatechange = () => onState(pc.connectionState);

  // The offer goes at once (or after up to gatherMs of gathering, for signalling that cannot
  // trickle) and candidates trickle once the session id is known: waiting for the browser to
  // gather costs ~150 ms of the first frame. Trickled candidates and the final close go one after
  // another: a burst of them would meet the box's limit on commands at once.
  const late = [];
  let sessionId;
  let queue = Promise.resolve();
  const inTurn = (name, params) => (queue = queue.then(() => request(name, params)).catch(() => {}));
  pc.onicecandidate = ({ candidate }) => {
    if (!candidate) return;
    if (sessionId) inTurn("webrtc.candidate", { sessionId, candidate: candidate.toJSON() });
    else late.push(candidate.toJSON());
  };
  await pc.setLocalDescription(await pc.createOffer());
  if (gatherMs > 0) await gathered(pc, gatherMs);
  const answer = await request("webrtc.offer", { camera, sdp: pc.localDescription.sdp, ...(viewerId && { viewerId }) });
  sessionId = answer.sessionId;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  for (const candidate of late) inTurn("webrtc.candidate", { sessionId, candidate });
  // The box's late candidates; what onTrickleTopic returns undoes it when the session ends.
  const stopTrickle = onTrickleTopic?.(sessionId, (candidate) => pc.addIceCandidate(candidate));

  return {
    sessionId,
    pc,
    /** The doctor's microphone track (talk-back), to mute and unmute; undefined without it. */
    microphone,
    /** The stethoscope's track (with `clinical`), to play on its own; undefined without it. */
    stethoscope: stethoscope?.receiver.track,
    async stats() {
      const report = await pc.getStats();
      for (const entry of report.values()) {
        if (entry.type === "inbound-rtp" && entry.kind === "video") {
          return {
            framesDecoded: entry.framesDecoded ?? 0,
            frameWidth: entry.frameWidth ?? 0,
            frameHeight: entry.frameHeight ?? 0,
            packetsLost: entry.packetsLost ?? 0,
            pliCount: entry.pliCount ?? 0,
            nackCount: entry.nackCount ?? 0,
            framesPerSecond: entry.framesPerSecond ?? 0,
            freezeCount: entry.freezeCount ?? 0,
            codec: report.get(entry.codecId)?.mimeType,
          };
        }
      }
      return { framesDecoded: 0, frameWidth: 0, frameHeight: 0, packetsLost: 0, pliCount: 0 };
    },
    async audioStats() {
      const report = await pc.getStats();
      for (const entry of report.values()) {
        if (entry.type === "inbound-rtp" && entry.kind === "audio") {
          return { packetsReceived: entry.packetsReceived ?? 0, totalSamplesReceived: entry.totalSamplesReceived ?? 0, codec: report.get(entry.codecId)?.mimeType };
        }
      }
      return undefined;
    },
    async close() {
      await inTurn("webrtc.close", { sessionId });
      stopTrickle?.();
      microphone?.stop();
      pc.close();
    },
  };
}

function gathered(pc, maxMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Requests over MQTT 5: each answered on our own response topic, matched by correlation data. */
export function mqttRequester(client, { deviceId, responseTopic, timeoutMs = 15000 }) {
  const pending = new Map();
  client.subscribe(responseTopic, { qos: 1 });
  client.on("message", (topic, payload, packet) => {
    const key = packet.properties?.correlationData?.toString("hex");
    const waiter = topic === responseTopic && key ? pending.get(key) : undefined;
    if (!waiter) return;
    pending.delete(key);
    const response = JSON.parse(payload.toString());
    if (response.ok) waiter.resolve(response.result);
    else waiter.reject(new Error(`${response.error.code}: ${response.error.message}`));
  });
  return (name, params) =>
    new Promise((resolve, reject) => {
      const id = crypto.getRandomValues(new Uint8Array(8));
      const key = [...id].map((byte) => byte.toString(16).padStart(2, "0")).join("");
      const timer = setTimeout(() => pending.delete(key) && reject(new Error(`${name}: no answer in ${timeoutMs} ms`)), timeoutMs);
      pending.set(key, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      client.publish(`thea/v1/${deviceId}/cmd/${name}`, JSON.stringify(params), {
        qos: 1,
        properties: { responseTopic, correlationData: id },
      });
    });
}
