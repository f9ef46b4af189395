import { type Static, Type } from "typebox";

// RFC 6749's own shapes.

export const Token = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal("Bearer"),
    expires_in: Type.Integer({ description: "Seconds until the token expires" }),
    scope: Type.String({ description: "The granted scopes, space-separated" }),
  },
  { title: "Token" },
);

export const OAuthError = Type.Object(
  {
    error: Type.String({ description: "invalid_request, invalid_client, unsupported_grant_type, invalid_scope... (RFC 6749 5.2)" }),
    error_description: Type.String(),
  },
  { title: "OAuthError" },
);

export type Token = Static<typeof Token>;
