/**
 * serialport's Linux binding treats a read of zero bytes as "nothing yet" and reads again at once
 * (serialport/bindings-cpp issue #162, open). A tty whose far side hung up — a USB adapter pulled,
 * a pseudo-terminal whose master closed — returns zero bytes for ever, so the agent spun a core,
 * grew a chain of promises, and never learnt that the cable was gone.
 *
 * The binding opens ports with O_NONBLOCK and VMIN=1, so "no data yet" is EAGAIN and zero bytes
 * can only mean end of file: the read below reports it as a disconnect, which closes the port
 * (with an error) the same way a vanished device node does.
 */
import { read } from "node:fs";
import { promisify } from "node:util";
import type { AutoDetectTypes, LinuxBindingInterface, LinuxOpenOptions, LinuxPortBinding } from "@serialport/bindings-cpp";
import { SerialPort } from "serialport";

const readAsync = promisify(read);

/** Shaped like the binding's own errors: the stream closes the port on `disconnect`, ignores `canceled`. */
function bindingError(message: string, flag: "disconnect" | "canceled"): Error {
  return Object.assign(new Error(message), { [flag]: true });
}

function isTryAgain(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR";
}

function readable(port: LinuxPortBinding): Promise<void> {
  return new Promise((resolve, reject) => port.poller.once("readable", (error) => (error ? reject(error) : resolve())));
}

async function readUntilHangUp(port: LinuxPortBinding, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    const fd = port.fd;
    if (fd === null) throw bindingError("Port is not open", "canceled");
    let bytesRead: number;
    try {
      ({ bytesRead } = await readAsync(fd, buffer, offset, length, null));
    } catch (error) {
      if (!isTryAgain(error)) throw error; // the stream treats any other read error as a disconnect
      // Closed while the read was in flight: the poller is destroyed, and polling it would crash.
      if (port.fd === null) throw bindingError("Port is not open", "canceled");
      await readable(port);
      continue;
    }
    if (bytesRead === 0) throw bindingError("the device hung up (end of file)", "disconnect");
    return { buffer, bytesRead };
  }
}

/** The platform's binding, with the zero-byte read fixed where it applies (Linux). */
function hangUpAwareBinding(): AutoDetectTypes {
  if (process.platform !== "linux") return SerialPort.binding;
  const linux = SerialPort.binding as LinuxBindingInterface;
  return {
    list: () => linux.list(),
    async open(options: LinuxOpenOptions) {
      const port = await linux.open(options);
      port.read = (buffer, offset, length) => readUntilHangUp(port, buffer, offset, length);
      return port;
    },
  };
}

export const serialBinding = hangUpAwareBinding();
