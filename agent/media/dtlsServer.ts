/**
 * The box answers as the DTLS server (`a=setup:passive`), holding on to the records that arrive
 * before werift's server exists.
 *
 * Why not the client role (werift's default when answering)? werift's DTLS client waits a fixed
 * 100 ms after ICE before its ClientHello: a third of a warm start. The server waits for nothing:
 * the browser sends its ClientHello as soon as its own ICE check succeeds. But werift creates its
 * DTLS server only once its own ICE loop has noticed the nomination, a few milliseconds later, and
 * drops a record that comes before; the browser then resends its hello only after its
 * retransmission timer, and that start is slower than the client's. So the records that arrive
 * while the transport is still new are kept and replayed to the server as soon as it is made.
 */
import { isDtls, type RTCDtlsTransport, type RTCPeerConnection } from "werift";

/** A browser sends a few handshake records at most before we answer; more is not a handshake. */
const MAX_EARLY_RECORDS = 16;

/** Call after the offer is set and before createAnswer. */
export function answerAsDtlsServer(pc: RTCPeerConnection): void {
  for (const dtls of pc.dtlsTransports) serveDtls(dtls);
}

/** Makes one transport the DTLS server, keeping what the client sends before the server exists. */
export function serveDtls(dtls: RTCDtlsTransport): void {
  dtls.role = "server";
  const { connection } = dtls.iceTransport;
  const early: Buffer[] = [];
  const holding = connection.onData.subscribe((data) => {
    if (dtls.state === "new" && isDtls(data) && early.length < MAX_EARLY_RECORDS) early.push(data);
  });
  const starting = dtls.onStateChange.subscribe((state) => {
    if (state === "new") return;
    holding.unSubscribe();
    starting.unSubscribe();
    if (state !== "connecting" || early.length === 0) return;
    // werift makes its server in the same turn, just after announcing "connecting".
    queueMicrotask(() => {
      for (const record of early.splice(0)) connection.onData.execute(record);
    });
  });
}
