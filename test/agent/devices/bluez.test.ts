import { describe, expect, it } from "vitest";
import { plainSocketAddress, preferPlainSystemBusSocket } from "../../../agent/devices/bluez.ts";

describe("the system bus address given to dbus-next", () => {
  it("names a unix socket path as `socket`, so dbus-next never loads usocket (broken on Node 24)", () => {
    expect(plainSocketAddress(undefined)).toBe("unix:socket=/var/run/dbus/system_bus_socket");
    expect(plainSocketAddress("unix:path=/tmp/x/bus")).toBe("unix:socket=/tmp/x/bus");
    expect(plainSocketAddress("unix:path=/tmp/a,guid=0f;tcp:host=127.0.0.1,port=1")).toBe("unix:socket=/tmp/a,guid=0f;tcp:host=127.0.0.1,port=1");
  });

  it("leaves addresses that are no socket path as they are", () => {
    expect(plainSocketAddress("unix:abstract=/tmp/dbus-x")).toBe("unix:abstract=/tmp/dbus-x");
    expect(plainSocketAddress("tcp:host=127.0.0.1,port=5555")).toBe("tcp:host=127.0.0.1,port=5555");
  });

  it("points node-ble's own bus (read from the environment) at the same socket", () => {
    const env: NodeJS.ProcessEnv = { DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/run/x" };
    preferPlainSystemBusSocket(env);
    expect(env["DBUS_SYSTEM_BUS_ADDRESS"]).toBe("unix:socket=/run/x");
  });
});
