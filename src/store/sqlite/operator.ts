import type Database from "better-sqlite3";
import type { ApiKeySummary, ClientSummary, OperatorStore, PoolUse, SchemaState } from "../operator.js";
import { scopesFromText, type TenantRow, tenantFromRow } from "../rows.js";
import type { TenantRecord } from "../store.js";
import { MIGRATION_COUNT } from "./migrations.js";

interface ApiKeyRow {
  id: string;
  tenant_id: string | null;
  scopes: string;
  created_at: string;
  revoked_at: string | null;
}

interface ClientRow {
  client_id: string;
  tenant_id: string;
  scopes: string;
  created_at: string;
}

/**
 * The operator's reads on the store's read connection; the one change (a client's secret) goes
 * through `write`, the store's group committer, which owns the writer connection.
 */
export class SqliteOperator implements OperatorStore {
  readonly #statements;

  constructor(
    reader: Database.Database,
    private readonly write: <T>(statement: (writer: Database.Database) => T) => Promise<T>,
  ) {
    this.#statements = {
      migrations: reader.prepare("SELECT count(*) AS n FROM schema_migrations"),
      pendingDeliveries: reader.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'"),
      tenants: reader.prepare("SELECT * FROM tenants ORDER BY created_at, id"),
      apiKeys: reader.prepare(
        "SELECT id, tenant_id, scopes, created_at, revoked_at FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
      ),
      clients: reader.prepare(
        "SELECT client_id, tenant_id, scopes, created_at FROM oauth_clients WHERE tenant_id = ? ORDER BY created_at, client_id",
      ),
    };
  }

  async ping(): Promise<SchemaState> {
    const { n } = this.#statements.migrations.get() as { n: number };
    return { migrationsApplied: n, migrationsExpected: MIGRATION_COUNT };
  }

  async pendingDeliveries(): Promise<number> {
    return (this.#statements.pendingDeliveries.get() as { n: number }).n;
  }

  /** One embedded connection per role, no pool: the group-commit queue depth says how busy the writer is. */
  poolUse(): PoolUse | undefined {
    return undefined;
  }

  async listTenants(): Promise<TenantRecord[]> {
    return (this.#statements.tenants.all() as TenantRow[]).map(tenantFromRow);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeySummary[]> {
    return (this.#statements.apiKeys.all(tenantId) as ApiKeyRow[]).map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      scopes: scopesFromText(row.scopes),
      createdAt: row.created_at,
      revokedAt: row.revoked_at,
    }));
  }

  async listClients(tenantId: string): Promise<ClientSummary[]> {
    return (this.#statements.clients.all(tenantId) as ClientRow[]).map((row) => ({
      clientId: row.client_id,
      tenantId: row.tenant_id,
      scopes: scopesFromText(row.scopes),
      createdAt: row.created_at,
    }));
  }

  async setClientSecret(clientId: string, secretHash: string): Promise<boolean> {
    const sql = "UPDATE oauth_clients SET secret_hash = ? WHERE client_id = ?";
    return (await this.write((writer) => writer.prepare(sql).run(secretHash, clientId))).changes === 1;
  }
}
