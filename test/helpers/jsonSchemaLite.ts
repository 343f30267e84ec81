/**
 * The part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that docs/fleet-api.openapi.json
 * uses, checked against a value, for the test that keeps the document honest: $ref within the
 * document, type (one or several, "null" included), enum, const, required, properties, items,
 * oneOf, minimum, maximum, maxLength, pattern, format date-time. Anything else in a schema is an
 * error here, so the document cannot drift into keywords this check silently ignores.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

const KNOWN = new Set(["$ref", "type", "enum", "const", "required", "properties", "items", "oneOf", "minimum", "maximum", "maxLength", "pattern", "format", "description", "default"]);

const isObject = (value: unknown): value is { [key: string]: Json } => typeof value === "object" && value !== null && !Array.isArray(value);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Follows `#/a/b/c` in `root`. */
export function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`only local references: ${ref}`);
  let at: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(at) || !(key in at)) throw new Error(`unresolved reference ${ref}`);
    at = at[key];
  }
  return at;
}

/** The ways `value` does not match `schema`, each with its JSON path; empty when it matches. */
export function schemaErrors(root: unknown, schema: unknown, value: unknown, path = "$"): string[] {
  if (!isObject(schema)) return [`${path}: the schema is not an object`];
  const unknownKeyword = Object.keys(schema).find((key) => !KNOWN.has(key));
  if (unknownKeyword !== undefined) return [`${path}: keyword ${unknownKeyword} is not checked by jsonSchemaLite`];
  const ref = schema.$ref;
  if (typeof ref === "string") return schemaErrors(root, resolvePointer(root, ref), value, path);
  const errors: string[] = [];
  const type = schema.type;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    const actual = typeOf(value);
    if (!types.some((one) => one === actual || (one === "number" && actual === "integer"))) return [`${path}: ${actual} where ${types.join(" or ")} is documented`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((one) => one === value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ("const" in schema && schema.const !== value) errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (typeof schema.maxLength === "number" && [...value].length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
    if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) errors.push(`${path}: not a date-time`);
  }
  if (isObject(value)) {
    for (const key of Array.isArray(schema.required) ? schema.required : []) {
      if (typeof key === "string" && !(key in value)) errors.push(`${path}: ${key} is required`);
    }
    if (isObject(schema.properties)) {
      for (const [key, sub] of Object.entries(schema.properties)) {
        if (key in value) errors.push(...schemaErrors(root, sub, value[key], `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, index) => errors.push(...schemaErrors(root, schema.items, item, `${path}[${index}]`)));
  }
  if (Array.isArray(schema.oneOf)) {
    const matching = schema.oneOf.filter((sub) => schemaErrors(root, sub, value, path).length === 0).length;
    if (matching !== 1) errors.push(`${path}: matches ${matching} of oneOf's ${schema.oneOf.length} schemas, not exactly one`);
  }
  return errors;
}

export type { Json, Schema };
