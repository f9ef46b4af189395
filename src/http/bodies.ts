import type { FastifyInstance } from "fastify";
import { parse } from "lossless-json";
import { invalidFields } from "../services/errors.js";

/**
 * Request bodies are read as bytes and decoded strictly: a body that is not valid UTF-8 is
 * refused, never "repaired" with U+FFFD, because two different byte strings that decode to the
 * same text would name the same wallet or transaction.
 */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * What a JSON number that a double cannot hold exactly becomes outside an amount field: a value
 * of no JSON type, so that every schema refuses it ("must be string", "must be integer"), however
 * large or precise it is. Before, `{"name": 1e400}` became the name "1e400".
 */
export const NOT_A_DOUBLE: unique symbol = Symbol("a JSON number a double cannot hold exactly");

/** JSON is the one body format of every route but the token endpoint. */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseJson(decodeUtf8(body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** Form bodies are OAuth's native encoding; installed in the token route's context only. */
export function installFormParser(app: FastifyInstance): void {
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseForm(decodeUtf8(body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** Strict UTF-8 decoding: bytes that are not UTF-8 are refused as `field`. */
export function decodeUtf8(bytes: Buffer, field = "body"): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalidFields(`Invalid ${field}: not valid UTF-8`, { [field]: "is not valid UTF-8" });
  }
}

/**
 * JSON is parsed without passing amounts through a float: a number whose text a double
 * reproduces exactly stays a number; in an amount field (`amount`, `*_amount`) any other number
 * (more digits than a double holds, "1.10", exponents) stays its exact text, which the amount
 * parser reads or refuses. Plain JSON.parse would silently round 0.123456789012345678 ETH.
 * An empty body parses to nothing: routes that take a body say it is missing, the others accept it.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return parse(text, reviveInexact, exactNumber);
  } catch (error) {
    const reason = error instanceof Error ? error.message : "invalid JSON";
    throw invalidFields(`Malformed JSON body: ${reason}`, { body: "is not valid JSON" });
  }
}

class Inexact {
  constructor(readonly text: string) {}
}

function exactNumber(text: string): number | Inexact {
  const value = Number(text);
  return String(value) === text ? value : new Inexact(text);
}

function reviveInexact(key: string, value: unknown): unknown {
  if (!(value instanceof Inexact)) return value;
  return key === "amount" || key.endsWith("_amount") ? value.text : NOT_A_DOUBLE;
}

/**
 * OAuth's form encoding (RFC 6749 appendix B), decoded strictly: a malformed percent escape is
 * refused instead of kept as literal text, and a parameter given twice is refused (section 3.2).
 */
export function parseForm(text: string, where = "body"): Record<string, string> {
  const form: Record<string, string> = {};
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = decodeFormComponent(equals < 0 ? pair : pair.slice(0, equals), where);
    const value = decodeFormComponent(equals < 0 ? "" : pair.slice(equals + 1), name);
    if (Object.hasOwn(form, name)) throw invalidFields(`Parameter ${name} is given more than once`, { [name]: "is given more than once" });
    form[name] = value;
  }
  return form;
}

/** Percent-decoding that refuses malformed escapes and escapes that are not UTF-8. */
export function decodeFormComponent(component: string, field: string): string {
  try {
    return decodeURIComponent(component.replaceAll("+", " "));
  } catch {
    throw invalidFields(`Malformed percent-encoding in ${field}`, { [field]: "has malformed percent-encoding" });
  }
}

/** `{}`: what many HTTP clients send as "no body". */
export function isEmptyObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
}
