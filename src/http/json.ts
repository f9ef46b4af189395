import type { FastifyInstance } from "fastify";
import { parse } from "lossless-json";

/**
 * JSON bodies are parsed without passing amounts through a float: a number whose text a float
 * reproduces exactly stays a number, any other (more digits than a double holds, "1.10",
 * exponents) stays its exact text, which the amount parser reads or refuses. Plain JSON.parse
 * would silently round 0.123456789012345678 ETH.
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === "") {
      done(Object.assign(new SyntaxError("Request body is empty"), { statusCode: 400 }), undefined);
      return;
    }
    try {
      done(null, parse(text, undefined, exactNumber));
    } catch (error) {
      const message = error instanceof Error ? error.message : "invalid JSON";
      done(Object.assign(new SyntaxError(message), { statusCode: 400 }), undefined);
    }
  });
}

function exactNumber(text: string): number | string {
  const value = Number(text);
  return String(value) === text ? value : text;
}
