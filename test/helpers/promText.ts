/**
 * Prometheus' text exposition format (0.0.4) read back, for the fleet's /metrics tests: each
 * sample's name, labels (unescaped) and value, and each metric family's TYPE. Only what
 * prom-client writes: no timestamps, no exemplars.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ")) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) {
      types.set(type[1], type[2]);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match?.[1] || match[3] === undefined) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    samples.push({ name: match[1], labels: labelsOf(match[2] ?? ""), value: valueOf(match[3]) });
  }
  return { samples, types };
}

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  let consumed = 0;
  for (let match = LABEL.exec(text); match !== null; match = LABEL.exec(text)) {
    const [whole, name, value] = match;
    if (name === undefined || value === undefined) break;
    labels[name] = value.replace(/\\(.)/g, (_, escaped: string) => (escaped === "n" ? "\n" : escaped));
    consumed += whole.length;
  }
  if (consumed !== text.length) throw new Error(`labels not in the text format: ${JSON.stringify(text)}`);
  return labels;
}

function valueOf(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const value = Number(text);
  // Prometheus reads NaN in any case (Go's ParseFloat); prom-client writes "Nan".
  if (Number.isNaN(value) && text.toLowerCase() !== "nan") throw new Error(`not a sample value: ${text}`);
  return value;
}

/** The samples of one metric, by their label `by` (device_id, state, reason…). */
export function valuesBy(exposition: Exposition, name: string, by: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const sample of exposition.samples) {
    if (sample.name !== name) continue;
    const key = sample.labels[by];
    if (key === undefined) throw new Error(`${name} has a sample without ${by}`);
    values[key] = sample.value;
  }
  return values;
}
