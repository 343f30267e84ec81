/**
 * A clinic box with three interfaces, of which one reaches the doctor: network namespaces made
 * for the test (nothing leaves them; addresses from 198.18.0.0/15, set aside for tests by
 * RFC 2544), as a box with Ethernet, Wi-Fi and a modem meets a viewer on another network.
 *
 *   viewer ns                         box ns                       dead ends (own ns each)
 *   lan   198.18.L.2 ───────────── lan   198.18.L.1
 *   other 198.18.O.1 ─▶ void ns     wifi  198.18.W.1 ────────────▶ wifi ns  (the clinic's Wi-Fi)
 *   (default route to void)         modem 198.18.M.1 ────────────▶ modem ns (default route)
 *
 * Only the pair lan ⇄ lan works. Every other pair fails in silence, as over the Internet: the
 * viewer's packets to the box's Wi-Fi or modem address go to its default route (void, which
 * does not forward), the box's packets from its Wi-Fi address go out through that network's
 * gateway (a rule per source, as a box with one routing table per uplink does), those from the
 * modem address and to the viewer's other address through the modem, and the viewer's answers to
 * them into void. No ICMP comes back (a namespace that does not forward drops without a word), so
 * checks on those pairs time out rather than fail at once. IPv6 is off in every namespace (its
 * link-local addresses would only add pairs that fail at once).
 *
 * No packet filter is needed (this machine has no nftables, and tc cannot load its modules here):
 * routing alone decides. Needs CAP_NET_ADMIN (root).
 */
import { execFile } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

type Namespace = "box" | "viewer" | "wifi" | "modem" | "void";
const NAMESPACES: readonly Namespace[] = ["box", "viewer", "wifi", "modem", "void"];

export class MultiHomedBox {
  /** The box's addresses: only `lan` reaches the viewer. */
  readonly box: { lan: string; wifi: string; modem: string };
  /** The viewer's addresses: only `lan` reaches the box. */
  readonly viewer: { lan: string; other: string };
  readonly #id: string;
  readonly #subnets: { lan: string; wifi: string; modem: string; other: string };

  private constructor(id: string, subnets: { lan: string; wifi: string; modem: string; other: string }) {
    this.#id = id;
    this.#subnets = subnets;
    this.box = { lan: `${subnets.lan}.1`, wifi: `${subnets.wifi}.1`, modem: `${subnets.modem}.1` };
    this.viewer = { lan: `${subnets.lan}.2`, other: `${subnets.other}.1` };
  }

  namespace(name: Namespace): string {
    return `thea-${this.#id}-${name}`;
  }

  static async create(): Promise<MultiHomedBox> {
    // Four /30s apart from one another in 198.18.0.0/15 (third octet in 0–255, fourth 0–3 used).
    const base = randomInt(64) * 4;
    const subnet = (offset: number) => `198.18.${base + offset}`;
    const box = new MultiHomedBox(randomBytes(3).toString("hex"), { lan: subnet(0), wifi: subnet(1), modem: subnet(2), other: subnet(3) });
    try {
      await box.#setUp();
    } catch (error) {
      await box.remove();
      throw error;
    }
    return box;
  }

  async #setUp(): Promise<void> {
    const ip = (namespace: Namespace, ...args: string[]) => run("ip", ["-n", this.namespace(namespace), ...args]);
    for (const name of NAMESPACES) {
      await run("ip", ["netns", "add", this.namespace(name)]);
      await run("ip", ["netns", "exec", this.namespace(name), "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
      await ip(name, "link", "set", "lo", "up");
    }
    /** A veth between two namespaces, `a` taking .1 and `b` .2 of the /30. */
    const link = async (a: Namespace, aName: string, b: Namespace, bName: string, subnet: string) => {
      await run("ip", ["link", "add", `${aName}${this.#id}`, "netns", this.namespace(a), "type", "veth", "peer", "name", `${bName}${this.#id}`, "netns", this.namespace(b)]);
      await ip(a, "addr", "add", `${subnet}.1/30`, "dev", `${aName}${this.#id}`);
      await ip(b, "addr", "add", `${subnet}.2/30`, "dev", `${bName}${this.#id}`);
      await ip(a, "link", "set", `${aName}${this.#id}`, "up");
      await ip(b, "link", "set", `${bName}${this.#id}`, "up");
    };
    const { lan, wifi, modem, other } = this.#subnets;
    await link("box", "l", "viewer", "v", lan);
    await link("box", "w", "wifi", "g", wifi);
    await link("box", "m", "modem", "g", modem);
    await link("viewer", "o", "void", "g", other);
    // The box's uplinks: the modem is its default route; the Wi-Fi's address leaves by the Wi-Fi.
    await ip("box", "route", "add", "default", "via", `${modem}.2`);
    await ip("box", "route", "add", "default", "via", `${wifi}.2`, "table", "101");
    await ip("box", "rule", "add", "from", `${wifi}.1`, "table", "101");
    await ip("box", "rule", "add", "from", `${modem}.1`, "table", "102");
    await ip("box", "route", "add", "default", "via", `${modem}.2`, "table", "102");
    // The viewer reaches the box's LAN address directly and everything else through void.
    await ip("viewer", "route", "add", "default", "via", `${other}.2`);
  }

  /**
   * A script that runs `executable` (with the script's arguments) in one of the namespaces: the
   * agent's `command`, or Chromium's executable for playwright (its pipe's descriptors go through).
   */
  async runner(namespace: Namespace, executable: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), "thea-netns-"));
    const script = path.join(dir, `in-${namespace}`);
    await writeFile(script, `#!/bin/sh\nexec ip netns exec '${this.namespace(namespace)}' '${executable}' "$@"\n`);
    await chmod(script, 0o755);
    return script;
  }

  /** Removes every namespace, and the veth pairs with them. */
  async remove(): Promise<void> {
    for (const name of NAMESPACES) await run("ip", ["netns", "delete", this.namespace(name)]).catch(() => undefined);
  }
}
