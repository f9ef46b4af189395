import type pg from "pg";
import type { ApiKeySummary, ClientSummary, OperatorStore, PoolUse, SchemaState } from "../operator.js";
import type { TenantRecord } from "../store.js";
import { API_KEYS, CLIENTS, TENANTS } from "../tables.js";
import { MIGRATION_COUNT } from "./migrations.js";

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
    const { rows } = await this.pool.query(`SELECT ${TENANTS.select("t")} FROM tenants t ORDER BY t.created_at, t.id`);
    return rows.map(TENANTS.fromRow);
  }

  /** The keys without their hashes, which are not even read. */
  async listApiKeys(tenantId: string): Promise<ApiKeySummary[]> {
    const { rows } = await this.pool.query(
      "SELECT id, tenant_id, scopes, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id",
      [tenantId],
    );
    return rows.map((row) => {
      const { keyHash: _, ...summary } = API_KEYS.fromRow(row);
      return summary;
    });
  }

  /** The clients without their secrets' hashes, which are not even read. */
  async listClients(tenantId: string): Promise<ClientSummary[]> {
    const { rows } = await this.pool.query(
      "SELECT client_id, tenant_id, scopes, created_at FROM oauth_clients WHERE tenant_id = $1 ORDER BY created_at, client_id",
      [tenantId],
    );
    return rows.map((row) => {
      const { secretHash: _, ...summary } = CLIENTS.fromRow(row);
      return summary;
    });
  }

  async setClientSecret(clientId: string, secretHash: string): Promise<boolean> {
    const result = await this.pool.query("UPDATE oauth_clients SET secret_hash = $1 WHERE client_id = $2", [secretHash, clientId]);
    return result.rowCount === 1;
  }
}
