import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { createRuntime } from "../runtime.js";
import { AppError } from "../services/errors.js";
import type { Services } from "../services/services.js";
import type { Scope } from "../store/store.js";

/**
 * The operator's command line (DESIGN 1.6). Every command prints exactly one JSON object on
 * stdout, so scripts can pipe it into jq; failures print `{"error": ...}` and exit non-zero:
 * 2 for a usage error (an unknown command or option, a missing or invalid value), 1 for a
 * command that could not be done (or a ledger that does not verify). `help` and `--help` print
 * the usage on stderr and nothing on stdout.
 */

const USAGE = `usage: npm run -s cli -- COMMAND [OPTIONS]   (DATABASE_URL names the database)
  tenants create --name NAME                        {tenant_id, api_key, client_id, client_secret}
  tenants list                                      {tenants: [{tenant_id, name, created_at, unknown_rollback, limit_cooling_off_seconds}]}
  tenants set-policy --tenant TENANT_ID --unknown-rollback succeed|not_found
  tenants set-limit-cooling-off --tenant TENANT_ID --hours 0..720   {tenant_id, limit_cooling_off_seconds}
  api-keys create --tenant TENANT_ID --scopes read[,write]   {id, api_key}
  api-keys list --tenant TENANT_ID                  {tenant_id, api_keys: [{id, scopes, created_at, revoked_at}]}
  api-keys revoke --id KEY_ID                       {id, revoked: true}
  clients list --tenant TENANT_ID                   {tenant_id, clients: [{client_id, scopes, created_at}]}
  clients rotate-secret --client CLIENT_ID          {client_id, client_secret}: the old secret stops working
  system-keys create --scopes deposits[,withdrawals]   {id, api_key}
  verify                                            {ok, ...}; exit 1 when not ok
  help                                              this text, on stderr
Each command prints one JSON object on stdout. Exit status: 0 done, 1 failed, 2 usage error.`;

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
  "tenants list": async ({ operator }) => {
    const tenants = await operator.listTenants();
    return ok({
      tenants: tenants.map((tenant) => ({
        tenant_id: tenant.id,
        name: tenant.name,
        created_at: tenant.createdAt,
        unknown_rollback: tenant.unknownRollback,
        limit_cooling_off_seconds: tenant.limitCoolingOffSeconds,
      })),
    });
  },
  // Never a secret or its hash: ids, scopes and dates only.
  "api-keys list": async ({ operator }, { tenant }) => {
    const tenantId = required(tenant, "--tenant");
    const keys = await operator.listApiKeys(tenantId);
    return ok({
      tenant_id: tenantId,
      api_keys: keys.map((key) => ({ id: key.id, scopes: key.scopes, created_at: key.createdAt, revoked_at: key.revokedAt })),
    });
  },
  "clients list": async ({ operator }, { tenant }) => {
    const tenantId = required(tenant, "--tenant");
    const clients = await operator.listClients(tenantId);
    return ok({
      tenant_id: tenantId,
      clients: clients.map((client) => ({ client_id: client.clientId, scopes: client.scopes, created_at: client.createdAt })),
    });
  },
  "clients rotate-secret": async ({ credentials }, { client }) => {
    const rotated = await credentials.rotateClientSecret(required(client, "--client"));
    return ok({ client_id: rotated.clientId, client_secret: rotated.clientSecret });
  },
  "system-keys create": async ({ credentials }, { scopes }) =>
    ok(keyView(await credentials.createSystemKey(scopeList(required(scopes, "--scopes"))))),
  "tenants set-policy": async ({ operator }, { tenant, "unknown-rollback": policy }) => {
    const tenantId = required(tenant, "--tenant");
    if (policy !== "succeed" && policy !== "not_found")
      throw new AppError("invalid_request", "--unknown-rollback must be succeed or not_found");
    await operator.setUnknownRollbackPolicy(tenantId, policy);
    return ok({ tenant_id: tenantId, unknown_rollback: policy });
  },
  // How long a raised or removed safer-gambling limit waits before it applies (24 hours by default).
  "tenants set-limit-cooling-off": async ({ operator }, { tenant, hours }) => {
    const tenantId = required(tenant, "--tenant");
    const text = required(hours, "--hours");
    if (!/^[0-9]{1,3}$/.test(text) || Number(text) > MAX_COOLING_OFF_HOURS) {
      throw new AppError("invalid_request", `--hours must be a whole number of hours from 0 to ${MAX_COOLING_OFF_HOURS}`);
    }
    const seconds = Number(text) * 3600;
    await operator.setLimitCoolingOff(tenantId, seconds);
    return ok({ tenant_id: tenantId, limit_cooling_off_seconds: seconds });
  },
  verify: async (services) => {
    const report = await services.verify();
    return { output: report, exitCode: report.ok ? 0 : 1 };
  },
};

/** 30 days: a longer wait would keep a raised limit from ever applying in practice. */
const MAX_COOLING_OFF_HOURS = 720;

const keyView = (key: { id: string; apiKey: string }) => ({ id: key.id, api_key: key.apiKey });

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new AppError("invalid_request", `${flag} is required`);
  return value;
}

const scopeList = (text: string) => text.split(",").map((scope) => scope.trim()) as Scope[];

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        tenant: { type: "string" },
        scopes: { type: "string" },
        id: { type: "string" },
        client: { type: "string" },
        "unknown-rollback": { type: "string" },
        hours: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // An unknown option or one without its value: a usage error, not a failure of the service.
    throw new AppError("invalid_request", error instanceof Error ? error.message : String(error), { usage: USAGE });
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help || positionals[0] === "help") {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const { help: _help, ...options } = values;
  const command = COMMANDS[positionals.join(" ")];
  if (!command) throw new AppError("invalid_request", `unknown command: ${positionals.join(" ") || "(none)"}`, { usage: USAGE });
  // The server's composition root, without its background workers: a command sweeps nothing
  // and sends no webhook.
  const runtime = await createRuntime(loadConfig());
  try {
    const { output, exitCode } = await command(runtime.services, options);
    process.stdout.write(`${JSON.stringify(output)}\n`);
    return exitCode;
  } finally {
    await runtime.close();
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
  // Usage errors exit 2; a command that could not be done (no such tenant, no database) exits 1.
  process.exitCode = known && error.code === "invalid_request" ? 2 : 1;
}
