import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import type { FastifyInstance } from "fastify";
import type { TSchema } from "typebox";

/**
 * The OpenAPI document as a test oracle (DESIGN 3: "every response of the HTTP suites validated
 * against the OpenAPI document"). `Contract.of(app)` reads the app's own document; `problem()`
 * says what is wrong with one answer (status, media type, body), `eventProblem()` with one event
 * payload against the document's `webhooks`.
 *
 * Schemas are checked *closed*: every object schema that does not say otherwise gets
 * `additionalProperties: false`, so a property the document does not name is an error. The
 * document itself leaves response objects open, for clients' forward compatibility.
 */

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (value: Json): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

const DOCUMENT_ID = "https://wallet.test/openapi.json";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Every object schema without an `additionalProperties` of its own becomes closed. */
export function closed(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!isObject(schema)) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  const isObjectSchema = schema.type === "object" || (schema.properties !== undefined && !Array.isArray(schema.type));
  if (isObjectSchema && !("additionalProperties" in schema) && !("unevaluatedProperties" in schema)) copy.additionalProperties = false;
  return copy;
}

/** An Ajv for OpenAPI 3.1 schemas (JSON Schema 2020-12) with the formats the wire uses. */
export function schemaValidator(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("uuid", UUID);
  ajv.addFormat("date-time", DATE_TIME);
  return ajv;
}

/** Validates a value against a TypeBox schema of src/wire/, closed. */
export function wireProblem(schema: TSchema, value: unknown): string | undefined {
  const validate = compiledWire(schema);
  return validate(value) ? undefined : describe(validate);
}

const wireValidators = new WeakMap<object, ValidateFunction>();
const wireAjv = schemaValidator();
function compiledWire(schema: TSchema): ValidateFunction {
  let validate = wireValidators.get(schema);
  if (!validate) {
    validate = wireAjv.compile(closed(JSON.parse(JSON.stringify(schema))) as object);
    wireValidators.set(schema, validate);
  }
  return validate;
}

