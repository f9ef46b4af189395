import { type Static, Type } from "typebox";
import { ERROR_CODES } from "../services/errors.js";

/**
 * The wire format, in one place (DESIGN 2): every object the service answers with is a TypeBox
 * schema here. The routes declare them as their responses, the views in
 * src/services/views.ts are typed from them (`Static<typeof ...>`), the OpenAPI document
 * (src/http/openapi.ts) is generated from the routes, and the dashboard imports the types.
 *
 * A schema with a `title` becomes a named component of the OpenAPI document
 * (`#/components/schemas/<title>`); titles are unique. Response objects are left open (no
 * `additionalProperties: false`) so that clients keep working when a field is added; the tests
 * close them to catch a view that sends a field its schema lacks (test/wire/).
 */

// ---------------------------------------------------------------------------------------------
// Scalars.

/**
 * An amount as the service writes it (DESIGN 1.2): a decimal string, trailing zeros trimmed but
 * never fewer than two decimals. Inputs are looser: see AmountField in src/http/schemas.ts.
 */
export const Amount = Type.String({
  title: "Amount",
  pattern: "^-?[0-9]+\\.[0-9]{2,}$",
  description:
    "An exact decimal amount as a string: trailing zeros trimmed, never fewer than two decimals " +
    '("500.00", "0.025", "0.123456789012345678"). Never a JSON number.',
  examples: ["500.00", "0.025"],
});

/** A currency code of the registry, upper case. */
export const CurrencyCode = Type.String({
  title: "CurrencyCode",
  pattern: "^[A-Z0-9]+$",
  description: "A currency code of the service's registry, upper case (BTC, ETH, USDTTRC20...)",
  examples: ["USDTTRC20"],
});

const Timestamp = Type.String({ format: "date-time", description: "An RFC 3339 time in UTC" });
const Uuid = Type.String({ format: "uuid" });

/** `w_` followed by at least 12 lower-case letters or digits (DESIGN 1.5). */
export const WalletId = Type.String({
  title: "WalletId",
  pattern: "^w_[a-z0-9]{12,}$",
  description: "The system-assigned wallet identifier",
});

// ---------------------------------------------------------------------------------------------
// Errors.

export const ErrorCode = Type.Unsafe<(typeof ERROR_CODES)[number]>({
  type: "string",
  enum: [...ERROR_CODES],
  title: "ErrorCode",
  description: "The closed list of error codes (DESIGN 1.1), each with one HTTP status",
});

export const ErrorBody = Type.Object(
  {
    code: ErrorCode,
    message: Type.String({ minLength: 1 }),
    details: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          "Always an object. A validation error names its fields: " +
          '`{"fields": [{"field": "wallet_id", "problem": "must be a string"}]}`; ' +
          "insufficient_funds carries the available balance.",
      },
    ),
  },
  { title: "ErrorBody" },
);

/** Every error of every route but the token endpoint (which speaks RFC 6749). */
export const ErrorResponse = Type.Object(
  { error: ErrorBody },
  { title: "Error", additionalProperties: false, description: 'The one error envelope: {"error": {"code", "message", "details"}}' },
);

// ---------------------------------------------------------------------------------------------
// Wallets and balances.

export const Balance = Type.Object(
  {
    currency: CurrencyCode,
    amount: Amount,
    pending_amount: Amount,
    available_balance: Amount,
  },
  {
    title: "Balance",
    description:
      "One currency of an account: amount = posted + credits pending; pending_amount = credits pending + debits pending; " +
      "available_balance = posted - debits pending (what the player can spend now).",
  },
);

export const AccountSummary = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    external_id: Type.String(),
    wallet_id: WalletId,
  },
  { title: "AccountSummary" },
);

export const Wallet = Type.Object(
  {
    ...AccountSummary.properties,
    created: Timestamp,
    updated: Timestamp,
    balances: Type.Array(Balance, { description: "The wallet's currencies in the order they were first used" }),
  },
  { title: "Wallet" },
);

export const Pagination = Type.Object({ total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }, { title: "Pagination" });

/** A wallet as GET /wallets/ lists it: the wallet, and whether a deposit to it is still confirming. */
export const WalletListEntry = Type.Object(
  {
    ...Wallet.properties,
    has_pending_deposits: Type.Boolean({
      description:
        "A deposit to one of the wallet's currencies is still confirming (GET /wallets/{id}/deposits/?status=pending lists them)",
    }),
  },
  { title: "WalletListEntry" },
);

