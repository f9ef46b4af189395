import type pg from "pg";
import type { ApiKeySummary, ClientSummary, OperatorStore, PoolUse, SchemaState } from "../operator.js";
import { scopesFromText, type TenantRow, tenantFromRow } from "../rows.js";
import type { TenantRecord } from "../store.js";
import { MIGRATION_COUNT } from "./migrations.js";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The operator's reads and the one change (a client's secret), on the store's pool. */
export class PostgresOperator implements OperatorStore {
  constructor(private readonly pool: pg.Pool) {}

  async ping(): Promise<SchemaState> {
    const { rows } = await this.pool.query("SELECT count(*)::int AS n FROM schema_migrations");
    return { migrationsApplied: rows[0].n, migrationsExpected: MIGRATION_COUNT };
  }

  async pendingDeliveries(): Promise<number> {
    const { rows } = await this.pool.query("SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'");
    return rows[0].n;
  }

  poolUse(): PoolUse {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async listTenants(): Promise<TenantRecord[]> {
    const { rows } = await this.pool.query<TenantRow>("SELECT * FROM tenants ORDER BY created_at, id");
    return rows.map(tenantFromRow);
  }

  async listApiKeys(tenantId: string): Promise<ApiKeySummary[]> {
    if (!UUID_PATTERN.test(tenantId)) return [];
    const { rows } = await this.pool.query<{
      id: string;
      tenant_id: string | null;
      scopes: string;
      created_at: string;
      revoked_at: string | null;
    }>("SELECT id, tenant_id, scopes, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id", [tenantId]);
    return rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      scopes: scopesFromText(row.scopes),
      createdAt: row.created_at,
      revokedAt: row.revoked_at,
    }));
  }

  async listClients(tenantId: string): Promise<ClientSummary[]> {
    if (!UUID_PATTERN.test(tenantId)) return [];
    const { rows } = await this.pool.query<{ client_id: string; tenant_id: string; scopes: string; created_at: string }>(
      "SELECT client_id, tenant_id, scopes, created_at FROM oauth_clients WHERE tenant_id = $1 ORDER BY created_at, client_id",
      [tenantId],
    );
    return rows.map((row) => ({
      clientId: row.client_id,
      tenantId: row.tenant_id,
      scopes: scopesFromText(row.scopes),
      createdAt: row.created_at,
    }));
  }

  async setClientSecret(clientId: string, secretHash: string): Promise<boolean> {
    const result = await this.pool.query("UPDATE oauth_clients SET secret_hash = $1 WHERE client_id = $2", [secretHash, clientId]);
    return result.rowCount === 1;
  }
}
