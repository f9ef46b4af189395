/**
 * Invariant checks in the TigerStyle sense: a broken invariant means the program itself is wrong,
 * so it must stop rather than carry on with a corrupt ledger. These never validate user input.
 */
export class InvariantError extends Error {
  override name = "InvariantError";
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${message}`);
}
