// The operator console: connects to the broker over MQTT-over-WebSocket, lists the box's cameras
// and plays one (viewer.js), shows live readings and peripheral states, and drives a PTZ head.
import mqtt from "./mqtt.esm.js";
import { mqttRequester, watch } from "./viewer.js";

const query = new URLSearchParams(location.search);
const deviceId = query.get("device") ?? "";
const root = `thea/v1/${deviceId}`;
const $ = (id) => document.getElementById(id);
const badge = (id, text, kind) => {
  $(id).textContent = text;
  $(id).className = `badge ${kind}`;
};
const showError = (text) => ($("error").textContent = text);
$("device").textContent = deviceId || "(none: add &device=… to the address)";

/**
 * The broker's WebSocket: the relay of the server that served this page (thea console), unless
 * `broker=` names another (a hospital broker's own wss:// listener). The page's token goes only to
 * its own server's relay, never to a broker named in the address.
 */
function brokerUrl() {
  const own = new URL("mqtt", location.href);
  own.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const url = new URL(query.get("broker") ?? own.href, location.href);
  if (url.host === own.host && url.pathname === own.pathname) {
    url.protocol = own.protocol;
    url.search = new URLSearchParams({ token: query.get("token") ?? "" }).toString();
  }
  return url.href;
}

const viewerId = crypto.randomUUID();
const client = mqtt.connect(brokerUrl(), {
  protocolVersion: 5,
  clientId: `console-${viewerId}`,
  username: query.get("username") ?? undefined,
  password: query.get("password") ?? undefined,
  // If this tab vanishes without closing its session, the broker tells the box.
  will: { topic: `${root}/webrtc/viewers/${viewerId}/gone`, payload: "", qos: 1 },
});
// Answers come back under the box's reply/{requesterId}/… (docs/mqtt-api.md): the box answers
// nowhere else. With the deploy kit's broker a person reads only reply/{their certificate CN}/#,
// so pass it as &requester=…; without it this tab is its own requester. The fleet service's relay
// names the requester itself in the page ({its CN}/{the person's CN}): the only answers it relays.
const requester = document.querySelector('meta[name="thea-requester"]')?.content || query.get("requester");
const responseTopic = requester ? `${root}/reply/${requester}/${viewerId}` : `${root}/reply/${viewerId}`;
const request = mqttRequester(client, { deviceId, responseTopic });

client.on("connect", () => {
  badge("broker", "connected", "ok");
  showError("");
  client.subscribe([`${root}/status`, `${root}/peripherals/+/reading`, `${root}/peripherals/+/state`], { qos: 1 });
  void loadBox();
});
client.on("reconnect", () => badge("broker", "reconnecting…", "wait"));
client.on("offline", () => badge("broker", "offline", "bad"));
client.on("error", (error) => showError(`broker: ${error.message}`));
client.on("message", (topic, payload) => {
  let message;
  try {
    message = JSON.parse(payload.toString());
  } catch {
    return; // not ours
  }
  if (topic === `${root}/status`) badge("box", message.online ? "online" : `offline (${message.reason ?? "?"})`, message.online ? "ok" : "bad");
  else if (topic.endsWith("/reading")) showReading(message);
  else if (topic.endsWith("/state")) showPeripheral(message);
});

// --- cameras ------------------------------------------------------------------------------------
let viewing;
async function loadBox() {
  try {
    const { cameras } = await request("media.sessions", {});
    $("cameras").replaceChildren(
      ...cameras.map((camera) => {
        const button = document.createElement("button");
        button.textContent = camera.id;
        button.dataset.camera = camera.id;
        button.setAttribute("aria-pressed", "false");
        button.addEventListener("click", () => void play(camera.id, camera.talkback !== undefined, camera.clinicalAudio === true));
        return button;
      }),
    );
    if (cameras.length === 0) $("cameras").textContent = "This box has no cameras configured.";
    const { peripherals } = await request("peripherals.list", {});
    for (const peripheral of peripherals) showPeripheral(peripheral);
    setUpPtz(peripherals.filter((peripheral) => peripheral.driver === "visca"));
    const wanted = cameras.find((camera) => camera.id === query.get("camera"));
    if (wanted && !viewing) await play(wanted.id, wanted.talkback !== undefined, wanted.clinicalAudio === true);
  } catch (error) {
    showError(`cannot reach the box: ${error.message}`);
  }
}

async function play(cameraId, talkback, clinical) {
  await viewing?.close();
  viewing = undefined;
  for (const button of $("cameras").querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.dataset.camera === cameraId));
  badge("state", `starting ${cameraId}…`, "wait");
  try {
    viewing = await watch({
      video: $("video"),
      camera: cameraId,
      request,
      viewerId,
      talkback,
      clinical,
      onState: (state) => badge("state", state, state === "connected" ? "ok" : state === "failed" || state === "closed" ? "bad" : "wait"),
      onTrickleTopic: (sessionId, add) => {
        const topic = `${root}/webrtc/${sessionId}/candidate`;
        const onCandidate = (received, payload) => received === topic && add(JSON.parse(payload.toString()));
        client.subscribe(topic, { qos: 1 });
        client.on("message", onCandidate);
        // Each camera the doctor switches to is a new session: its listener must not outlive it.
        return () => {
          client.off("message", onCandidate);
          client.unsubscribe(topic);
        };
      },
    });
    window.theaViewer = viewing;
    setUpTalk(viewing.microphone);
    setUpSound(viewing.stethoscope);
    showError("");
  } catch (error) {
    badge("state", "failed", "bad");
    showError(`cannot watch ${cameraId}: ${error.message}`);
  }
}
addEventListener("pagehide", () => void viewing?.close());
setInterval(async () => {
  if (!viewing) return;
  const stats = await viewing.stats();
  $("video-stats").textContent = `${stats.frameWidth}×${stats.frameHeight}, ${Math.round(stats.framesPerSecond)} fps, ${stats.packetsLost} packets lost`;
}, 1000);

