/**
 * A vitals monitor speaking HL7 v2 over MLLP to the agent on real TCP sockets: the test plays the
 * monitor with a plain socket (and, for dial-out, the simulator listens), the readings are
 * observed on a real mosquitto.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import type { PeripheralState, ReadingPayload } from "../../../agent/core/api.ts";
import { AgentProcess } from "../../helpers/agentProcess.ts";
import { useBroker } from "../../helpers/brokerFixture.ts";
import { freePort } from "../../helpers/ports.ts";
import { SimulatorProcess } from "../../helpers/simulatorProcess.ts";
import { waitFor } from "../../helpers/wait.ts";

const fixture = useBroker();

async function agentWith(tcp: string): Promise<AgentProcess> {
  const agent = await AgentProcess.start({
    brokerUrl: fixture.broker.url,
    extraYaml: `peripherals:\n  - { id: monitor, driver: hl7-mllp, tcp: { ${tcp} } }`,
  });
  fixture.cleanup(() => agent.stop());
  // The HL7 listener may be up before the broker connection: a command sent before the agent's
  // subscription reached the broker is lost (commands are not retained). The agent subscribes
  // before it publishes `online` on the same connection, so `online` means subscribed.
  await fixture.watcher.next(`thea/v1/${agent.deviceId}/status`, (m) => (m.json() as { online: boolean }).online);
  return agent;
}

/** An agent listening for a monitor, and the monitor connected to it. */
async function monitorDialsAgent(): Promise<{ agent: AgentProcess; monitor: Monitor }> {
  const port = await freePort();
  const agent = await agentWith(`listen: "127.0.0.1:${port}"`);
  const monitor = await Monitor.connect(port);
  fixture.cleanup(() => monitor.close());
  return { agent, monitor };
}

