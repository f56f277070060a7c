/**
 * How Networking requests are checked: each route's TypeBox schema,
 * compiled by TypeBox itself rather than the server's Ajv, because Ajv
 * there coerces every type (a name of 5 would become "5") and Neutron
 * refuses wrong types. What Neutron does coerce, numeric strings (the CLI
 * sends `mtu` and `provider:segmentation_id` as strings) and boolean
 * strings, is spelt out in the schema with `IntegerLike`/`BooleanLike` and
 * converted by the route. Failures become Neutron's 400 messages.
 */
import type { FastifySchemaCompiler } from "fastify";
import { Type, type TSchema } from "typebox";
import { Compile } from "typebox/compile";
import { ApiError } from "../errors.js";
import { parseBoolean } from "./query.js";

/** An integer, or a string that spells one (as the CLI sends numbers). */
export const IntegerLike = (options: { minimum?: number; maximum?: number } = {}) =>
  Type.Union([Type.Integer(options), Type.String({ pattern: "^\\s*-?[0-9]+\\s*$" })]);

/** A boolean, or a string Neutron reads as one ("true", "False", "1", …). */
export const BooleanLike = () =>
  Type.Union([
    Type.Boolean(),
    Type.String({ pattern: "^(true|false|True|False|TRUE|FALSE|1|0|yes|no|on|off)$" }),
  ]);

/** What every create may name besides the resource's own attributes: its project and tags. */
export const CREATE_ONLY = {
  tenant_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  project_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }))),
};

/** A name or a description: at most 255 characters, as Neutron's columns. */
export const Text255 = () => Type.String({ maxLength: 255 });

/** The value of an IntegerLike attribute, within bounds, or a 400 naming it. */
export function toInteger(
  value: number | string,
  attribute: string,
  bounds: { min?: number; max?: number } = {},
): number {
  const n = typeof value === "number" ? value : Number(value.trim());
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ApiError(
      400,
      `Invalid input for ${attribute}. Reason: '${String(value)}' is not an integer from ${min} to ${max}.`,
    );
  }
  return n;
}

export function toBoolean(value: boolean | string, attribute: string): boolean {
  return typeof value === "boolean" ? value : parseBoolean(value, attribute);
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** "/network/name" → "name"; "/ports/3/fixed_ips/0/ip_address" → "fixed_ips". */
function attributeOf(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && !/^\d+$/.test(p));
  return parts[1] ?? parts[0] ?? "body";
}

/** The message Neutron would give for the most telling of the errors. */
export function describeErrors(errors: readonly SchemaError[], part: string): string {
  const unknown = errors.find((e) => e.keyword === "additionalProperties");
  if (unknown) {
    const names = (unknown.params.additionalProperties as string[] | undefined) ?? [];
    return `Unrecognized attribute(s) '${names.join(", ")}'`;
  }
  const required = errors.find((e) => e.keyword === "required");
  if (required) {
    const names = (required.params.requiredProperties as string[] | undefined) ?? [];
    return `Failed to parse request. Required attribute '${names.join(", ")}' not specified`;
  }
  const first = errors.find((e) => e.keyword !== "boolean" && e.keyword !== "anyOf") ?? errors[0];
  if (!first) return `Invalid ${part}`;
  const attribute = attributeOf(first.instancePath);
  return `Invalid input for ${attribute}. Reason: ${first.instancePath || part} ${first.message}.`;
}

/**
 * The validator compiler of the Networking routes: TypeBox's checker, and
 * an ApiError 400 with Neutron's wording when a request does not pass.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (data: unknown) => {
    if (httpPart === "body" && (data === null || data === undefined)) {
      return { error: new ApiError(400, "Resource body required") };
    }
    if (check.Check(data)) return { value: data };
    const errors = [...check.Errors(data)] as unknown as SchemaError[];
    return { error: new ApiError(400, describeErrors(errors, httpPart ?? "request")) };
  };
};
