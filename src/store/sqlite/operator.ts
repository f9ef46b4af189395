import type { ApiKeySummary, ClientSummary, OperatorStore, PoolUse, SchemaState } from "../operator.js";
import type { ApiKeyRecord, ClientRecord, TenantRecord } from "../store.js";
import { API_KEYS, CLIENTS, TENANTS } from "../tables.js";
import type { Statement } from "../write-behind.js";
import { MIGRATION_COUNT } from "./migrations.js";
import { type Direct, type PreparedStatements, statement } from "./statements.js";

const countMigrations = statement<[]>("migrations", "SELECT count(*) AS n FROM schema_migrations");
const countPendingDeliveries = statement<[]>("pending-deliveries", "SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'");
const selectTenants = statement<[]>("tenants", "SELECT * FROM tenants ORDER BY created_at, id");
/** Without the hashes, which are not even read. */
const selectApiKeys = statement<[tenantId: string]>(
  "api-keys",
  "SELECT id, tenant_id, scopes, created_at, revoked_at FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
);
const selectClients = statement<[tenantId: string]>(
  "clients",
  "SELECT client_id, tenant_id, scopes, created_at FROM oauth_clients WHERE tenant_id = ? ORDER BY created_at, client_id",
);
const updateClientSecret = statement<[secretHash: string, clientId: string]>(
  "set-client-secret",
  "UPDATE oauth_clients SET secret_hash = ? WHERE client_id = ?",
);

const withoutHash = ({ keyHash: _, ...summary }: ApiKeyRecord): ApiKeySummary => summary;
const withoutSecret = ({ secretHash: _, ...summary }: ClientRecord): ClientSummary => summary;

/**
 * The operator's reads on the store's read connection; the one change (a client's secret) goes
 * through the store's group committer, which owns the writer connection.
 */
export class SqliteOperator implements OperatorStore {
  constructor(
    private readonly reader: PreparedStatements,
    private readonly direct: Direct,
  ) {}

  async ping(): Promise<SchemaState> {
    return { migrationsApplied: this.#count(countMigrations()), migrationsExpected: MIGRATION_COUNT };
  }

  async pendingDeliveries(): Promise<number> {
    return this.#count(countPendingDeliveries());
  }

  #count(statement: Statement): number {
    return this.reader.execute(statement).rows[0]?.n as number;
  }

  /** One embedded connection per role, no pool: the group-commit queue depth says how busy the writer is. */
  poolUse(): PoolUse | undefined {
    return undefined;
  }

  async listTenants(): Promise<TenantRecord[]> {
    return this.reader.many(TENANTS, selectTenants());
  }

  async listApiKeys(tenantId: string): Promise<ApiKeySummary[]> {
    return this.reader.many(API_KEYS, selectApiKeys(tenantId)).map(withoutHash);
  }

  async listClients(tenantId: string): Promise<ClientSummary[]> {
    return this.reader.many(CLIENTS, selectClients(tenantId)).map(withoutSecret);
  }

  setClientSecret(clientId: string, secretHash: string): Promise<boolean> {
    return this.direct((writer) => writer.execute(updateClientSecret(secretHash, clientId)).rowCount === 1);
  }
}
