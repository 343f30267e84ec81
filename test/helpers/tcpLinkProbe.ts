/**
 * Runs one TcpLink as the agent would and prints each state it reports as a JSON line: the box's
 * side of a test whose box must live on a host of its own (see vethWire.ts).
 * Usage: node tcpLinkProbe.ts listen|connect HOST PORT KEEPALIVE_IDLE_MS
 */
import { TcpLink } from "../../drivers/net/tcpLink.ts";

const [mode, host = "", port, keepAliveIdleMs] = process.argv.slice(2);
if (mode !== "listen" && mode !== "connect") throw new Error(`mode: listen or connect, not ${mode}`);
const link = new TcpLink(mode, { host, port: Number(port) }, { keepAliveIdleMs: Number(keepAliveIdleMs) });
link.on("state", (state) => console.log(JSON.stringify(state)));
link.start();
if (mode === "listen") console.log(JSON.stringify({ listening: true }));
