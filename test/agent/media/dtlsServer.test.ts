/**
 * The box as DTLS server, with werift's own ICE and DTLS transports on loopback. A browser sends
 * its ClientHello the moment its ICE check succeeds, which can be before werift has made its DTLS
 * server; here the server side is started only once that hello has arrived, which is that race
 * made certain. The hello must not be lost: were it, the client would have to send it again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RTCDtlsTransport, RTCIceGatherer, RTCIceTransport } from "werift";
import { serveDtls } from "../../../agent/media/dtlsServer.ts";
import { within } from "../../helpers/wait.ts";

interface Endpoint {
  ice: RTCIceTransport;
  dtls: RTCDtlsTransport;
}

const opened: Endpoint[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map(async ({ dtls, ice }) => (await dtls.stop(), await ice.stop())));
});

async function endpoint(controlling: boolean): Promise<Endpoint> {
  const gatherer = new RTCIceGatherer({
    additionalHostAddresses: ["127.0.0.1"],
    useIpv6: false,
    filterCandidatePair: (pair) => pair.localCandidate.host === "127.0.0.1" && pair.remoteCandidate.host === "127.0.0.1",
  });
  gatherer.connection.stunServer = undefined; // werift would ask a public STUN server (see icePolicy.ts)
  await gatherer.gather();
  const ice = new RTCIceTransport(gatherer);
  ice.connection.iceControlling = controlling;
  // No SRTP profiles: the handshake alone is under test.
  const dtls = new RTCDtlsTransport({}, ice, await RTCDtlsTransport.SetupCertificate(), []);
  const made = { ice, dtls };
  opened.push(made);
  return made;
}

async function introduce(from: Endpoint, to: Endpoint): Promise<void> {
  to.ice.setRemoteParams(from.ice.localParameters);
  for (const candidate of from.ice.localCandidates) await to.ice.addRemoteCandidate(candidate);
  await to.ice.addRemoteCandidate(undefined);
  to.dtls.setRemoteParams(from.dtls.localParameters);
}

/** DTLS handshake records carrying a ClientHello with message_seq 0: the first one and its resends. */
function isFirstClientHello(data: Buffer): boolean {
  const contentType = data[0];
  const handshakeType = data[13];
  return contentType === 22 && handshakeType === 1 && data.length > 18 && data.readUInt16BE(17) === 0;
}

describe("the box as DTLS server", () => {
  it("keeps a ClientHello that arrives before its DTLS server exists, so the client need not resend it", async () => {
    const [browser, box] = await Promise.all([endpoint(true), endpoint(false)]);
    browser.dtls.role = "client";
    serveDtls(box.dtls);
    await introduce(box, browser);
    await introduce(browser, box);

    // Each datagram the box receives is a new Buffer; a record handed over again is the same one.
    const firstHellos = new Set<Buffer>();
    box.ice.connection.onData.subscribe((data) => {
      if (isFirstClientHello(data)) firstHellos.add(data);
    });
    const helloArrived = within(box.ice.connection.onData.watch((data) => isFirstClientHello(data)), 10_000, "the client's first ClientHello");
    const browserConnected = Promise.all([browser.ice.start(), box.ice.start()]).then(() => browser.dtls.start());
    await helloArrived;
    expect(box.dtls.state).toBe("new");
    const boxConnected = box.dtls.start();

    await within(Promise.all([browserConnected, boxConnected]), 15_000, "both ends of the handshake");
    expect([browser.dtls.state, box.dtls.state]).toEqual(["connected", "connected"]);
    expect(firstHellos.size).toBe(1);
  });
});
