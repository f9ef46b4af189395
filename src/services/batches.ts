import type { CurrencyRegistry } from "../ledger/currencies.js";
import type { PrefetchRequest, WalletLookup, WriteTx } from "../store/store.js";
import { AppError, invalidFields } from "./errors.js";
import type { GameService } from "./games.js";
import type { Idempotency, Once, Written } from "./idempotency.js";
import { walletPrefetch } from "./movements.js";
import type { BatchOutcome, MovementError } from "./results.js";
import type { TransferService } from "./transfers.js";

/**
 * Bulk settlement (a sportsbook settling a match, tournament payouts): up to MAX_BATCH_MOVEMENTS
 * movements committed together in one transaction, each with its own result. Consecutive
 * movements that share a `group` are linked, as TigerBeetle's linked events: they succeed or
 * fail as one, through a nested savepoint around the group.
 */

export const MAX_BATCH_MOVEMENTS = 8190;
/**
 * A large batch lets the event loop run every so many movements: other requests are answered
 * meanwhile, and a client-server store can send what the batch has written so far.
 */
const YIELD_EVERY_MOVEMENTS = 512;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export type BatchMovementType = "transfer_to_user" | "withdraw_to_master" | "bet" | "win";

export interface BatchMovement {
  type: BatchMovementType;
  lookup: WalletLookup;
  currency: string;
  amount: string | number;
  transactionId?: string | undefined;
  roundId?: string | undefined;
  betTransactionId?: string | undefined;
  group?: string | undefined;
}

const plain = (error: AppError): MovementError => ({ code: error.code, message: error.message, details: error.details });

export class BatchService {
  constructor(
    private readonly transfers: TransferService,
    private readonly games: GameService,
    private readonly idempotency: Idempotency,
    private readonly currencies: CurrencyRegistry,
  ) {}

  run(tenantId: string, movements: BatchMovement[], once?: Once): Promise<Written<BatchOutcome[]>> {
    const groups = linkedGroups(movements);
    return this.idempotency.write(
      once,
      async (tx) => {
        const outcomes: BatchOutcome[] = [];
        for (const group of groups) {
          if (outcomes.length % YIELD_EVERY_MOVEMENTS < group.length && outcomes.length > 0) await yieldToEventLoop();
          const [single] = group;
          if (group.length === 1 && single) outcomes.push(await this.#runSingle(tx, tenantId, single));
          else outcomes.push(...(await this.#runGroup(tx, tenantId, group, outcomes.length)));
        }
        return outcomes;
      },
      this.#prefetchRequest(tenantId, movements),
    );
  }

  /**
   * Everything the movements name, so the store can read and lock it all up front. Unknown
   * currencies are left out: those movements fail, and must not open accounts.
   */
  #prefetchRequest(tenantId: string, movements: BatchMovement[]): PrefetchRequest {
    const requests = movements.map((movement) =>
      walletPrefetch(this.currencies, tenantId, movement.lookup, movement.currency, [movement.transactionId, movement.betTransactionId]),
    );
    return {
      tenantId,
      wallets: requests.flatMap((request) => request.wallets),
      gameTransactionIds: requests.flatMap((request) => request.gameTransactionIds),
    };
  }

  /**
   * A refused movement fails before it writes anything (the services check, then write), so a
   * single movement needs no savepoint; thousands of savepoints would cost PostgreSQL dearly.
   */
  async #runSingle(tx: WriteTx, tenantId: string, movement: BatchMovement): Promise<BatchOutcome> {
    try {
      return { status: "ok", value: await this.#runOne(tx, tenantId, movement) };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return { status: "failed", error: plain(error) };
    }
  }

  /** A linked group runs in a savepoint: when one member fails, the earlier ones are undone. */
  async #runGroup(tx: WriteTx, tenantId: string, group: BatchMovement[], firstIndex: number): Promise<BatchOutcome[]> {
    const values: BatchOutcome[] = [];
    try {
      await tx.atomically(async () => {
        for (const movement of group) values.push({ status: "ok", value: await this.#runOne(tx, tenantId, movement) });
      });
      return values;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // The group's savepoint undid every movement of it: the failed one says why, the others
      // say they were skipped because of it.
      const failedIndex = values.length;
      const skipped = plain(
        new AppError("invalid_request", "Another movement of this linked group failed", {
          group: group[0]?.group,
          failed_index: firstIndex + failedIndex,
        }),
      );
      return group.map(
        (_, index): BatchOutcome =>
          index === failedIndex ? { status: "failed", error: plain(error) } : { status: "skipped", error: skipped },
      );
    }
  }

  async #runOne(tx: WriteTx, tenantId: string, movement: BatchMovement) {
    const { lookup, currency, amount } = movement;
    switch (movement.type) {
      case "transfer_to_user":
      case "withdraw_to_master": {
        const type = movement.type === "transfer_to_user" ? "to_sub" : "to_master";
        return { kind: "transfer" as const, transfer: await this.transfers.moveIn(tx, { tenantId, lookup, currency, amount }, type) };
      }
      default: {
        const request = {
          tenantId,
          lookup,
          currency,
          amount,
          transactionId: requiredField(movement.transactionId, "transaction_id"),
          roundId: requiredField(movement.roundId, "round_id"),
          betTransactionId: movement.betTransactionId,
        };
        const game = movement.type === "bet" ? await this.games.betIn(tx, request) : await this.games.winIn(tx, request);
        return { kind: "game" as const, game };
      }
    }
  }
}

function requiredField(value: string | undefined, field: string): string {
  if (!value) throw invalidFields(`${field} is required for this movement type`, { [field]: "is required for this movement type" });
  return value;
}

/** Splits movements into linked groups (consecutive, same `group`) and single movements. */
function linkedGroups(movements: BatchMovement[]): BatchMovement[][] {
  const groups: BatchMovement[][] = [];
  const closed = new Set<string>();
  for (const movement of movements) {
    const last = groups.at(-1);
    if (movement.group !== undefined && last?.[0]?.group === movement.group) {
      last.push(movement);
      continue;
    }
    if (movement.group !== undefined) {
      if (closed.has(movement.group)) {
        throw new AppError("invalid_request", "The movements of a linked group must be consecutive", { group: movement.group });
      }
      closed.add(movement.group);
    }
    groups.push([movement]);
  }
  return groups;
}
