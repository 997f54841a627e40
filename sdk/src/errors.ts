/**
 * Reverts as typed errors: every custom error of the protocol decodes into an `AeonError` that
 * carries the error's name, its arguments (typed from the ABI), a message with the numbers
 * formatted, and what to do next.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  ExecutionRevertedError,
  type ContractErrorArgs,
  type ContractErrorName,
  type Hash,
  type Hex,
  decodeErrorResult,
} from "viem";
import { aeonErrorAbi } from "./abis.js";
import {
  formatNative,
  formatPrice,
  formatRate,
  formatSize,
  formatTime,
  formatTokenAmount,
  formatUsd,
} from "./format.js";

/** The name of every custom error the protocol can revert with. */
export type AeonErrorName = ContractErrorName<typeof aeonErrorAbi>;

/** The arguments of the error `N`, typed from the ABI. */
export type AeonErrorArgs<N extends AeonErrorName = AeonErrorName> = ContractErrorArgs<typeof aeonErrorAbi, N>;

/** A decoded revert: the discriminated union over error names. */
export type AeonDecodedError = { [N in AeonErrorName]: { readonly errorName: N; readonly args: AeonErrorArgs<N> } }[AeonErrorName];

/** A protocol revert, decoded. Narrow with `error.is("InsufficientMargin")` to type `args`. */
export class AeonError<N extends AeonErrorName = AeonErrorName> extends Error {
  override readonly name = "AeonError";
  /** The Solidity error's name. */
  readonly errorName: N;
  /** Its arguments, as decoded. */
  readonly args: AeonErrorArgs<N>;
  /** The raw revert data. */
  readonly data: Hex;
  /** The message without the hint: "Insufficient margin: margin 812.40 USDC, need 1,000.00 USDC". */
  readonly shortMessage: string;
  /** What to do next, when there is something to do. */
  readonly hint: string | undefined;
  /** The transaction that reverted, when it was sent (not only simulated). */
  readonly transactionHash: Hash | undefined;

  constructor(decoded: { errorName: N; args: AeonErrorArgs<N> }, data: Hex, options: { cause?: unknown; transactionHash?: Hash } = {}) {
    const { message, hint } = describeAeonError(decoded as AeonDecodedError);
    super(hint === undefined ? message : `${message}\n${hint}`, { cause: options.cause });
    this.errorName = decoded.errorName;
    this.args = decoded.args;
    this.data = data;
    this.shortMessage = message;
    this.hint = hint;
    this.transactionHash = options.transactionHash;
  }

  /** Type guard on the error's name. */
  is<M extends AeonErrorName>(errorName: M): this is AeonError<M> {
    return (this.errorName as AeonErrorName) === errorName;
  }
}

/** A transaction or call that failed without a protocol error (out of gas, panic, a node refusal...). */
export class AeonTransactionError extends Error {
  override readonly name = "AeonTransactionError";
  /** The transaction, when it was mined and reverted. */
  readonly transactionHash: Hash | undefined;

  constructor(message: string, options: { cause?: unknown; transactionHash?: Hash } = {}) {
    super(message, { cause: options.cause });
    this.transactionHash = options.transactionHash;
  }
}

/** Decodes revert data into an `AeonError`; `undefined` when it is not one of the protocol's errors. */
export function decodeAeonError(data: Hex, options: { cause?: unknown; transactionHash?: Hash } = {}): AeonError | undefined {
  if (data.length < 10) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: aeonErrorAbi, data });
    const args = (decoded.args ?? []) as AeonErrorArgs;
    return new AeonError({ errorName: decoded.errorName, args }, data, options);
  } catch {
    return undefined;
  }
}

/**
 * Finds revert data in an error thrown by viem or ethers (simulation, estimation or sending) and
 * returns the matching `AeonError`; otherwise returns the error unchanged.
 */
export function toAeonError(error: unknown, options: { transactionHash?: Hash } = {}): unknown {
  if (error instanceof AeonError) return error;
  const data = findRevertData(error);
  if (data === undefined) return error;
  return decodeAeonError(data, { cause: error, ...options }) ?? error;
}

