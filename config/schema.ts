/**
 * The configuration schema: the single source of truth for validation, the TypeScript types,
 * defaults, the JSON Schema that `thea config schema` prints for fleet tools, and
 * docs/configuration.md (generated from it by `thea config docs`).
 *
 * Every object is strict: a misspelt key is an error, not a silently ignored setting.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { LOG_LEVELS } from "../lib/log.ts";
import { DRIVER_IDS, driverById } from "../drivers/index.ts";
import { parseEndpoint } from "../drivers/net/tcpLink.ts";

export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** An update channel name (update.channel, a manifest's channels). */
export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MQTT_URL_PROTOCOLS = ["mqtt:", "mqtts:", "ws:", "wss:"];

function isMqttUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return MQTT_URL_PROTOCOLS.includes(url.protocol) && url.hostname !== "";
  } catch {
    return false; // not a URL at all: the refinement's message says what is expected
  }
}

/** `mqtt://user:pass@host`: user-info in a URL is a credential (redacted in logs and reports, like a password). */
function hasUserInfo(value: string): boolean {
  try {
    const url = new URL(value);
    return url.username !== "" || url.password !== "";
  } catch {
    return false;
  }
}

/** Peripherals and cameras are addressed by id in topics and commands, so an id names one thing. */
function idsAreUnique(list: ReadonlyArray<{ id: string }>, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((item, index) => {
    if (seen.has(item.id)) ctx.addIssue({ code: "custom", path: [index, "id"], message: `"${item.id}" is used twice` });
    seen.add(item.id);
  });
}

const seconds = (min: number, max: number) => z.number().min(min).max(max);

const tlsSchema = z.strictObject({
  ca: z.string().min(1).optional().describe("PEM file of the CA(s) that signed the broker's certificate."),
  cert: z.string().min(1).optional().describe("PEM file of this box's client certificate (mTLS)."),
  key: z.string().min(1).optional().describe("PEM file of this box's client private key (mTLS)."),
  rejectUnauthorized: z
    .boolean()
    .default(true)
    .describe("Verify the broker's certificate. Turn off only in a lab."),
});

const reconnectSchema = z.strictObject({
  initialDelaySec: seconds(0.01, 600)
    .default(15)
    .describe(
      "Window of the first reconnect after losing the broker; each failed attempt doubles it (full " +
        "jitter: the wait is uniform in [0, window]). Wide enough that a fleet of 2,000 boxes spreads " +
        "its reconnects after a broker restart (about 7 % of the fleet per second at 15 s).",
    ),
  maxDelaySec: seconds(0.01, 3600).default(60).describe("Cap of the reconnect window."),
  stableAfterSec: seconds(0, 3600)
    .default(60)
    .describe("A connection must last this long before the backoff starts again from the first window."),
});

const mqttSchema = z
  .strictObject(
    {
    url: z
      .string({ error: "is required (or set THEA_MQTT_URL)" })
      .refine(isMqttUrl, { error: "must be mqtt://, mqtts://, ws:// or wss://" })
      .describe("Broker URL, e.g. mqtts://broker.example.org:8883. Credentials in it (user:pass@) count as a password: refused over plain mqtt:// and ws://, redacted wherever the URL is shown."),
    clientId: z.string().min(1).max(128).optional().describe("MQTT client id; default thea-<deviceId>."),
    username: z.string().min(1).optional(),
    password: z.string().optional().describe("Prefer passwordFile or THEA_MQTT_PASSWORD over a password in the file."),
    passwordFile: z.string().min(1).optional().describe("File whose first line is the MQTT password."),
    allowInsecureCredentials: z
      .boolean()
      .default(false)
      .describe("Allow a username/password over plain mqtt:// or ws:// (lab only)."),
    tls: tlsSchema.prefault({}),
    keepaliveSec: z.int().min(5).max(1200).default(30),
    connectTimeoutSec: seconds(1, 300).default(15),
    reconnect: reconnectSchema.prefault({}),
    maxPayloadBytes: z
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024)
      .describe("Largest command payload accepted; larger ones are answered with payload-too-large."),
    },
    { error: (issue) => (issue.input === undefined ? "is required: at least mqtt.url (or set THEA_MQTT_URL)" : "must be an object") },
  )
  .describe("The broker connection.")
  .superRefine((mqtt, ctx) => {
    if (mqtt.password !== undefined && mqtt.passwordFile !== undefined) {
      ctx.addIssue({ code: "custom", path: ["passwordFile"], message: "set password or passwordFile, not both" });
    }
    const plain = mqtt.url.startsWith("mqtt://") || mqtt.url.startsWith("ws://");
    const hasCredentials = mqtt.password !== undefined || mqtt.passwordFile !== undefined || hasUserInfo(mqtt.url);
    if (plain && hasCredentials && !mqtt.allowInsecureCredentials) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message:
          "refusing to send a password over plain mqtt:// or ws:// (credentials in the URL, user:pass@, are one); use mqtts:// or wss:// (or allowInsecureCredentials in a lab)",
      });
    }
    const { ca, cert, key } = mqtt.tls;
    if (plain && (ca ?? cert ?? key) !== undefined) {
      // Without TLS none of these is used: a box meant to prove its identity would silently not.
      ctx.addIssue({ code: "custom", path: ["url"], message: "tls settings need mqtts:// or wss:// (plain mqtt:// and ws:// use no TLS)" });
    }
    if ((cert === undefined) !== (key === undefined)) {
      ctx.addIssue({ code: "custom", path: ["tls"], message: "give cert and key together (the client certificate and its private key)" });
    }
  });