// --- talk-back: hold the button (or the space bar) to talk to the clinic ---------------------------
let microphone;
function setUpTalk(track) {
  microphone = track;
  $("talk").hidden = !track;
  if (track) talk(false); // muted until the doctor means to speak
}
function talk(on) {
  if (!microphone) return;
  microphone.enabled = on;
  $("talk").setAttribute("aria-pressed", String(on));
  $("talk").textContent = on ? "🎙 talking…" : "🎙 hold to talk";
}
$("talk").addEventListener("pointerdown", () => talk(true));
for (const end of ["pointerup", "pointerleave", "pointercancel"]) $("talk").addEventListener(end, () => talk(false));
addEventListener("keydown", (event) => event.code === "Space" && !event.repeat && talk(true));
addEventListener("keyup", (event) => event.code === "Space" && talk(false));

// --- sound: the room's microphone or the stethoscope, one at a time -------------------------------
// The stethoscope's track goes straight to its own <audio> element: no AudioContext, compressor or
// filter is ever put in its way (receiving applies none of the browser's capture processing).
function setUpSound(stethoscope) {
  $("sound").hidden = !stethoscope;
  $("stethoscope").srcObject = stethoscope ? new MediaStream([stethoscope]) : null;
  listenTo("room");
}
function listenTo(source) {
  const stethoscope = source === "stethoscope";
  // The room's sound plays in the video element, muted until the doctor asks (autoplay rules).
  if (stethoscope) $("video").muted = true;
  $("stethoscope").muted = !stethoscope;
  if (stethoscope) void $("stethoscope").play().catch((error) => showError(`stethoscope: ${error.message}`));
  for (const button of document.querySelectorAll("[data-sound]")) button.setAttribute("aria-pressed", String(button.dataset.sound === source));
  $("sound-now").textContent = stethoscope ? "hearing the stethoscope (room muted)" : "stethoscope muted";
}
for (const button of document.querySelectorAll("[data-sound]")) {
  button.addEventListener("click", () => {
    listenTo(button.dataset.sound);
    if (button.dataset.sound === "room") $("video").muted = false; // the doctor's click: sound allowed
  });
}

// --- readings -----------------------------------------------------------------------------------
const rows = new Map();
function row(peripheral) {
  let entry = rows.get(peripheral);
  if (!entry) {
    const tr = document.createElement("tr");
    tr.dataset.peripheral = peripheral;
    tr.innerHTML = "<td><strong></strong><br><small></small></td><td class=\"value\"></td>";
    tr.querySelector("strong").textContent = peripheral;
    $("readings").append(tr);
    entry = tr;
    rows.set(peripheral, entry);
  }
  return entry;
}
function showReading(reading) {
  // A device_numeric is named by the device's own code (MDC_AWAY_CO2_ET, …).
  const name = (o) => (o.type === "device_numeric" ? o.codeName || o.code : o.type.replaceAll("_", " "));
  const text = reading.observations.map((o) => `${name(o)} ${o.value} ${o.unit}`).join(" · ");
  const flags = reading.flags.length ? ` (${reading.flags.join(", ")})` : "";
  row(reading.peripheral).querySelector(".value").textContent = `${text}${flags}`;
}
function showPeripheral(state) {
  row(state.peripheral).querySelector("small").textContent = state.connected ? `${state.driver}, connected` : `${state.driver}, not connected${state.lastError ? `: ${state.lastError}` : ""}`;
}

// --- PTZ ----------------------------------------------------------------------------------------
function setUpPtz(heads) {
  const [head] = heads;
  $("ptz-panel").hidden = !head;
  if (!head) return;
  const ptz = (name, params) => request(name, { peripheral: head.peripheral, ...params }).catch((error) => showError(`${name}: ${error.message}`));
  // Press and hold moves; letting go (or leaving the button) stops.
  for (const button of document.querySelectorAll("[data-move]")) {
    const start = (event) => {
      event.preventDefault();
      void ptz("ptz.move", { direction: button.dataset.move });
    };
    button.addEventListener("pointerdown", start);
    for (const end of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(end, () => void ptz("ptz.stop", {}));
  }
  document.querySelector("[data-stop]").addEventListener("click", () => void ptz("ptz.stop", {}));
  for (const button of document.querySelectorAll("[data-zoom]")) {
    button.addEventListener("pointerdown", () => void ptz("ptz.zoom", { direction: button.dataset.zoom }));
    button.addEventListener("pointerup", () => void ptz("ptz.zoom", { direction: "stop" }));
  }
  $("presets").replaceChildren(
    ...[1, 2, 3, 4].map((preset) => {
      const button = document.createElement("button");
      button.textContent = `preset ${preset}`;
      button.addEventListener("click", () => void ptz("ptz.preset.recall", { preset }));
      return button;
    }),
  );
  const keys = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" };
  addEventListener("keydown", (event) => {
    if (event.repeat || event.target instanceof HTMLInputElement) return;
    if (keys[event.key]) void ptz("ptz.move", { direction: keys[event.key] });
    else if (event.key === "+" || event.key === "-") void ptz("ptz.zoom", { direction: event.key === "+" ? "in" : "out" });
  });
  addEventListener("keyup", (event) => {
    if (keys[event.key]) void ptz("ptz.stop", {});
    else if (event.key === "+" || event.key === "-") void ptz("ptz.zoom", { direction: "stop" });
  });
}
