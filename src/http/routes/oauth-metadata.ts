import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { TENANT_SCOPES } from "../../services/credentials.js";
import { invalidFields } from "../../services/errors.js";
import { responses } from "../schemas.js";

/**
 * OAuth 2.0 Authorization Server Metadata (RFC 8414), so that OAuth client libraries find the
 * token endpoint by themselves. The service issues tokens only for the client credentials grant
 * and has no authorization endpoint, hence no response types.
 */

export const OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server";

const AuthorizationServerMetadata = Type.Object({
  issuer: Type.String({ description: "The service's base URL (PUBLIC_URL, or the Host the request was sent to)" }),
  token_endpoint: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
});

/** A Host header as RFC 3986 allows it: a name or IPv4 address, or a bracketed IPv6 address, and a port. */
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export const oauthMetadataRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { publicUrl } = app.config;
  app.get(OAUTH_METADATA_PATH, { schema: { response: responses({ 200: AuthorizationServerMetadata }) } }, async (request, reply) => {
    const issuer = publicUrl ?? requestOrigin(request);
    void reply.header("cache-control", "public, max-age=3600");
    return {
      issuer,
      token_endpoint: `${issuer}/o/token/`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      scopes_supported: [...TENANT_SCOPES],
      response_types_supported: [],
    };
  });
};

/**
 * The origin the client used: the Host header, over http unless the connection itself is TLS.
 * Behind a proxy that ends TLS, set PUBLIC_URL: forwarded headers are not trusted.
 */
function requestOrigin(request: FastifyRequest): string {
  const host = request.host;
  if (typeof host !== "string" || !HOST.test(host))
    throw invalidFields("The Host header is not a valid host", { Host: "must be a host name or address, with an optional port" });
  return `${request.protocol}://${host.toLowerCase()}`;
}
