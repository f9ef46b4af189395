import { isUuid } from "../ids.js";
import type { CommitObserver, CommitStats } from "../store/group-commit.js";
import type { ApiKeySummary, ClientSummary, PoolUse, SchemaState } from "../store/operator.js";
import type { Store, TenantRecord, UnknownRollbackPolicy } from "../store/store.js";
import { AppError } from "./errors.js";

const tenantNotFound = () => new AppError("not_found", "Tenant not found");

/**
 * What the operator's tools read and change beside the ledger: readiness, metrics, and the
 * command line's listings and tenant policy. Tenant ids here come from a command line, not from
 * a route that checked their form, so a malformed one is answered as the tenant it cannot be.
 */
export class OperatorService {
  constructor(private readonly store: Store) {}

  /** Answers with the schema's state; throws when the database cannot be reached (readiness). */
  ping(): Promise<SchemaState> {
    return this.store.operator.ping();
  }

  /** Webhook deliveries still to be sent, retries included (the whole database). */
  pendingDeliveries(): Promise<number> {
    return this.store.operator.pendingDeliveries();
  }

  /** The connection pool's use, or undefined for an embedded store. */
  poolUse(): PoolUse | undefined {
    return this.store.operator.poolUse();
  }

  /** How well group commit is batching, and what waits for the next transaction. */
  get commitStats(): Readonly<CommitStats> {
    return this.store.commitStats;
  }

  /** Tells the observer about every committed transaction and its events; returns the function that removes it. */
  observeCommits(observer: CommitObserver): () => void {
    return this.store.observeCommits(observer);
  }

  listTenants(): Promise<TenantRecord[]> {
    return this.store.operator.listTenants();
  }

  /** The tenant's API keys, revoked ones included; never a hash. */
  async listApiKeys(tenantId: string): Promise<ApiKeySummary[]> {
    await this.#existingTenant(tenantId);
    return this.store.operator.listApiKeys(tenantId);
  }

  /** The tenant's OAuth clients; never a secret's hash. */
  async listClients(tenantId: string): Promise<ClientSummary[]> {
    await this.#existingTenant(tenantId);
    return this.store.operator.listClients(tenantId);
  }

  /** What a rollback of an unknown bet answers for this tenant. */
  async setUnknownRollbackPolicy(tenantId: string, policy: UnknownRollbackPolicy): Promise<void> {
    if (!isUuid(tenantId) || !(await this.store.setUnknownRollbackPolicy(tenantId, policy))) throw tenantNotFound();
  }

  /** How long a raised or removed safer-gambling limit of this tenant's wallets waits before it applies. */
  async setLimitCoolingOff(tenantId: string, seconds: number): Promise<void> {
    if (!isUuid(tenantId) || !(await this.store.setLimitCoolingOff(tenantId, seconds))) throw tenantNotFound();
  }

  async #existingTenant(tenantId: string): Promise<void> {
    if (!isUuid(tenantId) || !(await this.store.findTenant(tenantId))) throw tenantNotFound();
  }
}
