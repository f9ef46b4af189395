import { type Static, Type } from "typebox";
import { ErrorBody } from "./common.js";
import { GameAnswer } from "./games.js";
import { Transfer } from "./transfers.js";

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

export type BatchMovementResult = Static<typeof BatchMovementResult>;
export type BatchAnswer = Static<typeof BatchAnswer>;
