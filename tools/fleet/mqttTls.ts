/**
 * The fleet service's TLS material for the broker, as its MQTT connections (ingest.ts,
 * mqttBoxLink.ts) take it: each of CA, certificate and key either a PEM file's path or its
 * contents, set on the client's options only when given.
 */
import { readFileSync } from "node:fs";
import type { IClientOptions } from "mqtt";

export interface MqttTlsFiles {
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer;
}

export function withTls(options: IClientOptions, tls: MqttTlsFiles): IClientOptions {
  const pem = (value: string | Buffer): Buffer => (typeof value === "string" ? readFileSync(value) : value);
  if (tls.ca) options.ca = pem(tls.ca);
  if (tls.cert) options.cert = pem(tls.cert);
  if (tls.key) options.key = pem(tls.key);
  return options;
}