/**
 * Revert data carried anywhere in an error's cause chain (viem `raw`/`data`, ethers
 * `data`/`info.error.data`): the first candidate that decodes as a protocol error, else the first.
 */
export function findRevertData(error: unknown): Hex | undefined {
  const candidates: Hex[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== "object" || seen.has(value) || depth > 12) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    for (const key of ["raw", "data"]) {
      const candidate = record[key];
      if (typeof candidate === "string" && /^0x[0-9a-fA-F]{8,}$/.test(candidate)) candidates.push(candidate as Hex);
      else visit(candidate, depth + 1);
    }
    for (const key of ["cause", "error", "info"]) visit(record[key], depth + 1);
  };
  if (error instanceof BaseError) {
    error.walk((e) => {
      visit(e, 0);
      return false;
    });
  }
  visit(error, 0);
  return candidates.find((data) => isAeonErrorData(data)) ?? candidates[0];
}

/**
 * True when a call failed because the contract reverted (the node ran it), as opposed to a failing
 * transport or node: a revert is an answer, not something to retry.
 */
export function isContractRevert(error: unknown): boolean {
  if (error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError || e instanceof ExecutionRevertedError) !== null) {
    return true;
  }
  return findRevertData(error) !== undefined;
}

function isAeonErrorData(data: Hex): boolean {
  try {
    decodeErrorResult({ abi: aeonErrorAbi, data });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- messages

const PRICE_STATUS = ["valid", "answer not positive", "out of bounds", "stale", "sequencer down", "sequencer grace period"] as const;
const ORDER_TYPE = ["market", "limit", "stop-market", "take-profit"] as const;

function status(value: number): string {
  return PRICE_STATUS[value] ?? `status ${value}`;
}
function orderType(value: number): string {
  return ORDER_TYPE[value] ?? `type ${value}`;
}
function percent(value: bigint): string {
  return formatRate(value);
}

type Describer = { readonly [N in AeonErrorName]: (args: AeonErrorArgs<N>) => string };

/** One message per error, with its numbers formatted. The mapped type makes it exhaustive. */
const MESSAGES: Describer = {
  // Clearing engine: accounts and margin
  InsufficientMargin: ([equity, required]) =>
    `Insufficient margin: margin ${formatUsd(equity)}, need ${formatUsd(required)} (equity without unrealized profit vs initial requirement and reservations)`,
  InsufficientCollateral: ([collateral, required]) =>
    `Collateral ${formatUsd(collateral)} below the minimum ${formatUsd(required)} for an account holding a position`,
  WithdrawExceedsCollateral: ([amount, collateral]) =>
    `Withdrawal of ${formatUsd(amount)} exceeds the collateral of ${formatUsd(collateral)}`,
  NotAccountOwner: ([accountId, caller]) => `Account ${accountId} is not owned by ${caller}`,
  UnknownAccount: (args) =>
    args.length === 1 ? `Account ${args[0]} does not exist` : `No account for ${args[0]} subaccount ${args[1]}: deposit first`,
  UnknownMarket: ([marketId]) => `Market ${marketId} is not listed`,
  TooManyMarkets: ([count]) => `Too many markets (${count})`,
  TooManyPositions: ([count]) => `Too many positions in one account (${count}); use another subaccount`,
  ZeroAmount: () => "The amount is zero",
  PricesInvalid: ([accountId]) => `Account ${accountId} holds a market without a valid price: opens, increases and withdrawals wait for it`,
  InvalidPrice: ([marketId, s]) => `Market ${marketId} has no valid price (${status(s)})`,
  MarketClosed: ([marketId]) => `Market ${marketId} is closed: only reducing orders are accepted`,
  OpeningPaused: () => "Opening positions is paused by the guardian; closing, withdrawing and liquidating still work",
  ReduceOnlyViolated: ([size, sizeDelta]) =>
    `Reduce-only order of ${formatSize(sizeDelta)} would not reduce the position of ${formatSize(size)}`,
  AcceptablePriceExceeded: ([fillPrice, acceptablePrice]) =>
    `Fill price ${formatPrice(fillPrice)} is worse than the acceptable ${formatPrice(acceptablePrice)}`,
  SkewBoundExceeded: ([skew, bound]) => `Market skew ${formatSize(skew)} would exceed its bound ${formatSize(bound)}`,
  OpenInterestCapExceeded: ([marketId, openInterest, cap]) =>
    `Open interest of market ${marketId} would reach ${formatUsd(openInterest)}, above its cap of ${formatUsd(cap)}`,
  ReserveExceeded: ([reserved, allowed]) =>
    `Open interest needs a pool reserve of ${formatUsd(reserved)}, the pool allows ${formatUsd(allowed)}`,
  NotLiquidatable: ([equity, mm]) => `Not liquidatable: equity ${formatUsd(equity)} is at or above maintenance ${formatUsd(mm)}`,
  FundingNotDue: ([marketId, next]) => `Funding of market ${marketId} is not due until ${formatTime(next)}`,
  InsufficientFund: ([amount, available]) => `Asked for ${formatUsd(amount)}, only ${formatUsd(available)} available`,
  ReservationTooLarge: ([released, reserved]) =>
    `Releasing ${formatUsd(released)} of margin, only ${formatUsd(reserved)} is reserved`,
  // Clearing engine: wiring and governance
  NotOrderBook: ([caller]) => `Only the order book may call this (caller ${caller})`,
  NotSelf: ([caller]) => `Only the engine itself may call this module function (caller ${caller})`,
  NotPool: ([caller]) => `Only the liquidity pool may call this (caller ${caller})`,
  ModulesAlreadySet: () => "The engine's order book and pool are already set",
  ParameterOutOfBounds: ([name, value, bound]) => `Parameter ${name} = ${value} is outside its hard bound ${bound}`,
  MaintenanceBelowBound: ([mmr, required]) =>
    `Maintenance rate ${percent(mmr)} is below the bound ${percent(required)} (liquidation fee + 2 deviation + gap buffer + kMax)`,
  CheckpointMissing: ([epoch, marketId]) =>
    `Epoch ${epoch} checkpoint missing for ${marketId === 2n ** 256n - 1n ? "the ledger" : `market ${marketId}`}: call checkpointAll after the cutoff`,
  // Order book
  NotEngine: ([caller]) => `Only the clearing engine may call this (caller ${caller})`,
  NotRiskRole: ([caller]) => `${caller} does not hold the risk role`,
  UnknownOrder: ([orderKey]) => `Order ${orderKey} does not exist (executed, cancelled or never created)`,
  NotOrderOwner: ([orderKey, caller]) => `Order ${orderKey} is not owned by ${caller}`,
  ZeroSize: () => "The order's size is zero",
  SizeTooLarge: ([size, maxSize]) => `Order size ${formatSize(size)} is above the market's maximum ${formatSize(maxSize)}`,
  NotionalTooSmall: ([notional, min]) => `Order notional ${formatUsd(notional)} is below the minimum ${formatUsd(min)}`,
  ExecutionFeeTooLow: ([fee, minFee]) => `Execution fee ${formatNative(fee)} is below the market's minimum ${formatNative(minFee)}`,
  ExecutionFeeNotWholeGwei: ([fee]) => `Execution fee ${fee} wei is not a whole number of gwei`,
  TooManyPendingOrders: ([accountId, max]) => `Account ${accountId} already has ${max} pending orders`,
  InvalidTriggerPrice: ([type, trigger]) =>
    `Trigger price ${formatPrice(trigger)} does not fit a ${orderType(type)} order (market orders take 0, others a price)`,
  InvalidAcceptablePrice: ([acceptable, max]) => `Acceptable price ${acceptable} is above the storable maximum ${max}`,
  LengthMismatch: ([fillRounds, previousRounds]) => `${fillRounds} fill rounds for ${previousRounds} previous rounds`,
  TakeProfitMustReduce: () => "A take-profit order must be reduce-only",
  PriceUnavailable: ([marketId, s]) => `Market ${marketId} has no usable price for this order (${status(s)})`,
  QueueEmpty: ([marketId]) => `Market ${marketId} has no queued order`,
  OrderQueued: ([orderKey]) => `Order ${orderKey} is queued: it can no longer be cancelled, it fills or expires`,
  TriggerRoundTooOld: ([startedAt, createdAt]) =>
    `The trigger round started at ${formatTime(startedAt)}, not after the order's creation at ${formatTime(createdAt)}`,
  TriggerNotMet: ([price, trigger]) => `Price ${formatPrice(price)} does not meet the trigger ${formatPrice(trigger)}`,
  NothingToClaim: () => "Nothing to claim",
  NativeTransferFailed: ([to, amount]) => `Sending ${formatNative(amount)} to ${to} failed`,
  // Liquidity pool
  NotAdmin: ([caller]) => `${caller} is not the admin`,
  AlreadyStarted: () => "The pool has already started",
  NotStarted: () => "The pool has not started yet",
  NotAuthorized: ([owner, caller]) => `${caller} may not act for ${owner} (not the owner or its operator)`,
  DepositTooSmall: ([assets, min]) => `Deposit of ${formatTokenAmount(assets)} is below the minimum ${formatTokenAmount(min)}`,
  PendingRequestInOtherEpoch: ([pending, requested]) =>
    `A request is pending for epoch ${pending}; a new one would join epoch ${requested}: claim or wait first`,
  RequestIrrevocable: ([epoch, cutoff]) => `The request of epoch ${epoch} became irrevocable at its cutoff ${formatTime(cutoff)}`,
  NoPendingRequest: ([controller]) => `${controller} has no pending request`,
  EpochNotOver: ([epoch, cutoff]) => `Epoch ${epoch} cannot settle before its cutoff ${formatTime(cutoff)}`,
  WrongPriceCount: ([given, markets]) => `${given} price rounds given for ${markets} markets`,
  EpochPriceMissing: ([marketId, waitUntil]) =>
    `Market ${marketId} has no price round after the cutoff yet; wait until ${formatTime(waitUntil)} for the fallback price`,
  ExceedsClaimable: ([amount, claimable]) => `Claiming ${amount}, only ${claimable} is claimable`,
  AsyncOnly: () => "Deposits and redemptions are asynchronous requests: there is no synchronous preview",
  // Vault
  InexactTransfer: ([expected, received]) =>
    `Token transfer moved ${formatTokenAmount(received)} instead of ${formatTokenAmount(expected)} (fee-on-transfer tokens are not supported)`,
  ZeroAddress: () => "The recipient is the zero address",
  UnsupportedDecimals: ([decimals]) => `Tokens with ${decimals} decimals are not supported`,
  // Chainlink round proofs
  DecimalsAboveWad: ([decimals]) => `Feed decimals ${decimals} are above 18`,
  InsufficientGasForFeedCall: ([gasLeft, required]) =>
    `Only ${gasLeft} gas left for a feed call that needs ${required}`,
  UnsupportedPhaseJump: ([anchor, round]) => `Round ${round} is more than one feed phase after the anchor round ${anchor}`,
  RoundNotFound: ([roundId]) => `Round ${roundId} does not exist on the feed`,
  RoundNotAfterTime: ([roundId, startedAt, time]) =>
    `Round ${roundId} started at ${formatTime(startedAt)}, not after ${formatTime(time)}`,
  PredecessorBeforeAnchor: ([previous, anchor]) => `Previous round ${previous} is older than the anchor round ${anchor}`,
  NotPredecessor: ([roundId, previous]) => `Round ${previous} is not the round right before ${roundId}`,
  PredecessorNotLastOfPhase: ([previous]) => `Round ${previous} is not the last round of its phase`,
  EarlierRoundQualifies: ([previous, startedAt, time]) =>
    `Round ${previous} already started after ${formatTime(time)} (at ${formatTime(startedAt)}): it is the fill round, not the one given`,
  // OpenZeppelin: access control, reentrancy, casts, tokens, signatures
  AccessControlUnauthorizedAccount: ([account, role]) => `${account} lacks the role ${role}`,
  AccessControlBadConfirmation: () => "Role renouncement must be confirmed by the account itself",
  ReentrancyGuardReentrantCall: () => "Reentrant call refused",
  SafeCastOverflowedUintDowncast: ([bits, value]) => `${value} does not fit in ${bits} bits`,
  SafeCastOverflowedIntDowncast: ([bits, value]) => `${value} does not fit in a signed ${bits}-bit integer`,
  SafeCastOverflowedUintToInt: ([value]) => `${value} is too large for a signed integer`,
  ERC20InsufficientBalance: ([sender, balance, needed]) =>
    `Token balance of ${sender} is ${formatTokenAmount(balance)}, need ${formatTokenAmount(needed)}`,
  ERC20InsufficientAllowance: ([spender, allowance, needed]) =>
    `Token allowance of ${spender} is ${formatTokenAmount(allowance)}, need ${formatTokenAmount(needed)}`,
  ERC20InvalidApprover: ([approver]) => `Invalid token approver ${approver}`,
  ERC20InvalidReceiver: ([receiver]) => `Invalid token receiver ${receiver}`,
  ERC20InvalidSender: ([sender]) => `Invalid token sender ${sender}`,
  ERC20InvalidSpender: ([spender]) => `Invalid token spender ${spender}`,
  ERC2612ExpiredSignature: ([deadline]) => `The permit expired at ${formatTime(deadline)}`,
  ERC2612InvalidSigner: ([signer, owner]) => `The permit was signed by ${signer}, not by the owner ${owner}`,
  InvalidAccountNonce: ([account, nonce]) => `Wrong nonce for ${account}: the current one is ${nonce}`,
  ECDSAInvalidSignature: () => "Invalid signature",
  ECDSAInvalidSignatureLength: ([length]) => `Invalid signature length ${length}`,
  ECDSAInvalidSignatureS: ([s]) => `Invalid signature s value ${s}`,
  InvalidShortString: () => "Invalid short string",
  StringTooLong: ([text]) => `String too long: ${text}`,
  SafeERC20FailedOperation: ([token]) => `Token operation on ${token} failed`,
};

/** What to do next, for the errors where the caller can act. */
const HINTS: Partial<Record<AeonErrorName, string>> = {
  InsufficientMargin: "Deposit more collateral, reduce the order's size, or close another position first.",
  InsufficientCollateral: "Withdraw less, or close the position first.",
  WithdrawExceedsCollateral: "Read `withdrawable` from getAccount and withdraw at most that.",
  UnknownAccount: "Deposit collateral to create the account.",
  PricesInvalid: "Wait for a fresh price round, or close the position in the market without a price.",
  OpeningPaused: "Only reduce-only orders execute while opening is paused.",
  AcceptablePriceExceeded: "Widen the acceptable price (slippage bound) or retry later.",
  FundingNotDue: "Settle after the next settlement time.",
  ExecutionFeeTooLow: "Leave executionFee unset: the SDK pays the market's minimum.",
  TooManyPendingOrders: "Wait for pending orders to execute, or cancel untriggered ones.",
  OrderQueued: "Queued orders cannot be cancelled; they fill or expire.",
  NotionalTooSmall: "Increase the order's size.",
  SizeTooLarge: "Split the order.",
  NothingToClaim: "Check the credits before claiming.",
  EarlierRoundQualifies: "Execute with the first round after the order's creation.",
  NotPredecessor: "Pass (fillRoundId, previousRoundId) where previousRoundId is the fill round's predecessor.",
  PendingRequestInOtherEpoch: "Claim the settled request first (claimLpShares / claimLpAssets).",
  ERC20InsufficientAllowance: "Approve the vault for the amount, or use depositWithPermit.",
  ERC20InsufficientBalance: "Top up the wallet's token balance.",
  InsufficientGasForFeedCall: "Retry with a higher gas limit (let the node estimate it).",
};

/** The human message (numbers formatted) and hint of a decoded error. */
export function describeAeonError(decoded: AeonDecodedError): { message: string; hint: string | undefined } {
  const describe = MESSAGES[decoded.errorName] as ((args: AeonErrorArgs) => string) | undefined;
  const message = describe === undefined ? `${decoded.errorName}(${decoded.args.map(String).join(", ")})` : describe(decoded.args);
  return { message, hint: HINTS[decoded.errorName] };
}

/** Every error name the SDK has a dedicated message for. */
export function describedErrorNames(): readonly AeonErrorName[] {
  return Object.keys(MESSAGES) as AeonErrorName[];
}
