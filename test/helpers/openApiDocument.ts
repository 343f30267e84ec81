/**
 * docs/fleet-api.openapi.json as the tests read it: its nodes, references followed, an operation's
 * parameters, and whether an answer is one the document gives (status, content type, schema).
 * Shared by test/tools/fleet/openapi.test.ts (the GET routes) and openapiActions.test.ts (the box
 * page's routes, and no route undocumented).
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { resolvePointer, schemaErrors } from "./jsonSchemaLite.ts";

const DOCUMENT_FILE = new URL("../../docs/fleet-api.openapi.json", import.meta.url);
export const document: unknown = JSON.parse(readFileSync(DOCUMENT_FILE, "utf8"));

export type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && !Array.isArray(value);
export const node = (value: unknown, what: string): Node => {
  if (!isNode(value)) throw new Error(`${what} is not an object`);
  return value;
};
/** A node, its $ref followed if it is one. */
export const deref = (value: unknown, what: string): Node => {
  const found = node(value, what);
  return typeof found.$ref === "string" ? node(resolvePointer(document, found.$ref), found.$ref) : found;
};

export const doc = node(document, "the document");
export const paths = node(doc.paths, "paths");

export interface Parameter {
  name: string;
  in: string;
  required: boolean;
  schema: Node;
}
export const parametersOf = (operation: Node): Parameter[] =>
  (Array.isArray(operation.parameters) ? operation.parameters : []).map((raw, index) => {
    const parameter = deref(raw, `parameter ${index}`);
    return { name: String(parameter.name), in: String(parameter.in), required: parameter.required === true, schema: node(parameter.schema, `${String(parameter.name)}'s schema`) };
  });

export interface Reply {
  status: number;
  /** The content-type header. */
  type: string;
  body: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** The documented response for the reply's status, its content type among the documented ones, its JSON of the documented schema. */
export function expectDocumented(operation: Node, reply: Reply, what: string): void {
  const responses = node(operation.responses, `${what}'s responses`);
  const documented = responses[String(reply.status)];
  expect(documented, `${what} answered ${reply.status}, which is not documented (${reply.body.slice(0, 200)})`).toBeDefined();
  const response = deref(documented, `${what} ${reply.status}`);
  const content = node(response.content, `${what} ${reply.status}'s content`);
  const mediaType = Object.keys(content).find((type) => reply.type.startsWith(type.split(";")[0] ?? type));
  expect(mediaType, `${what} ${reply.status} sent ${reply.type}; documented: ${Object.keys(content).join(", ")}`).toBeDefined();
  // A documented header, when sent, has its documented shape.
  for (const [name, header] of Object.entries(response.headers === undefined ? {} : node(response.headers, `${what} headers`))) {
    const value = reply.headers?.[name.toLowerCase()];
    if (typeof value === "string") expect(schemaErrors(document, node(header, name).schema, value), `${what} ${name}`).toEqual([]);
  }
  if (mediaType === undefined || !mediaType.startsWith("application/json")) return;
  const schema = node(content[mediaType], mediaType).schema;
  expect(schemaErrors(document, schema, JSON.parse(reply.body)), `${what} ${reply.status}`).toEqual([]);
}

/** The path template a request path is an instance of, if the document names one. */
export function templateOf(pathname: string): string | undefined {
  return Object.keys(paths).find((template) => new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname));
}