const telemetrySchema = z.strictObject({
  healthIntervalSec: seconds(1, 86_400).default(60).describe("How often health is published."),
  summaryMinIntervalSec: seconds(1, 3600)
    .default(60)
    .describe("The retained summary is republished at most this often; a change within the interval goes out when it ends (docs/mqtt-api.md)."),
});

/** Longest site label in UTF-8 bytes: three of them must fit the 1 kB summary with room to spare. */
export const SITE_LABEL_MAX_BYTES = 64;

/** A short printable label: no control characters (NUL included) and no MQTT wildcard (it may end up in a topic or filter). */
const siteLabel = z
  .string()
  .min(1)
  .refine((text) => Buffer.byteLength(text, "utf8") <= SITE_LABEL_MAX_BYTES, { error: `must be at most ${SITE_LABEL_MAX_BYTES} bytes (UTF-8)` })
  .refine((text) => !/[\p{Cc}\p{Cf}+#]/u.test(text), { error: "must be printable, without + or #" });

const siteSchema = z.strictObject({
  province: siteLabel.optional().describe("e.g. Kampong Cham. At most 64 bytes, printable, without + or #."),
  district: siteLabel.optional().describe("e.g. Batheay; as province."),
  commune: siteLabel.optional().describe("e.g. Chbar Ampov; as province."),
});

const USB_ID = /^[0-9a-f]{4}$/;

const endpoint = z.string().refine((text) => parseEndpoint(text) !== undefined, { error: "must be host:port (IPv6 as [addr]:port)" });

/** The id of a peripheral or camera: one segment of an MQTT topic and a command parameter. */
const localId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { error: "must match [a-z0-9][a-z0-9-]{0,31}" });

/** An ALSA device name; it ends up inside a GStreamer launch string, so nothing else is allowed. */
const alsaDevice = (example: string) =>
  z.string().regex(/^[A-Za-z0-9_:,.=-]+$/, { error: `must be an ALSA device name such as ${example}` });

/** A Bluetooth device address as BlueZ shows it, e.g. C0:26:DA:01:23:45. */
const BLE_ADDRESS = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/;
/** A 16-bit assigned number (1810) or a full 128-bit UUID. */
const BLE_UUID = /^([0-9a-f]{4}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const bleSchema = z
  .strictObject({
    address: z
      .string()
      .toUpperCase()
      .regex(BLE_ADDRESS, { error: "must be a Bluetooth address such as C0:26:DA:01:23:45" })
      .optional()
      .describe("The device's Bluetooth address as BlueZ shows it, e.g. C0:26:DA:01:23:45 (`bluetoothctl devices`)."),
    service: z
      .string()
      .toLowerCase()
      .regex(BLE_UUID, { error: "must be a 16-bit service number such as 1810 or a 128-bit UUID" })
      .optional()
      .describe("Take the first device that advertises this service, e.g. 1810 (Blood Pressure); with one such device in reach only."),
    pair: z.boolean().default(false).describe("Pair (bond) before connecting, for a device that requires an encrypted link."),
    adapter: z.string().regex(/^hci[0-9]{1,2}$/, { error: "must be an adapter name such as hci0" }).optional().describe("BlueZ adapter; the first one by default."),
  })
  .refine((ble) => (ble.address === undefined) !== (ble.service === undefined), { error: "set either address or service" });

const peripheralSchema = z
  .strictObject({
    id: localId.describe("Name of this peripheral in topics, e.g. oximeter."),
    driver: z.enum(DRIVER_IDS).describe("Which protocol it speaks (docs/drivers.md)."),
    port: z.string().min(1).optional().describe("Serial device path; prefer a stable /dev/serial/by-id/… name."),
    usb: z
      .strictObject({
        vendorId: z.string().toLowerCase().regex(USB_ID, { error: "must be 4 hex digits" }).optional(),
        productId: z.string().toLowerCase().regex(USB_ID, { error: "must be 4 hex digits" }).optional(),
        serialNumber: z.string().min(1).optional().describe("Tells two identical adapters apart."),
      })
      .refine((usb) => (usb.vendorId === undefined) === (usb.productId === undefined), { error: "give vendorId and productId together, or neither" })
      .optional()
      .describe(
        "Find the serial port by USB vendor:product id (and serial number) instead of a path; `{}` finds the driver's known adapters (docs/drivers.md).",
      ),
    tcp: z
      .strictObject({
        listen: endpoint.optional().describe("Wait for the device to connect here, e.g. 0.0.0.0:2575."),
        connect: endpoint.optional().describe("Connect to the device here, e.g. 192.168.10.40:2575."),
      })
      .refine((tcp) => (tcp.listen === undefined) !== (tcp.connect === undefined), { error: "set either listen or connect" })
      .optional()
      .describe("A device on the network instead of a serial line (hl7-mllp)."),
    udp: endpoint.optional().describe("A device reached by UDP, e.g. a VISCA-over-IP camera at 192.168.10.41:52381."),
    ble: bleSchema.optional().describe("A Bluetooth LE device reached through BlueZ (ble-health): by address or by the service it advertises."),
    options: z.record(z.string(), z.unknown()).default({}).describe("Driver options (docs/drivers.md)."),
    publishRateHz: z
      .number()
      .positive()
      .max(10)
      .default(1)
      .describe("Most readings a second published for a continuous device; spot readings always go out."),
    silentAfterSec: z
      .number()
      .min(0)
      .max(3600)
      .default(10)
      .describe(
        "A continuous device that sends nothing for this many seconds is reported disconnected (switched off while its cable stays in) until it sends again; 0 turns this off. Spot devices are quiet between measurements and are never judged by it.",
      ),
  })
  .superRefine((peripheral, ctx) => {
    const transports = [peripheral.port, peripheral.usb, peripheral.tcp, peripheral.udp, peripheral.ble].filter((transport) => transport !== undefined);
    if (transports.length !== 1) {
      ctx.addIssue({ code: "custom", path: ["port"], message: "set exactly one of port, usb, tcp, udp or ble" });
    }
    const driver = driverById(peripheral.driver);
    if ((driver?.transport?.kind === "ble") !== (peripheral.ble !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["ble"], message: peripheral.ble ? `${peripheral.driver} is no Bluetooth LE driver` : `${peripheral.driver} reaches its device by Bluetooth LE: set ble` });
    }
    if (peripheral.usb && peripheral.usb.vendorId === undefined && driver?.usb.length === 0) {
      ctx.addIssue({ code: "custom", path: ["usb"], message: `${peripheral.driver} knows no USB adapter of its own: give vendorId and productId, or a port` });
    }
    for (const problem of driver?.checkOptions(peripheral.options) ?? []) {
      ctx.addIssue({ code: "custom", path: ["options", ...problem.path], message: problem.message });
    }
  });

export type PeripheralConfig = z.output<typeof peripheralSchema>;

const outboxSchema = z.strictObject({
  maxMessages: z.int().min(100).max(100_000_000).default(1_000_000).describe("Most entries kept while offline."),
  maxMegabytes: z.number().min(1).max(1_000_000).default(512).describe("Most space the outbox may use."),
  maxAgeHours: z.number().min(1).max(24 * 365).default(24 * 7).describe("Entries older than this are dropped (counted)."),
  replayRatePerSec: z
    .number()
    .min(1)
    .max(100_000)
    .default(50)
    .describe("How fast the backlog of an outage is replayed; live readings are not held back by it."),
  inFlight: z.int().min(1).max(1000).default(32).describe("Entries awaiting their PUBACK at once."),
});

const cameraSourceSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("test"),
    pattern: z.enum(["smpte", "ball", "snow", "black"]).default("smpte").describe("videotestsrc pattern."),
  }),
  z.strictObject({
    type: z.literal("v4l2"),
    device: z
      .string()
      .regex(/^\/dev\/[A-Za-z0-9_.:\/-]+$/, { error: "must be a /dev/… path" })
      .describe("Video device; prefer a stable /dev/v4l/by-id/… name."),
    format: z.enum(["raw", "mjpeg"]).default("raw").describe("What the camera delivers: raw frames or MJPEG (decoded here)."),
  }),
]);

