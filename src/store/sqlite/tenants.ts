import { assert } from "../../ledger/assert.js";
import type { ApiKeyRecord, ClientRecord, TenantRecord, UnknownRollbackPolicy } from "../store.js";
import { API_KEYS, CLIENTS, TENANTS } from "../tables.js";
import { type Direct, type PreparedStatements, statement } from "./statements.js";

/** Tenants and their credentials (API keys, OAuth clients), and the service's settings. */

const insertTenantRow = statement("insert-tenant", TENANTS.insertSql("sqlite"));
const selectTenant = statement<[id: string]>("tenant", "SELECT * FROM tenants WHERE id = ?");
const updateUnknownRollback = statement<[policy: UnknownRollbackPolicy, tenantId: string]>(
  "set-unknown-rollback",
  "UPDATE tenants SET unknown_rollback = ? WHERE id = ?",
);
const updateLimitCoolingOff = statement<[seconds: number, tenantId: string]>(
  "set-limit-cooling-off",
  "UPDATE tenants SET limit_cooling_off_seconds = ? WHERE id = ?",
);
const insertApiKeyRow = statement("insert-api-key", API_KEYS.insertSql("sqlite"));
const selectApiKey = statement<[keyHash: string]>("api-key", "SELECT * FROM api_keys WHERE key_hash = ?");
const revokeApiKeyRow = statement<[revokedAt: string, id: string]>(
  "revoke-api-key",
  "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
);
const insertClientRow = statement("insert-client", CLIENTS.insertSql("sqlite"));
const selectClient = statement<[clientId: string]>("client", "SELECT * FROM oauth_clients WHERE client_id = ?");
const insertSetting = statement<[name: string, value: string]>(
  "insert-setting",
  "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
);
const selectSetting = statement<[name: string]>("setting", "SELECT value FROM settings WHERE name = ?");

export const insertTenant = (direct: Direct, tenant: TenantRecord) =>
  direct((writer) => void writer.execute(insertTenantRow(...TENANTS.values(tenant))));

export const findTenant = (reader: PreparedStatements, id: string) => reader.one(TENANTS, selectTenant(id));

export const setUnknownRollbackPolicy = (direct: Direct, tenantId: string, policy: UnknownRollbackPolicy) =>
  direct((writer) => writer.execute(updateUnknownRollback(policy, tenantId)).rowCount === 1);

export const setLimitCoolingOff = (direct: Direct, tenantId: string, seconds: number) =>
  direct((writer) => writer.execute(updateLimitCoolingOff(seconds, tenantId)).rowCount === 1);

export const insertApiKey = (direct: Direct, key: ApiKeyRecord) =>
  direct((writer) => void writer.execute(insertApiKeyRow(...API_KEYS.values(key))));

export const findApiKeyByHash = (reader: PreparedStatements, keyHash: string) => reader.one(API_KEYS, selectApiKey(keyHash));

export const revokeApiKey = (direct: Direct, id: string, revokedAt: string) =>
  direct((writer) => writer.execute(revokeApiKeyRow(revokedAt, id)).rowCount === 1);

export const insertClient = (direct: Direct, client: ClientRecord) =>
  direct((writer) => void writer.execute(insertClientRow(...CLIENTS.values(client))));

export const findClient = (reader: PreparedStatements, clientId: string) => reader.one(CLIENTS, selectClient(clientId));

/** The first writer's value wins: the insert changes nothing when the setting is there. */
export const getOrInsertSetting = (direct: Direct, name: string, value: string) =>
  direct((writer) => {
    writer.execute(insertSetting(name, value));
    const [row] = writer.execute(selectSetting(name)).rows;
    assert(row !== undefined, `setting ${name} was neither found nor inserted`);
    return row.value as string;
  });
