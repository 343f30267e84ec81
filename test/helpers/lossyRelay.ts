/**
 * A UDP relay between a browser and the agent that drops a share of the agent's RTP packets: a
 * poor clinic uplink, made on loopback (this machine has no netem). The browser is pointed at the
 * relay by rewriting the agent's candidate in the answer; STUN, DTLS and RTCP pass untouched so
 * the session stays up while the media suffers.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export class LossyRelay {
  readonly #socket: Socket;
  readonly #agentPort: number;
  #browser: RemoteInfo | undefined;
  /** Fraction (0–1) of the agent's RTP packets dropped; change it at any time. */
  dropRate = 0;
  /** When set, nothing passes either way: the link is gone (a cut cable, a dead 3G modem). */
  cut = false;
  dropped = 0;
  forwarded = 0;

  private constructor(socket: Socket, agentPort: number) {
    this.#socket = socket;
    this.#agentPort = agentPort;
    socket.on("message", (packet, from) => {
      if (this.cut) return;
      if (from.port === this.#agentPort) {
        if (!this.#browser) return;
        if (isRtp(packet) && Math.random() < this.dropRate) {
          this.dropped += 1;
          return;
        }
        this.forwarded += 1;
        socket.send(packet, this.#browser.port, this.#browser.address);
      } else {
        this.#browser = from;
        socket.send(packet, this.#agentPort, "127.0.0.1");
      }
    });
  }

  static async start(agentPort: number): Promise<LossyRelay> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new LossyRelay(socket, agentPort);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * RTP, not RTCP, STUN or DTLS (RFC 7983 §7: first byte 128–191 is RTP/RTCP; RFC 5761 §4: a second
 * byte of 192–223 is RTCP).
 */
function isRtp(packet: Buffer): boolean {
  const [first = 0, second = 0] = packet;
  return first >= 128 && first <= 191 && !(second >= 192 && second <= 223);
}

const HOST_CANDIDATE = /^(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)( typ host.*)$/m;

/** The port of the agent's loopback host candidate in an answer. */
export function hostCandidatePort(sdp: string): number {
  const port = HOST_CANDIDATE.exec(sdp)?.[2];
  if (port === undefined) throw new Error("the answer has no loopback host candidate");
  return Number(port);
}

/** The answer with that candidate moved to `port` (the relay's). */
export function redirectAnswer(sdp: string, port: number): string {
  return sdp.replace(HOST_CANDIDATE, (_, head: string, _agentPort: string, tail: string) => `${head}${port}${tail}`);
}