const audioSchema = z.strictObject({
  source: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("test") }),
    z.strictObject({
      type: z.literal("alsa"),
      device: alsaDevice("hw:1,0 or plughw:CARD=USB,DEV=0").describe("ALSA capture device (arecord -L lists them)."),
    }),
  ]),
  bitrateKbps: z.int().min(8).max(256).default(32).describe("Opus bitrate; 32 kbit/s carries speech well."),
});

/**
 * A stethoscope (or other clinical sound) on a USB audio device: its own Opus track, tuned for
 * fidelity rather than speech (see docs/media.md, "Clinical audio").
 */
const clinicalAudioSchema = z.strictObject({
  source: z.discriminatedUnion("type", [
    z
      .strictObject({
        type: z.literal("test"),
        wave: z.enum(["sine", "heartbeat"]).default("sine").describe("A steady tone, or short bursts of it (heart sounds)."),
        frequencyHz: z.number().min(10).max(20_000).default(100),
        beatsPerMinute: z.int().min(20).max(200).default(72).describe("The heartbeat's rate (72 a minute: 1.2 bursts a second)."),
      })
      .describe("A generated tone, for tests and for checking a station's path."),
    z.strictObject({
      type: z.literal("alsa"),
      device: alsaDevice("hw:2,0 or plughw:CARD=Steth,DEV=0").describe("ALSA capture device of the stethoscope (arecord -L lists them)."),
    }),
  ]),
  // RFC 7587 §3.1.1 recommends 48–64 kbit/s for fullband mono music; a stethoscope gets the top
  // of that range at the least, so the encoder never trades low-frequency detail for bits.
  bitrateKbps: z.int().min(64).max(256).default(96).describe("Constant Opus bitrate; 64 kbit/s at the least."),
});