export const WalletPage = Type.Object(
  { accounts: Type.Array(WalletListEntry), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { title: "WalletPage" },
);

/** The specification's "Get Wallet Balance" answer. */
export const WalletBalances = Type.Object({ account: AccountSummary, balances: Type.Array(Balance) }, { title: "WalletBalances" });

export const MasterBalances = Type.Object({ balances: Type.Array(Balance) }, { title: "MasterBalances" });

// ---------------------------------------------------------------------------------------------
// Transfers (the transfer-history references live here too: one Transfer schema).

export const TransferStatus = Type.Union([Type.Literal("posted"), Type.Literal("pending"), Type.Literal("voided")], {
  title: "TransferStatus",
});

export const TransferType = Type.Union(
  [
    Type.Literal("to_sub"),
    Type.Literal("to_master"),
    Type.Literal("deposit"),
    Type.Literal("bet"),
    Type.Literal("win"),
    Type.Literal("rollback"),
    Type.Literal("hold"),
    Type.Literal("withdrawal"),
  ],
  { title: "TransferType" },
);

export const Transfer = Type.Object(
  {
    id: Uuid,
    transfer_type: TransferType,
    currency: CurrencyCode,
    amount: Amount,
    status: TransferStatus,
    created_at: Timestamp,
    // What a casino reconciles a transfer by; each is null where it does not apply.
    transaction_id: Type.Union([Type.String({ description: "The game transaction of a bet, win or rollback" }), Type.Null()]),
    round_id: Type.Union([Type.String({ description: "The game round of a bet, win or rollback" }), Type.Null()]),
    tx_hash: Type.Union([Type.String({ description: "The chain transaction of a deposit" }), Type.Null()]),
    hold_id: Type.Union([Type.String({ description: "The hold this transfer places, captures or releases" }), Type.Null()]),
    withdrawal_id: Type.Union([Type.String({ description: "The withdrawal this transfer holds, completes or releases" }), Type.Null()]),
  },
  { title: "Transfer" },
);

export const TransferAnswer = Type.Object({ transfer: Transfer }, { title: "TransferAnswer" });

export const TransferHistory = Type.Object(
  { account: AccountSummary, transfers: Type.Array(Transfer, { description: "Newest first" }), pagination: Pagination },
  { title: "TransferHistory" },
);

// ---------------------------------------------------------------------------------------------
// Deposits.

export const DepositStatus = Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("dropped")], {
  title: "DepositStatus",
});

export const Deposit = Type.Object(
  {
    id: Uuid,
    status: DepositStatus,
    confirmations: Type.Integer({ minimum: 0 }),
    required_confirmations: Type.Integer({ minimum: 0 }),
    currency: CurrencyCode,
    amount: Amount,
    tx_hash: Type.String(),
    created_at: Timestamp,
  },
  { title: "Deposit" },
);

export const DepositAnswer = Type.Object({ deposit: Deposit }, { title: "DepositAnswer" });

export const DepositList = Type.Object({ deposits: Type.Array(Deposit) }, { title: "DepositList" });

// ---------------------------------------------------------------------------------------------
// Games.

export const GameTransaction = Type.Object(
  {
    transaction_id: Type.String(),
    type: Type.Union([Type.Literal("bet"), Type.Literal("win"), Type.Literal("rollback")]),
    round_id: Type.String(),
    bet_transaction_id: Type.Union([Type.String(), Type.Null()]),
    currency: Type.Union([CurrencyCode, Type.Null()]),
    amount: Amount,
    status: Type.Union([Type.Literal("completed"), Type.Literal("settled"), Type.Literal("rolled_back"), Type.Literal("tombstone")]),
    created_at: Timestamp,
  },
  { title: "GameTransaction" },
);

export const GameAnswer = Type.Object(
  {
    transaction: GameTransaction,
    balance: Type.Union([Balance, Type.Null()], { description: "The wallet's balance in the call's currency after it" }),
  },
  { title: "GameAnswer" },
);

// ---------------------------------------------------------------------------------------------
// Holds and withdrawals.

export const Hold = Type.Object(
  {
    id: Uuid,
    status: Type.Union([Type.Literal("pending"), Type.Literal("posted"), Type.Literal("voided"), Type.Literal("expired")]),
    currency: CurrencyCode,
    amount: Amount,
    captured_amount: Amount,
    reference: Type.Union([Type.String(), Type.Null()]),
    expires_at: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: "Hold" },
);

export const HoldAnswer = Type.Object({ hold: Hold, balance: Balance }, { title: "HoldAnswer" });

export const HoldLookup = Type.Object({ hold: Hold }, { title: "HoldLookup" });

export const WithdrawalStatus = Type.Union([Type.Literal("pending"), Type.Literal("completed"), Type.Literal("failed")], {
  title: "WithdrawalStatus",
});

export const Withdrawal = Type.Object(
  {
    id: Uuid,
    status: WithdrawalStatus,
    currency: CurrencyCode,
    amount: Amount,
    address: Type.String(),
    tx_hash: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: "Withdrawal" },
);

export const WithdrawalAnswer = Type.Object({ withdrawal: Withdrawal, balance: Balance }, { title: "WithdrawalAnswer" });

