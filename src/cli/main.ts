import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { AppError } from "../services/errors.js";
import { createServices, type Services } from "../services/services.js";
import { verifyLedger } from "../services/verify.js";
import { openStore } from "../store/open.js";
import type { Scope } from "../store/store.js";

/**
 * The operator's command line (DESIGN 1.6). Every command prints exactly one JSON object on
 * stdout, so scripts can pipe it into jq; failures print `{"error": ...}` and exit non-zero.
 */

const USAGE = `usage:
  cli tenants create --name NAME
  cli api-keys create --tenant TENANT_ID --scopes read[,write]
  cli api-keys revoke --id KEY_ID
  cli tenants set-policy --tenant TENANT_ID --unknown-rollback succeed|not_found
  cli system-keys create --scopes deposits[,withdrawals]
  cli verify`;

type Command = (services: Services, options: Record<string, string | undefined>) => Promise<{ output: object; exitCode: number }>;

const ok = (output: object) => ({ output, exitCode: 0 });

const COMMANDS: Record<string, Command> = {
  "tenants create": async ({ credentials }, { name }) => {
    const tenant = await credentials.createTenant(required(name, "--name"));
    return ok({ tenant_id: tenant.tenantId, api_key: tenant.apiKey, client_id: tenant.clientId, client_secret: tenant.clientSecret });
  },
  "api-keys create": async ({ credentials }, { tenant, scopes }) =>
    ok(keyView(await credentials.createApiKey(required(tenant, "--tenant"), scopeList(required(scopes, "--scopes"))))),
  "api-keys revoke": async ({ credentials }, { id }) => ok(await credentials.revokeApiKey(required(id, "--id"))),
  "system-keys create": async ({ credentials }, { scopes }) =>
    ok(keyView(await credentials.createSystemKey(scopeList(required(scopes, "--scopes"))))),
  "tenants set-policy": async ({ store }, { tenant, "unknown-rollback": policy }) => {
    const tenantId = required(tenant, "--tenant");
    if (policy !== "succeed" && policy !== "not_found")
      throw new AppError("invalid_request", "--unknown-rollback must be succeed or not_found");
    if (!(await store.setUnknownRollbackPolicy(tenantId, policy))) throw new AppError("not_found", "Tenant not found");
    return ok({ tenant_id: tenantId, unknown_rollback: policy });
  },
  verify: async ({ store }) => {
    const report = await verifyLedger(store);
    return { output: report, exitCode: report.ok ? 0 : 1 };
  },
};

const keyView = (key: { id: string; apiKey: string }) => ({ id: key.id, api_key: key.apiKey });

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new AppError("invalid_request", `${flag} is required`);
  return value;
}

const scopeList = (text: string) => text.split(",").map((scope) => scope.trim()) as Scope[];

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      tenant: { type: "string" },
      scopes: { type: "string" },
      id: { type: "string" },
      "unknown-rollback": { type: "string" },
    },
  });
  const command = COMMANDS[positionals.join(" ")];
  if (!command) throw new AppError("invalid_request", `unknown command: ${positionals.join(" ") || "(none)"}`, { usage: USAGE });
  const config = loadConfig();
  const store = await openStore(config.databaseUrl);
  try {
    const { output, exitCode } = await command(await createServices(store, config), values);
    process.stdout.write(`${JSON.stringify(output)}\n`);
    return exitCode;
  } finally {
    await store.close();
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  const known = error instanceof AppError;
  const message = error instanceof Error ? error.message : String(error);
  process.stdout.write(
    `${JSON.stringify({ error: { code: known ? error.code : "server_error", message, details: known ? error.details : {} } })}\n`,
  );
  process.exitCode = 2;
}
