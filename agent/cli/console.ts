/**
 * `thea console --broker mqtt://HOST:PORT [--listen HOST:PORT]`: serves the operator console and bridges
 * its MQTT-over-WebSocket to the broker's TCP port, then prints the address to open.
 */
import { parseEndpoint } from "../../drivers/net/tcpLink.ts";
import { ViewerServer } from "../viewer/server.ts";

const USAGE = "usage: thea console --broker mqtt://HOST:PORT [--listen HOST:PORT]   (default listen 127.0.0.1:8080)\n";

export async function consoleCommand(args: { broker: string | undefined; listen: string | undefined }): Promise<number> {
  const broker = brokerEndpoint(args.broker);
  const listen = parseEndpoint(args.listen ?? "127.0.0.1:8080");
  if (!broker || !listen) {
    process.stderr.write(USAGE);
    return 2;
  }
  const server = await ViewerServer.start({ host: listen.host, port: listen.port, broker });
  const page = `${server.url("/")}?broker=ws://${listen.host}:${server.port}/mqtt&device=DEVICE-ID&camera=CAMERA-ID`;
  process.stdout.write(`console: open ${page}\n(MQTT over WebSocket at /mqtt is bridged to ${args.broker}; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.stop();
  return 0;
}

function brokerEndpoint(url: string | undefined): { host: string; port: number } | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "mqtt:") return undefined;
    return { host: parsed.hostname, port: Number(parsed.port || 1883) };
  } catch {
    return undefined;
  }
}
