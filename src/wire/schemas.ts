/**
 * The wire format, in one place (DESIGN 2): every object the service answers with is a TypeBox
 * schema under src/wire/schemas/, one module per resource, all exported from here. The routes
 * declare them as their responses, the views in src/services/views.ts are typed from them
 * (`Static<typeof ...>`), the OpenAPI document (src/http/openapi.ts) is generated from the
 * routes, and the dashboard imports the types.
 *
 * A schema with a `title` becomes a named component of the OpenAPI document
 * (`#/components/schemas/<title>`); titles are unique. Response objects are left open (no
 * `additionalProperties: false`) so that clients keep working when a field is added; the tests
 * close them to catch a view that sends a field its schema lacks (test/wire/).
 */
export * from "./schemas/batches.js";
export * from "./schemas/common.js";
export * from "./schemas/deposits.js";
export * from "./schemas/games.js";
export * from "./schemas/holds.js";
export * from "./schemas/limits.js";
export * from "./schemas/oauth.js";
export * from "./schemas/transfers.js";
export * from "./schemas/wallets.js";
export * from "./schemas/webhooks.js";
export * from "./schemas/withdrawals.js";
