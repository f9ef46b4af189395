import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The dashboard is a static single-page app that the service itself serves at /dashboard/
 * (src/http/routes/dashboard.ts), so it talks to the API on the same origin and needs no proxy.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/dashboard/",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
  },
});
