/** A free loopback UDP port, for a pipeline's udpsrc to bind (nothing else binds on loopback here). */
import { createSocket } from "node:dgram";

export async function freeUdpPort(): Promise<number> {
  const probe = createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
