/**
 * Two hosts on a wire of their own: two network namespaces made for the test, joined by a veth
 * pair, for what loopback cannot show. A process killed on loopback still has its kernel answer
 * for it (a FIN or a reset); `cut()` takes the device's link down instead, so its packets stop
 * without a word, as when a monitor loses power or its network cable is pulled. Nothing leaves
 * the two namespaces. Needs CAP_NET_ADMIN (root).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export type Side = "box" | "device";

export class VethWire {
  readonly address: Record<Side, string>;
  readonly #namespace: Record<Side, string>;
  readonly #link: Record<Side, string>;

  private constructor(id: string, subnet: string) {
    this.#namespace = { box: `thea-${id}-box`, device: `thea-${id}-dev` };
    this.#link = { box: `th${id}b`, device: `th${id}d` };
    this.address = { box: `${subnet}.1`, device: `${subnet}.2` };
  }

  /** A fresh pair of namespaces on a /30 of 198.18.0.0/15, the range set aside for tests (RFC 2544). */
  static async create(): Promise<VethWire> {
    const wire = new VethWire(randomBytes(3).toString("hex"), `198.18.${randomInt(256)}`);
    try {
      await wire.#setUp();
    } catch (error) {
      await wire.remove();
      throw error;
    }
    return wire;
  }

  async #setUp(): Promise<void> {
    for (const side of ["box", "device"] as const) await run("ip", ["netns", "add", this.#namespace[side]]);
    await run("ip", ["link", "add", this.#link.box, "netns", this.#namespace.box, "type", "veth", "peer", "name", this.#link.device, "netns", this.#namespace.device]);
    for (const side of ["box", "device"] as const) {
      await run("ip", ["-n", this.#namespace[side], "addr", "add", `${this.address[side]}/30`, "dev", this.#link[side]]);
      await run("ip", ["-n", this.#namespace[side], "link", "set", this.#link[side], "up"]);
    }
  }

  /** Runs a command on one of the two hosts. */
  spawn(side: Side, command: string, args: readonly string[]): ChildProcess {
    return spawn("ip", ["netns", "exec", this.#namespace[side], command, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  }

  /** The device's cable comes out: its link goes down and nothing it had open says goodbye. */
  async cut(): Promise<void> {
    await run("ip", ["-n", this.#namespace.device, "link", "set", this.#link.device, "down"]);
  }

  /** Removes both namespaces, and the pair with them. */
  async remove(): Promise<void> {
    for (const side of ["box", "device"] as const) await run("ip", ["netns", "delete", this.#namespace[side]]).catch(() => undefined);
  }
}