const talkbackSchema = z.strictObject({
  sink: z.discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("alsa"),
      device: alsaDevice("hw:1,0 or default").default("default").describe("ALSA playback device (aplay -L lists them)."),
    }),
    z.strictObject({
      type: z.literal("wav"),
      path: z.string().regex(/^\/[A-Za-z0-9_./-]+\.wav$/, { error: "must be an absolute path to a .wav file" }),
    }).describe("Write what the doctor says to a WAV file instead of a speaker (a station without one, tests)."),
  ]),
});

const cameraSchema = z
  .strictObject({
    id: localId.describe("Name of this camera in commands, e.g. room or exam."),
    source: cameraSourceSchema.describe("Where the picture comes from: a V4L2 camera, or a test pattern."),
    width: z.int().min(160).max(3840).default(1280),
    height: z.int().min(120).max(2160).default(720),
    framerate: z.int().min(1).max(60).default(30),
    codec: z
      .enum(["h264", "vp8"])
      .default("h264")
      .describe("The camera's own codec; a viewer that cannot decode it gets the other from a second encoder while it watches."),
    encoder: z
      .enum(["auto", "x264enc", "v4l2h264enc", "vaapih264enc", "nvv4l2h264enc"])
      .default("auto")
      .describe("H.264 encoder; auto takes a hardware one the GStreamer registry has, else x264enc."),
    bitrateKbps: z
      .strictObject({
        min: z.int().min(50).max(20_000).default(300),
        start: z.int().min(50).max(20_000).default(1500),
        max: z.int().min(50).max(20_000).default(2500),
      })
      .prefault({})
      .refine((rate) => rate.min <= rate.start && rate.start <= rate.max, { error: "needs min ≤ start ≤ max" })
      .describe("The encoder's bitrate moves between min and max with the viewers' feedback."),
    keyframeIntervalSec: z.number().min(0.5).max(10).default(2),
    maxViewers: z.int().min(1).max(16).default(4).describe("Concurrent viewers of this camera."),
    audio: audioSchema.optional().describe("Sound sent with the picture (Opus), e.g. the room microphone."),
    clinicalAudio: clinicalAudioSchema
      .optional()
      .describe("A stethoscope's sound as a second audio track: generic Opus, constant bitrate, no voice processing."),
    talkback: talkbackSchema
      .optional()
      .describe("The doctor's microphone to the clinic's speaker, for a viewer that offers it (one talker at a time)."),
  })
  .describe("A camera streamed to the doctor's browser over WebRTC while someone watches.");

