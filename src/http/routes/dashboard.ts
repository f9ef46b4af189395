import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { AppError } from "../../services/errors.js";

/** Where `npm run build:dashboard` (run by `npm install`) puts the dashboard's files. */
const DIST = fileURLToPath(new URL("../../../dashboard/dist/", import.meta.url));

/**
 * A Content-Security-Policy for the dashboard page: it loads only its own scripts and styles
 * and talks only to this service, so an injected script could neither run nor send a key away.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/**
 * Serves the wallet dashboard (dashboard/, a Vite app) at /dashboard/. The plugin is
 * encapsulated, so reply.sendFile exists only on these routes.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  if (!existsSync(join(DIST, "index.html"))) {
    app.log.warn({ dist: DIST }, "dashboard not built: /dashboard/ answers 404 until `npm run build:dashboard`");
    const notBuilt = async () => {
      throw new AppError("not_found", "Dashboard not built: run npm run build:dashboard");
    };
    app.get("/dashboard/", notBuilt);
    app.get("/dashboard/*", notBuilt);
    return;
  }
  await app.register(fastifyStatic, {
    root: DIST,
    prefix: "/dashboard/",
    cacheControl: false,
    setHeaders(response, path) {
      response.setHeader("X-Content-Type-Options", "nosniff");
      if (path.endsWith(".html")) {
        // The page must be fetched fresh after a deploy; the files it names carry a content hash.
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("Content-Security-Policy", PAGE_POLICY);
        response.setHeader("Referrer-Policy", "no-referrer");
      } else if (path.includes("/assets/")) {
        response.setHeader("Cache-Control", "public, max-age=31536000, immutable");
      }
    },
  });
  // The static wildcard does not match the bare prefix when the router ignores trailing
  // slashes, so the page itself gets a route (which also answers /dashboard).
  app.get("/dashboard/", (_request, reply) => reply.sendFile("index.html"));
};
