import { assert } from "../../ledger/assert.js";
import type { ApiKeyRecord, ClientRecord, TenantRecord, UnknownRollbackPolicy } from "../store.js";
import { API_KEYS, CLIENTS, TENANTS } from "../tables.js";
import { change, type Queryable, query } from "./query.js";

/** Tenants and their credentials (API keys, OAuth clients), and the service's settings. */

export async function insertTenant(db: Queryable, tenant: TenantRecord): Promise<void> {
  await change(db, { name: "insert-tenant", text: TENANTS.insertSql("postgres"), values: TENANTS.values(tenant) });
}

export async function findTenant(db: Queryable, id: string): Promise<TenantRecord | undefined> {
  const [row] = await query(db, { name: "tenant", text: `SELECT ${TENANTS.select("t")} FROM tenants t WHERE t.id = $1`, values: [id] });
  return row && TENANTS.fromRow(row);
}

export async function setUnknownRollbackPolicy(db: Queryable, tenantId: string, policy: UnknownRollbackPolicy): Promise<boolean> {
  const text = "UPDATE tenants SET unknown_rollback = $2 WHERE id = $1";
  return (await change(db, { name: "set-unknown-rollback", text, values: [tenantId, policy] })) === 1;
}

export async function setLimitCoolingOff(db: Queryable, tenantId: string, seconds: number): Promise<boolean> {
  const text = "UPDATE tenants SET limit_cooling_off_seconds = $2 WHERE id = $1";
  return (await change(db, { name: "set-limit-cooling-off", text, values: [tenantId, seconds] })) === 1;
}

export async function insertApiKey(db: Queryable, key: ApiKeyRecord): Promise<void> {
  await change(db, { name: "insert-api-key", text: API_KEYS.insertSql("postgres"), values: API_KEYS.values(key) });
}

export async function findApiKeyByHash(db: Queryable, keyHash: string): Promise<ApiKeyRecord | undefined> {
  const text = `SELECT ${API_KEYS.select("k")} FROM api_keys k WHERE k.key_hash = $1`;
  const [row] = await query(db, { name: "api-key", text, values: [keyHash] });
  return row && API_KEYS.fromRow(row);
}

export async function revokeApiKey(db: Queryable, id: string, revokedAt: string): Promise<boolean> {
  const text = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2";
  return (await change(db, { name: "revoke-api-key", text, values: [revokedAt, id] })) === 1;
}

export async function insertClient(db: Queryable, client: ClientRecord): Promise<void> {
  await change(db, { name: "insert-client", text: CLIENTS.insertSql("postgres"), values: CLIENTS.values(client) });
}

export async function findClient(db: Queryable, clientId: string): Promise<ClientRecord | undefined> {
  const text = `SELECT ${CLIENTS.select("c")} FROM oauth_clients c WHERE c.client_id = $1`;
  const [row] = await query(db, { name: "client", text, values: [clientId] });
  return row && CLIENTS.fromRow(row);
}

export async function getOrInsertSetting(db: Queryable, name: string, value: string): Promise<string> {
  const insert = "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
  await change(db, { name: "insert-setting", text: insert, values: [name, value] });
  const [row] = await query(db, { name: "setting", text: "SELECT value FROM settings WHERE name = $1", values: [name] });
  assert(row !== undefined, `setting ${name} was neither found nor inserted`);
  return row.value as string;
}