export type CameraConfig = z.output<typeof cameraSchema>;

const iceServerSchema = z.strictObject({
  urls: z
    .union([z.string(), z.array(z.string()).min(1)])
    .refine((urls) => [urls].flat().every((url) => /^(stun|turns?):/.test(url)), { error: "must be stun:, turn: or turns: URLs" }),
  username: z.string().optional(),
  credential: z.string().optional().describe("TURN password; redacted in logs and reports."),
});

const mediaSchema = z.strictObject({
  iceServers: z
    .array(iceServerSchema)
    .default([])
    .describe("STUN and TURN servers for viewers behind NAT. None by default: no public server is contacted."),
  sessionTimeoutSec: seconds(5, 86_400)
    .default(30)
    .describe("A viewing session that is not connected this long after its offer is closed."),
  turnTlsCa: z
    .string()
    .min(1)
    .optional()
    .describe("PEM file of the CA that signed a turns: server's certificate, when the system's CAs do not."),
  iceTransportPolicy: z
    .enum(["all", "relay"])
    .default("all")
    .describe("relay: media only through the TURN servers, never direct (for networks that must see it pass a relay)."),
  loopbackOnly: z
    .boolean()
    .default(false)
    .describe("Media only over 127.0.0.1, for a viewer on the box itself (the demo, tests)."),
  answerGatherMs: z
    .int()
    .min(0)
    .max(10_000)
    .default(2000)
    .describe(
      "Longest wait for the box's own candidates before answering an offer; those found later (a slow TURN server) trickle. " +
        "The answer always carries what was found by then, so a viewer that cannot trickle connects when they came in time.",
    ),
  keyframeMinIntervalMs: z
    .int()
    .min(100)
    .max(10_000)
    .default(1000)
    .describe("Picture-loss requests force a keyframe at most this often (each one costs a burst of bits)."),
  maxConnectingPerCamera: z
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe(
      "Viewing sessions of one camera that may be connecting (offered, not yet connected) at once; a further offer is " +
        "refused with too-many-viewers until one connects or ends (sessionTimeoutSec). Connecting sessions are no consultation.",
    ),
});

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "must be HH:MM" });

const updateSchema = z.strictObject({
  trustedKeys: z
    .array(z.string().includes("BEGIN PUBLIC KEY", { error: "must be a PEM public key (thea keys generate makes one)" }))
    .default([])
    .describe("Ed25519 public keys (SPKI PEM) whose signed releases this box installs; more than one while keys rotate."),
  installRoot: z.string().min(1).default("/opt/thea").describe("Where releases/, current, previous and launch live (docs/updates.md)."),
  maxBundleMegabytes: z.int().min(1).max(4096).default(400).describe("Bundles larger than this are refused before downloading."),
  maxUnpackedMegabytes: z.int().min(1).max(16_384).default(1024).describe("A bundle that unpacks to more than this is refused while unpacking (a release today is ~300 MB)."),
  channel: z.string().regex(CHANNEL_PATTERN, { error: "must match [a-z0-9][a-z0-9-]{0,31}" }).default("stable").describe("Which release channel this box follows; a manifest with channels only installs on boxes of those."),
  healthGraceSec: seconds(10, 3600).default(120).describe("A new version must reach the broker within this long, else the previous one comes back."),
  downloadAttempts: z.int().min(1).max(100).default(8).describe("Tries (each resuming the last) before a download is given up."),
  maintenanceWindow: z
    .strictObject({ start: clock, end: clock })
    .optional()
    .describe("Local time span in which an update may cut a live consultation (otherwise it waits until no viewer is connected)."),
});

const managementSchema = z.strictObject({
  rebootMinIntervalMin: z
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(30)
    .describe("Remote reboots (system.reboot) at most this often; remembered across reboots."),
  configGraceSec: seconds(10, 3600)
    .default(120)
    .describe("After a remote config change that restarts the agent, it must reach the broker within this long, else the last known good config comes back."),
  allowRemoteBootstrap: z
    .boolean()
    .default(false)
    .describe("Let a remote config change (with allowBootstrap) touch deviceId and mqtt. Only this file can allow it."),
});