export const WithdrawalLookup = Type.Object({ withdrawal: Withdrawal }, { title: "WithdrawalLookup" });

/** What the payout system sees: a withdrawal and its tenant. */
export const SystemWithdrawal = Type.Object({ ...Withdrawal.properties, tenant_id: Type.String() }, { title: "SystemWithdrawal" });

export const SystemWithdrawalList = Type.Object({ withdrawals: Type.Array(SystemWithdrawal) }, { title: "SystemWithdrawalList" });

// ---------------------------------------------------------------------------------------------
// Batches.

export const BatchMovementResult = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    status: Type.Union([Type.Literal("ok"), Type.Literal("failed"), Type.Literal("skipped")]),
    transfer: Type.Optional(Transfer),
    game: Type.Optional(GameAnswer),
    error: Type.Optional(ErrorBody),
  },
  { title: "BatchMovementResult", description: "ok: transfer (transfer_to_user, withdraw_to_master) or game (bet, win); else error" },
);

export const BatchAnswer = Type.Object(
  { results: Type.Array(BatchMovementResult), succeeded: Type.Integer({ minimum: 0 }), failed: Type.Integer({ minimum: 0 }) },
  { title: "BatchAnswer" },
);

// ---------------------------------------------------------------------------------------------
// Webhooks.

export const WebhookEndpoint = Type.Object({ id: Uuid, url: Type.String(), created_at: Timestamp }, { title: "WebhookEndpoint" });

export const NewWebhookEndpoint = Type.Object(
  {
    ...WebhookEndpoint.properties,
    secret: Type.String({ description: "Signs every delivery to this endpoint (X-Signature); shown once, here" }),
  },
  { title: "NewWebhookEndpoint" },
);

export const WebhookEndpointList = Type.Object({ webhooks: Type.Array(WebhookEndpoint) }, { title: "WebhookEndpointList" });

export const WebhookEndpointDeleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) }, { title: "WebhookEndpointDeleted" });

export const DeliveryStatus = Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")], {
  title: "DeliveryStatus",
});

export const WebhookDelivery = Type.Object(
  {
    event_id: Uuid,
    endpoint_id: Uuid,
    event_type: Type.String(),
    status: DeliveryStatus,
    attempts: Type.Integer({ minimum: 0 }),
    next_attempt_at: Timestamp,
    last_status_code: Type.Union([Type.Integer(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    delivered_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: "WebhookDelivery" },
);

export const WebhookDeliveryList = Type.Object({ deliveries: Type.Array(WebhookDelivery) }, { title: "WebhookDeliveryList" });

export const Redelivery = Type.Object(
  { event_id: Type.String(), deliveries: Type.Integer({ minimum: 0, description: "How many deliveries were queued" }) },
  { title: "Redelivery" },
);

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 (RFC 6749's own shapes).

export const Token = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal("Bearer"),
    expires_in: Type.Integer({ description: "Seconds until the token expires" }),
    scope: Type.String({ description: "The granted scopes, space-separated" }),
  },
  { title: "Token" },
);

export const OAuthError = Type.Object(
  {
    error: Type.String({ description: "invalid_request, invalid_client, unsupported_grant_type, invalid_scope... (RFC 6749 5.2)" }),
    error_description: Type.String(),
  },
  { title: "OAuthError" },
);

// ---------------------------------------------------------------------------------------------
// Types of the views and of the dashboard.

export type Amount = Static<typeof Amount>;
export type ErrorResponse = Static<typeof ErrorResponse>;
export type ErrorBody = Static<typeof ErrorBody>;
export type Balance = Static<typeof Balance>;
export type AccountSummary = Static<typeof AccountSummary>;
export type Wallet = Static<typeof Wallet>;
export type WalletListEntry = Static<typeof WalletListEntry>;
export type WalletPage = Static<typeof WalletPage>;
export type WalletBalances = Static<typeof WalletBalances>;
export type MasterBalances = Static<typeof MasterBalances>;
export type Transfer = Static<typeof Transfer>;
export type TransferHistory = Static<typeof TransferHistory>;
export type Deposit = Static<typeof Deposit>;
export type DepositList = Static<typeof DepositList>;
export type GameTransaction = Static<typeof GameTransaction>;
export type GameAnswer = Static<typeof GameAnswer>;
export type Hold = Static<typeof Hold>;
export type Withdrawal = Static<typeof Withdrawal>;
export type SystemWithdrawal = Static<typeof SystemWithdrawal>;
export type BatchMovementResult = Static<typeof BatchMovementResult>;
export type BatchAnswer = Static<typeof BatchAnswer>;
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;
export type NewWebhookEndpoint = Static<typeof NewWebhookEndpoint>;
export type WebhookDelivery = Static<typeof WebhookDelivery>;
export type Token = Static<typeof Token>;