/** A monitor's connection: send MLLP-framed messages, read MLLP-framed answers. */
class Monitor {
  readonly #socket: net.Socket;
  #received = Buffer.alloc(0);
  readonly #waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      for (const waiter of this.#waiters) waiter();
    });
  }

  /** Connects, retrying until the agent listens (it starts listening shortly after start-up). */
  static connect(port: number): Promise<Monitor> {
    return waitFor("the agent's MLLP listener", 15_000, (done) => {
      let stopped = false;
      const attempt = () => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => done(new Monitor(socket)));
        socket.once("error", () => {
          if (!stopped) setImmediate(attempt);
        });
      };
      attempt();
      return () => {
        stopped = true;
      };
    });
  }

  /** Sends one message and resolves with the text of the next answer. */
  async send(message: string): Promise<string> {
    const answer = waitFor<string>("an MLLP answer", 10_000, (done) => {
      const check = () => {
        const end = this.#received.indexOf(Buffer.from([0x1c, 0x0d]));
        if (this.#received[0] !== 0x0b || end < 0) return;
        const text = this.#received.subarray(1, end).toString("utf8");
        this.#received = this.#received.subarray(end + 2);
        done(text);
      };
      this.#waiters.add(check);
      check();
      return () => this.#waiters.delete(check);
    });
    this.#socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(message), Buffer.from([0x1c, 0x0d])]));
    return answer;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** An ORU^R01 as a bedside monitor sends it (IHE PCD-01), with known values. */
function oru(controlId: string, obxFlag = ""): string {
  const obx = (n: number, code: string, value: string, unit: string) =>
    `OBX|${n}|NM|${code}|1.0.1.${n}|${value}|${unit}||${obxFlag}|||R|||20261123080006+0000`;
  return [
    `MSH|^~\\&|MONITOR^0000000000000001^EUI-64|WARD|THEA|CLINIC|20261123080006+0000||ORU^R01^ORU_R01|${controlId}|P|2.6`,
    "PID|||PAT-123^^^HOSP^MR||Nguyen^An",
    "OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20261123080006+0000",
    obx(1, "150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", "262688^MDC_DIM_PERCENT^MDC"),
    obx(2, "149530^MDC_PULS_OXIM_PULS_RATE^MDC", "72", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
    obx(3, "150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "121", "266016^MDC_DIM_MMHG^MDC"),
    obx(4, "150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "76", "266016^MDC_DIM_MMHG^MDC"),
    obx(5, "150364^MDC_TEMP_BODY^MDC", "98.6", "266560^MDC_DIM_FAHR^MDC"),
    obx(6, "999999^MDC_UNKNOWN_THING^MDC", "5", "262688^MDC_DIM_PERCENT^MDC"),
  ].join("\r");
}

const msa = (ack: string) => ack.split("\r").find((segment) => segment.startsWith("MSA|"))?.split("|") ?? [];

describe("hl7-mllp, the monitor dialling the box", () => {
  it("acknowledges an ORU^R01 with AA and publishes its observations as one spot reading", async () => {
    const { agent, monitor } = await monitorDialsAgent();
    const readingTopic = `thea/v1/${agent.deviceId}/peripherals/monitor/reading`;
    const reading = fixture.watcher.next(readingTopic);

    const ack = await monitor.send(oru("MSG0001"));
    expect(msa(ack).slice(0, 3)).toEqual(["MSA", "AA", "MSG0001"]);
    // Sender and receiver swapped in the answer's MSH.
    expect(ack.startsWith("MSH|^~\\&|THEA|CLINIC|MONITOR^0000000000000001^EUI-64|WARD|")).toBe(true);

    const payload = (await reading).json() as ReadingPayload;
    expect(payload).toMatchObject({ driver: "hl7-mllp", kind: "spot", time: "2026-11-23T08:00:06+00:00" });
    expect(payload.observations.map((o) => `${o.type}=${o.value}${o.unit}`)).toEqual([
      "spo2=97%",
      "pulse_rate=72/min",
      "systolic_bp=121mm[Hg]",
      "diastolic_bp=76mm[Hg]",
      "body_temperature=37Cel", // 98.6 °F converted
      "device_numeric=5%", // a code not in the table: published as sent, and counted
    ]);
    expect(payload.observations.at(-1)).toEqual({ type: "device_numeric", value: 5, unit: "%", code: "999999", codeName: "MDC_UNKNOWN_THING", codeSystem: "MDC" });
    expect(JSON.stringify(payload)).not.toMatch(/PAT-123|Nguyen/); // no patient identifiers on the wire
    const { body } = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/peripherals.list`, "{}");
    expect((body as { result: { peripherals: PeripheralState[] } }).result.peripherals[0]).toMatchObject({ readings: 1, unmappedObservations: 1 });
  });

  it("rejects what it cannot take with AR or AE and a reason, and keeps going", async () => {
    const { agent, monitor } = await monitorDialsAgent();

    const adt = await monitor.send("MSH|^~\\&|SIMMON|SIM|THEA|CLINIC|20261123080000||ADT^A01|ADT1|P|2.6\rPID|||1");
    expect(msa(adt).slice(0, 4)).toEqual(["MSA", "AR", "ADT1", "unsupported message type ADT^A01; only ORU^R01 is accepted"]);
    const empty = await monitor.send("MSH|^~\\&|SIMMON|SIM|THEA|CLINIC|20261123080000||ORU^R01|ORU9|P|2.6\rOBR|1");
    expect(msa(empty).slice(0, 4)).toEqual(["MSA", "AE", "ORU9", "no OBX segment in ORU^R01"]);
    const garbage = await monitor.send("this is not HL7");
    expect(msa(garbage)[1]).toBe("AR");

    expect(msa(await monitor.send(oru("MSG0002")))[1]).toBe("AA");
    const { body } = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/peripherals.list`, "{}");
    const [state] = (body as { result: { peripherals: PeripheralState[] } }).result.peripherals;
    expect(state).toMatchObject({ connected: true, readings: 1 });
    expect(state?.badFrames).toBeGreaterThanOrEqual(2);
  });

  it("never publishes observations the monitor marks DEMO, but counts them", async () => {
    const { agent, monitor } = await monitorDialsAgent();
    const readingTopic = `thea/v1/${agent.deviceId}/peripherals/monitor/reading`;
    const published: string[] = [];
    const collect = (topic: string, payload: Buffer) => {
      if (topic === readingTopic) published.push(payload.toString());
    };
    fixture.watcher.client.on("message", collect);
    fixture.cleanup(() => void fixture.watcher.client.off("message", collect));
    await fixture.watcher.client.subscribeAsync(readingTopic, { qos: 1 });

    expect(msa(await monitor.send(oru("DEMO1", "DEMO")))[1]).toBe("AA");
    // A real reading after it: once that one is seen, the demo one would have been seen before it.
    const real = fixture.watcher.next(readingTopic);
    expect(msa(await monitor.send(oru("REAL1")))[1]).toBe("AA");
    await real;
    expect(published).toHaveLength(1);
    const { body } = await fixture.watcher.request(`thea/v1/${agent.deviceId}/cmd/peripherals.list`, "{}");
    expect((body as { result: { peripherals: PeripheralState[] } }).result.peripherals[0]).toMatchObject({ readings: 1, demoReadings: 1, unmappedObservations: 1 });
  });
});

describe("hl7-mllp, the box dialling the monitor", () => {
  it("connects to a listening monitor and publishes its readings", async () => {
    const port = await freePort();
    const simulator = await SimulatorProcess.start("hl7-mllp", ["--tcp-listen", `127.0.0.1:${port}`]);
    fixture.cleanup(() => simulator.stop());
    const agent = await agentWith(`connect: "127.0.0.1:${port}"`);
    const reading = await fixture.watcher.next(`thea/v1/${agent.deviceId}/peripherals/monitor/reading`);
    expect((reading.json() as ReadingPayload).observations.length).toBeGreaterThan(3);
  });
});