/** `10.20.0.0/16`, `192.168.10.40` (one address), `fd00::/8`. */
function isNetwork(text: string): boolean {
  const [address = "", prefix, ...rest] = text.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
}

const remotePolicySchema = z.strictObject({
  networks: z
    .array(z.string().refine(isNetwork, { error: "must be an IP address or CIDR network, e.g. 10.20.0.0/16" }))
    .default([])
    .describe(
      "Networks a remote layer may point a peripheral's tcp.connect or udp at (addresses only, no names). None by default: network peripherals come from this file.",
    ),
  listenAddresses: z
    .array(z.string().refine((text) => isIP(text) !== 0, { error: "must be an IP address" }))
    .default([])
    .describe("Addresses a remote layer may open a tcp.listen peripheral on, e.g. 127.0.0.1. None by default."),
  fileDirectories: z
    .array(z.string().regex(/^\//, { error: "must be an absolute path" }))
    .default([])
    .describe(
      "Directories under which a remote layer may name files (media.turnTlsCa, a talkback WAV path, mqtt files); `..` and symbolic links out of them are refused. None by default.",
    ),
  floors: z
    .strictObject({
      rebootMinIntervalMin: z.int().min(1).default(30).describe("Lowest management.rebootMinIntervalMin a remote layer may set."),
      keyframeMinIntervalMs: z.int().min(100).default(1000).describe("Lowest media.keyframeMinIntervalMs a remote layer may set."),
      healthIntervalSec: z.number().min(1).default(1).describe("Lowest telemetry.healthIntervalSec a remote layer may set."),
      summaryMinIntervalSec: z
        .number()
        .min(1)
        .default(60)
        .describe("Lowest telemetry.summaryMinIntervalSec a remote layer may set: at 60 s the summary stays within the telemetry budget (docs/mqtt-api.md)."),
    })
    .prefault({})
    .describe("Rate limits a remote layer may not lower past."),
});

export type RemotePolicy = z.output<typeof remotePolicySchema>;

export const configSchema = z.strictObject({
  deviceId: z
    .string()
    .regex(DEVICE_ID_PATTERN, { error: "must match [a-z0-9][a-z0-9-]{0,63}" })
    .optional()
    .describe("This box's identity in topics. Default: derived from /etc/machine-id (box-<12 hex>)."),
  dataDir: z.string().min(1).default("/var/lib/thea").describe("State directory (outbox, releases)."),
  log: z
    .strictObject({ level: z.enum(LOG_LEVELS).default("info").describe("pino level; logs go to stdout (journald).") })
    .prefault({}),
  mqtt: mqttSchema,
  site: siteSchema
    .prefault({})
    .describe("Where the box stands, as labels for fleet views; published in status and summary (docs/mqtt-api.md). A remote layer may set it (it takes effect by a restart when no consultation is live)."),
  telemetry: telemetrySchema.prefault({}),
  outbox: outboxSchema.prefault({}).describe("Store-and-forward on the data disk (docs/mqtt-api.md)."),
  peripherals: z
    .array(peripheralSchema)
    .default([])
    .superRefine(idsAreUnique)
    .describe("Medical devices attached to this box."),
  cameras: z
    .array(cameraSchema)
    .default([])
    .superRefine(idsAreUnique)
    .describe("Cameras a doctor can watch (docs/mqtt-api.md, webrtc.offer)."),
  media: mediaSchema.prefault({}).describe("WebRTC settings shared by every camera."),
  management: managementSchema.prefault({}).describe("Remote management (docs/mqtt-api.md, Management commands)."),
  update: updateSchema.prefault({}).describe("Signed software updates (docs/updates.md). Set by the box's own file only."),
  remotePolicy: remotePolicySchema
    .prefault({})
    .describe("What a remote config layer may reach (docs/mqtt-api.md, Remote configuration). Set by the box's own file only; settings this file makes itself are not checked."),
});

/** What a config file may contain (defaults not yet applied). */
export type ConfigInput = z.input<typeof configSchema>;
/** A validated config with defaults applied. */
export type Config = z.output<typeof configSchema>;
export type MqttConfig = Config["mqtt"];

/** A config with everything the agent needs decided: identity, client id and secrets (agent/config/load.ts). */
export interface ResolvedConfig extends Config {
  deviceId: string;
  mqtt: MqttConfig & { clientId: string };
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
}