function describe(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || "(root)"} ${error.message}${error.params ? ` ${JSON.stringify(error.params)}` : ""}`)
    .join("; ");
}

/** `~` and `/` escaped for a JSON pointer. */
const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

interface Operation {
  template: string;
  operation: JsonObject;
}

interface PathPattern {
  template: string;
  pattern: RegExp;
  parameters: number;
  item: JsonObject;
}

export interface Answer {
  method: string;
  /** The request URL as sent (path and query). */
  url: string;
  status: number;
  contentType: string | undefined;
  body: string;
}

export class Contract {
  readonly document: JsonObject;
  readonly #ajv = schemaValidator();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #paths: PathPattern[];

  private constructor(document: JsonObject) {
    this.document = document;
    this.#ajv.addSchema(closed(document) as object, DOCUMENT_ID);
    const paths = isObject(document.paths) ? document.paths : {};
    this.#paths = Object.entries(paths)
      .filter((entry): entry is [string, JsonObject] => isObject(entry[1]))
      .map(([template, item]) => {
        const source = template
          .replace(/\/$/, "")
          .split(/(\{[^}]+\})/)
          .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
          .join("");
        return { template, pattern: new RegExp(`^${source}/?$`), parameters: (template.match(/\{/g) ?? []).length, item };
      })
      // Fixed paths win over parameters, as in the router (`/wallets/balances/` before `/wallets/{id}/`).
      .sort((left, right) => left.parameters - right.parameters);
  }

  static #byText = new Map<string, Contract>();
  static #byApp = new WeakMap<FastifyInstance, Contract>();

  /** The contract of an app: its own generated document. The app must be ready. */
  static of(app: FastifyInstance): Contract {
    let contract = Contract.#byApp.get(app);
    if (!contract) {
      contract = Contract.from(app.swagger() as unknown as JsonObject);
      Contract.#byApp.set(app, contract);
    }
    return contract;
  }

  /** One contract per distinct document (test files build many apps with the same one). */
  static from(document: JsonObject): Contract {
    const text = JSON.stringify(document);
    let contract = Contract.#byText.get(text);
    if (!contract) {
      contract = new Contract(JSON.parse(text) as JsonObject);
      Contract.#byText.set(text, contract);
    }
    return contract;
  }

  /** The operation of the document a request names, if any (HEAD is its GET without a body). */
  operation(method: string, url: string): Operation | undefined {
    const path = (url.split("?")[0] ?? "/").split("#")[0] ?? "/";
    const verb = method === "HEAD" ? "get" : method.toLowerCase();
    for (const entry of this.#paths) {
      const operation = entry.item[verb];
      if (isObject(operation) && entry.pattern.test(path)) return { template: entry.template, operation };
    }
    return undefined;
  }

  /** What is wrong with an answer according to the document, or undefined. */
  problem(answer: Answer): string | undefined {
    const found = this.operation(answer.method, answer.url);
    const mediaType = answer.contentType?.split(";")[0]?.trim().toLowerCase();
    if (!found) {
      // Not an operation: a page (the dashboard, /docs/) or no route at all. Its errors are
      // still in the envelope.
      if (answer.status < 400 || answer.method === "HEAD") return undefined;
      if (mediaType !== "application/json") return `${answer.status} answered as ${answer.contentType}, not the JSON error envelope`;
      return this.#bodyProblem(`${pointer("components", "schemas", "Error")}`, answer.body, `${answer.status} (no operation)`);
    }
    const where = `${answer.method} ${found.template} ${answer.status}`;
    const responses = isObject(found.operation.responses) ? found.operation.responses : {};
    const key = [String(answer.status), `${String(answer.status)[0]}XX`, "default"].find((candidate) => isObject(responses[candidate]));
    if (key === undefined) return `${where}: status not documented (documented: ${Object.keys(responses).join(", ")})`;
    const response = responses[key] as JsonObject;
    if (answer.method === "HEAD" || !isObject(response.content)) return undefined;
    if (mediaType === undefined || !isObject(response.content[mediaType])) {
      return `${where}: media type ${answer.contentType} not documented (documented: ${Object.keys(response.content).join(", ")})`;
    }
    if (mediaType !== "application/json") return undefined;
    const method = answer.method.toLowerCase();
    return this.#bodyProblem(
      pointer("paths", found.template, method, "responses", key, "content", mediaType, "schema"),
      answer.body,
      where,
    );
  }

  /** What is wrong with a webhook or stream payload, against `webhooks[type]` (closed). */
  eventProblem(payload: unknown, options: { stream?: boolean } = {}): string | undefined {
    if (!isObject(payload) || typeof payload.type !== "string") return "an event is an object with a type";
    const { seq, ...rest } = payload;
    if (options.stream) {
      const streamProblem = this.#valueProblem(pointer("components", "schemas", "StreamEvent"), payload, "stream event");
      if (streamProblem) return streamProblem;
      if (typeof seq !== "number") return "a stream event carries its seq";
    }
    const hooks = isObject(this.document.webhooks) ? this.document.webhooks : {};
    if (!isObject(hooks[payload.type])) return `event type ${payload.type} is not under webhooks`;
    const body = options.stream ? rest : payload;
    const at = pointer("webhooks", payload.type, "post", "requestBody", "content", "application/json", "schema");
    return this.#valueProblem(at, body, `webhook ${payload.type}`);
  }

  #bodyProblem(at: string, text: string, where: string): string | undefined {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return `${where}: the body is not JSON: ${text.slice(0, 120)}`;
    }
    return this.#valueProblem(at, value, where);
  }

  /** Compiles the event schemas ahead, so that checking the first event costs no compile time. */
  prepareEvents(): this {
    this.#validator(pointer("components", "schemas", "StreamEvent"));
    const hooks = isObject(this.document.webhooks) ? this.document.webhooks : {};
    for (const type of Object.keys(hooks)) {
      this.#validator(pointer("webhooks", type, "post", "requestBody", "content", "application/json", "schema"));
    }
    return this;
  }

  #validator(at: string): ValidateFunction {
    let validate = this.#validators.get(at);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: `${DOCUMENT_ID}#/${at}` });
      this.#validators.set(at, validate);
    }
    return validate;
  }

  #valueProblem(at: string, value: unknown, where: string): string | undefined {
    const validate = this.#validator(at);
    if (validate(value)) return undefined;
    return `${where}: ${describe(validate)} in ${JSON.stringify(value).slice(0, 300)}`;
  }
}

/**
 * A test-only strict mode for the app under test: every object a route hands to the serializer
 * is checked against that route's response schema for its status, closed. Fastify's serializer
 * silently drops a property its schema lacks, so without this a field added to a view only
 * would vanish from HTTP answers unnoticed. A violation is answered as a 500 and listed in the
 * returned array (startApp's close() fails the test file on any).
 */
export function installStrictResponses(app: FastifyInstance): string[] {
  const violations: string[] = [];
  app.addHook("preSerialization", async (request, reply, payload) => {
    const responses = request.routeOptions.schema?.response as Record<string, unknown> | undefined;
    const schema = responses?.[String(reply.statusCode)];
    if (!isObject(schema) || isObject(schema.content) || payload === null || typeof payload !== "object") return payload;
    const problem = wireProblem(schema as TSchema, JSON.parse(JSON.stringify(payload)));
    if (problem) {
      const violation = `${request.method} ${request.routeOptions.url} ${reply.statusCode}: the answer does not match its schema (closed): ${problem}`;
      violations.push(violation);
      throw new Error(violation);
    }
    return payload;
  });
  return violations;
}
