import {
  type Bucket,
  type Controls,
  DAY_MS,
  type ExclusionKind,
  emptyControls,
  type HeldDeposit,
  HOUR_MS,
  hasControls,
  type LimitName,
  type ScheduledChange,
} from "./limits.js";

/**
 * The text of an account's controls column (`accounts.controls`), and back. Each movement of a
 * controlled account decodes and encodes it, so both are cached: see below.
 */

/**
 * The column's text: compact JSON, money as decimal strings of minor units. Buckets are
 * `[startMs, "h"|"d", deposit, wager, loss]`.
 */
export function encodeControls(controls: Controls): string | null {
  if (!hasControls(controls)) return null;
  // Written by hand around the buckets, which are spliced in as text, each written once: a bucket
  // never changes once made (a movement makes a new one), and turning a hundred bigints into
  // strings on every movement was most of the cost.
  const exclusion = controls.exclusion && [controls.exclusion.kind, controls.exclusion.startedAtMs, controls.exclusion.endsAtMs];
  const text =
    `{"l":${partText(controls.limits, limitsJson)},"s":${partText(controls.scheduled, scheduledJson)},` +
    `"b":[${controls.buckets.map(bucketText).join(",")}],"h":${partText(controls.held, heldJson)},"x":${JSON.stringify(exclusion)}}`;
  remember(text, controls);
  return text;
}

const limitsJson = (limits: Controls["limits"]) =>
  JSON.stringify(Object.fromEntries(Object.entries(limits).map(([name, amount]) => [name, String(amount)])));
const scheduledJson = (scheduled: ScheduledChange[]) =>
  JSON.stringify(scheduled.map((change) => [change.name, change.amount === null ? null : String(change.amount), change.effectiveAtMs]));
const heldJson = (held: HeldDeposit[]) => JSON.stringify(held.map((entry) => [entry.transferId, String(entry.amount)]));

/** The text of a part of the controls, written once per object: parts are shared, never changed, between states. */
const PART_TEXT = new WeakMap<object, string>();
function partText<T extends object>(part: T, write: (part: T) => string): string {
  let text = PART_TEXT.get(part);
  if (text === undefined) {
    text = write(part);
    PART_TEXT.set(part, text);
  }
  return text;
}

const BUCKET_TEXT = new WeakMap<Bucket, string>();

function bucketText(bucket: Bucket): string {
  let text = BUCKET_TEXT.get(bucket);
  if (text === undefined) {
    const length = bucket.lengthMs === HOUR_MS ? "h" : "d";
    text = `[${bucket.startMs},"${length}","${bucket.deposit}","${bucket.wager}","${bucket.loss}"]`;
    BUCKET_TEXT.set(bucket, text);
  }
  return text;
}

interface Encoded {
  l: Record<string, string>;
  s: [LimitName, string | null, number][];
  b: [number, "h" | "d", string, string, string][];
  h: [string, string][];
  x: [ExclusionKind, number, number] | null;
}

/**
 * Controls decoded lately, by their text: the next movement of an account usually finds the text
 * the previous one wrote, and parsing it (a hundred decimal strings) is most of a rule's cost.
 * Decoded controls are never changed in place, so sharing them is safe.
 */
const DECODED = new Map<string, Controls>();
const DECODED_MAX = 4096;

export function decodeControls(text: string | null): Controls {
  if (text === null) return emptyControls();
  const known = DECODED.get(text);
  if (known) return known;
  const decoded = parseControls(text);
  remember(text, decoded);
  return decoded;
}

function remember(text: string, controls: Controls): void {
  if (DECODED.size >= DECODED_MAX) DECODED.delete(DECODED.keys().next().value as string);
  DECODED.set(text, controls);
}

function parseControls(text: string): Controls {
  const encoded = JSON.parse(text) as Encoded;
  return {
    limits: Object.fromEntries(Object.entries(encoded.l).map(([name, amount]) => [name, BigInt(amount)])),
    scheduled: encoded.s.map(([name, amount, effectiveAtMs]) => ({ name, amount: amount === null ? null : BigInt(amount), effectiveAtMs })),
    buckets: encoded.b.map(([startMs, length, deposit, wager, loss]) => ({
      startMs,
      lengthMs: length === "h" ? HOUR_MS : DAY_MS,
      deposit: BigInt(deposit),
      wager: BigInt(wager),
      loss: BigInt(loss),
    })),
    held: encoded.h.map(([transferId, amount]) => ({ transferId, amount: BigInt(amount) })),
    exclusion: encoded.x && { kind: encoded.x[0], startedAtMs: encoded.x[1], endsAtMs: encoded.x[2] },
  };
}
