import type { ApiKeyRecord, ClientRecord, TenantRecord } from "./records.js";

/**
 * What the operator's tools read and change beside the ledger: readiness, metrics and the
 * command line's listings. Kept apart from the use-case reads so that a store's hot path does not
 * grow with them; each adapter implements it on its own connections (sqlite/operator.ts,
 * postgres/operator.ts).
 */

/** The schema as the database has it, against the migrations this build ships. */
export interface SchemaState {
  migrationsApplied: number;
  migrationsExpected: number;
}

/** Connection pool use (PostgreSQL): open connections, idle ones, and requests waiting for one. */
export interface PoolUse {
  total: number;
  idle: number;
  waiting: number;
}

/** An API key as listed: never its hash. */
export type ApiKeySummary = Omit<ApiKeyRecord, "keyHash">;
/** An OAuth client as listed: never its secret's hash. */
export type ClientSummary = Omit<ClientRecord, "secretHash">;

export interface OperatorStore {
  /** Answers from the database with the schema's state; throws when the database cannot be reached. */
  ping(): Promise<SchemaState>;
  /** Webhook deliveries still to be sent (pending, including those waiting for a retry). */
  pendingDeliveries(): Promise<number>;
  /** The connection pool's use, or undefined for an embedded store. */
  poolUse(): PoolUse | undefined;
  /** Every tenant, oldest first. */
  listTenants(): Promise<TenantRecord[]>;
  /** The tenant's API keys, revoked ones included, oldest first. */
  listApiKeys(tenantId: string): Promise<ApiKeySummary[]>;
  /** The tenant's OAuth clients, oldest first. */
  listClients(tenantId: string): Promise<ClientSummary[]>;
  /** Replaces a client's secret hash; false if there is no such client. */
  setClientSecret(clientId: string, secretHash: string): Promise<boolean>;
}

/** Rejects with `message` if `promise` has not settled within `ms` (a database that does not answer). */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
