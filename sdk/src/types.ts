/**
 * Plain readonly mirrors of the engine's Solidity structs (`contracts/EngineBase.sol`,
 * `contracts/libraries/ChainlinkLib.sol`). Field types follow viem's ABI decoding: integers of
 * 48 bits or fewer are `number`, wider ones `bigint`, so the objects the contracts' views return
 * (directly or through `AeonLens`) can be passed to the math module as they are.
 */

/** An EVM address, as viem types it. */
export type Address = `0x${string}`;

/** `ChainlinkLib.Feed`: a Chainlink feed and its validation bounds. */
export interface FeedConfig {
  readonly aggregator: Address;
  readonly decimals: number;
  readonly heartbeat: number;
  /** WAD */
  readonly minPrice: bigint;
  /** WAD */
  readonly maxPrice: bigint;
}

/** `EngineBase.MarketConfig`: a market's parameters (WAD fractions unless noted). */
export interface MarketConfig {
  readonly feed: FeedConfig;
  /** S, size units (WAD) */
  readonly skewScale: bigint;
  /** Per side, USD notional (WAD) */
  readonly maxOpenInterestUsd: bigint;
  readonly kMax: bigint;
  readonly takerFee: bigint;
  readonly makerFee: bigint;
  readonly liquidationFee: bigint;
  readonly deviation: bigint;
  readonly gapBuffer: bigint;
  /** Seconds */
  readonly fundingInterval: number;
  /** Per funding interval (signed) */
  readonly interestRate: bigint;
  /** Per funding interval */
  readonly fundingCap: bigint;
  readonly borrowFloor: bigint;
  readonly borrowKink: bigint;
  readonly borrowKinkRate: bigint;
  readonly borrowMaxRate: bigint;
  readonly closed: boolean;
}

/** `EngineBase.MarginTier`: applies while the market's total open interest (USD) is at most `maxOpenInterestUsd`. */
export interface MarginTier {
  readonly maxOpenInterestUsd: bigint;
  readonly imr: bigint;
  readonly mmr: bigint;
}

/** `EngineBase.GlobalConfig`: protocol-wide parameters (USD amounts and fractions in WAD). */
export interface GlobalConfig {
  readonly keeperRewardFloor: bigint;
  readonly minCollateral: bigint;
  readonly reserveFactor: bigint;
  readonly lpFeeShare: bigint;
  readonly insuranceFeeShare: bigint;
  readonly maxPnlFactor: bigint;
  readonly keeperRewardCap: bigint;
  readonly keeperRewardShare: bigint;
  readonly lossHaircut: bigint;
}

/** `EngineBase.MarketState`: a market's aggregates and accumulators. */
export interface MarketState {
  readonly longSize: bigint;
  readonly shortSize: bigint;
  readonly costSum: bigint;
  readonly fundingSnapSum: bigint;
  readonly borrowSnapSum: bigint;
  readonly cumFunding: bigint;
  readonly cumBorrow: bigint;
  readonly cumRate: bigint;
  readonly cumPremium: bigint;
  readonly lastAccrual: bigint;
  readonly lastSettlement: bigint;
  readonly lastPrice: bigint;
  readonly settledCumRate: bigint;
  readonly settledCumPremium: bigint;
}

/** `EngineBase.Position`: one account's net position in one market. */
export interface Position {
  /** Base units (WAD), long > 0 */
  readonly size: bigint;
  /** size * entry price (WAD USD), signed like size */
  readonly cost: bigint;
  readonly fundingSnap: bigint;
  readonly borrowSnap: bigint;
  /** Margin tier fixed when the position opened or last grew */
  readonly tier: number;
}

/** `EngineBase.Account`: an account's ledger entry (`toAccount` of the stored one). */
export interface Account {
  /** WAD; negative: a debt to the pool */
  readonly collateral: bigint;
  /** Held by pending orders (WAD) */
  readonly reservedMargin: bigint;
  readonly owner: Address;
  readonly subaccount: number;
  /** Bit m set: a position in market m */
  readonly marketMask: bigint;
}

/** `AeonLens.PositionView`: a position with its market id. */
export interface PositionEntry {
  readonly marketId: number;
  readonly position: Position;
}

/** A market as the math needs it: its config and its state (as stored, or already accrued). */
export interface MarketEntry {
  readonly config: MarketConfig;
  readonly state: MarketState;
}

/**
 * A market's latest price as the engine's `_latestPrice` returns it: the latest round's price
 * when it is usable, else the last valid price stored; `valid` is true when the latest round's
 * status is `ChainlinkLib.Status.Valid` (the lens's `MarketView.price` and `status === 0`).
 */
export interface MarketPrice {
  readonly price: bigint;
  readonly valid: boolean;
}

/** `EngineBase.Health`: an account's valuation, plus the liquidatable flag of `accountHealth`. */
export interface Health {
  /** collateral + PnL at the index - accrued funding and borrowing */
  readonly equity: bigint;
  /** Sum of positive per-position PnL (net of its own funding and borrowing) */
  readonly positivePnl: bigint;
  readonly initialMargin: bigint;
  readonly maintenanceMargin: bigint;
  /** Every held market has a valid price */
  readonly pricesValid: boolean;
  readonly positionCount: bigint;
  /** equity < maintenanceMargin (an account with an owner) */
  readonly liquidatable: boolean;
}

/** The pool's ledger entries the engine reads in `_poolBaseValue`. */
export interface PoolLedger {
  readonly poolCash: bigint;
  readonly totalDebt: bigint;
}

/** `SkewCurveLib.Quote`: the curve's price for one fill. */
export interface Quote {
  /** Part of |sizeDelta| that shrinks |K| */
  readonly shrinkSize: bigint;
  /** Part of |sizeDelta| that grows |K| */
  readonly growSize: bigint;
  /** Price impact charged (WAD USD, rounded up) */
  readonly impactUsd: bigint;
  /** Fee on the growing part (rounded up) */
  readonly takerFeeUsd: bigint;
  /** Fee on the shrinking part (rounded up) */
  readonly makerFeeUsd: bigint;
  /** Average price including impact: above the index for buys, below for sells */
  readonly fillPrice: bigint;
}

/** An engine error as the contract raises it: the custom error's name and its arguments. */
export type EngineError =
  | { readonly name: "MarketClosed"; readonly args: readonly [number] }
  | { readonly name: "ReduceOnlyViolated"; readonly args: readonly [bigint, bigint] }
  | { readonly name: "AcceptablePriceExceeded"; readonly args: readonly [bigint, bigint] }
  | { readonly name: "OpeningPaused"; readonly args: readonly [] }
  | { readonly name: "SkewBoundExceeded"; readonly args: readonly [bigint, bigint] }
  | { readonly name: "OpenInterestCapExceeded"; readonly args: readonly [number, bigint, bigint] }
  | { readonly name: "ReserveExceeded"; readonly args: readonly [bigint, bigint] }
  | { readonly name: "TooManyPositions"; readonly args: readonly [bigint] }
  | { readonly name: "PricesInvalid"; readonly args: readonly [number] }
  | { readonly name: "InsufficientCollateral"; readonly args: readonly [bigint, bigint] }
  | { readonly name: "InsufficientMargin"; readonly args: readonly [bigint, bigint] };
