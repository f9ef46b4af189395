import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { OAuthError } from "../../services/credentials.js";
import { OAuthError as OAuthErrorResponse, Token } from "../../wire/schemas.js";
import { decodeFormComponent, decodeUtf8, installFormParser } from "../bodies.js";
import { toErrorBody } from "../errors.js";
import { assertTextField } from "../input.js";

/**
 * OAuth 2.0 client credentials grant (RFC 6749 section 4.4). Errors here use the RFC's own
 * format, `{"error": "invalid_client", "error_description": ...}`, because OAuth client libraries
 * parse exactly that; DESIGN 1.4 asks for it.
 */

const TokenBody = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ maxLength: 64 })),
    client_id: Type.Optional(Type.String({ maxLength: 128 })),
    client_secret: Type.Optional(Type.String({ maxLength: 256 })),
    scope: Type.Optional(Type.String({ maxLength: 256 })),
  },
  // RFC 6749 section 3.2: unknown parameters are ignored, not refused.
  { additionalProperties: true },
);

export const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app;
  installFormParser(app);

  app.post(
    "/o/token/",
    {
      schema: {
        summary: "OAuth 2.0 client credentials token (RFC 6749 4.4)",
        description:
          "Client authentication by HTTP Basic (client_id:client_secret) or client_id and client_secret in the body, never both. " +
          "Errors are in RFC 6749's shape, not the service's envelope.",
        operationId: "issueToken",
        tags: ["OAuth"],
        consumes: ["application/x-www-form-urlencoded", "application/json"],
        body: TokenBody,
        response: {
          200: Token,
          400: OAuthErrorResponse,
          401: OAuthErrorResponse,
          413: OAuthErrorResponse,
          429: OAuthErrorResponse,
          500: OAuthErrorResponse,
        },
      },
      errorHandler: oauthErrorHandler,
    },
    async (request, reply) => {
      const { clientId, clientSecret } = clientCredentials(request.headers.authorization, request.body);
      if (request.body.grant_type === undefined) throw new OAuthError("invalid_request", "grant_type is required");
      if (request.body.grant_type !== "client_credentials")
        throw new OAuthError("unsupported_grant_type", "Only client_credentials is supported");
      const token = await services.credentials.issueToken(clientId, clientSecret, request.body.scope);
      void reply.header("Cache-Control", "no-store").header("Pragma", "no-cache");
      return { access_token: token.accessToken, token_type: "Bearer" as const, expires_in: token.expiresInSeconds, scope: token.scope };
    },
  );
};

/** Client authentication by HTTP Basic or in the body, never both (RFC 6749 section 2.3.1). */
function clientCredentials(
  authorization: string | undefined,
  body: { client_id?: string | undefined; client_secret?: string | undefined },
) {
  const basic = authorization?.match(/^Basic\s+(\S+)$/i)?.[1];
  if (basic !== undefined) {
    if (body.client_secret !== undefined) throw new OAuthError("invalid_request", "Use one client authentication method, not two");
    const decoded = decodeUtf8(Buffer.from(basic, "base64"), "Authorization");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new OAuthError("invalid_client", "Malformed Basic credentials");
    // RFC 6749 section 2.3.1: both parts are form-encoded before they are joined.
    const part = (text: string, field: string) => assertTextField(decodeFormComponent(text, field), field);
    return { clientId: part(decoded.slice(0, colon), "client_id"), clientSecret: part(decoded.slice(colon + 1), "client_secret") };
  }
  if (body.client_id === undefined || body.client_secret === undefined)
    throw new OAuthError("invalid_client", "Client credentials are missing");
  return { clientId: body.client_id, clientSecret: body.client_secret };
}

function oauthErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  void reply.header("Cache-Control", "no-store");
  if (error instanceof OAuthError) {
    if (error.error === "invalid_client") void reply.status(401).header("WWW-Authenticate", 'Basic realm="wallet"');
    else void reply.status(400);
    return reply.send({ error: error.error, error_description: error.description });
  }
  // Everything else a client can cause (too large, malformed, not text, rate limited) keeps its
  // status and is told in the RFC's shape.
  const known = toErrorBody(error);
  if (known) {
    const code = known.status === 401 ? "invalid_client" : "invalid_request";
    return reply.status(known.status).send({ error: code, error_description: known.body.error.message });
  }
  request.log.error({ err: error }, "unexpected error issuing a token");
  return reply.status(500).send({ error: "server_error", error_description: "Internal server error" });
}
