/**
 * The off-chain copy of the contracts' fixed-point math (SPEC section 1). Every function names
 * its rounding like `contracts/libraries/MathLib.sol`; results match the contracts to the wei.
 *
 * Sections: the MathLib mirror, the skew curve (`SkewCurveLib.quote`), funding and borrowing
 * (`FundingLib`, `EngineBase._rates`, `_accrueInMemoryTo`, `_accruedOnPosition`), valuation
 * (`_health`, `_marketValuation`, `_poolBaseValue`), the liquidation price, the trade preview
 * (`EngineBase._trade` as `ClearingEngine.fill` runs it) and the order reservation
 * (`OrderBook._notionalFor`, `ClearingEngine.reserveOrderMargin`). SafeCast overflows of the contracts are not modelled.
 */
import type {
  Account,
  EngineError,
  GlobalConfig,
  Health,
  MarginTier,
  MarketConfig,
  MarketEntry,
  MarketPrice,
  MarketState,
  PoolLedger,
  Position,
  PositionEntry,
  Quote,
} from "./types.js";

/* ------------------------------------------------------------------ */
/*                              MathLib                                */
/* ------------------------------------------------------------------ */

/** 1e18: prices, USD values and fractions are WAD. */
export const WAD = 10n ** 18n;

/** Seconds in the borrowing rate's year (`FundingLib.YEAR`). */
export const YEAR = 365n * 24n * 3600n;

/** x * y / d rounded down (x, y, d >= 0). */
export function mulDivDown(x: bigint, y: bigint, d: bigint): bigint {
  return (x * y) / d;
}

/** x * y / d rounded up (x, y, d >= 0). */
export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  const product = x * y;
  return product === 0n ? 0n : (product - 1n) / d + 1n;
}

/** x * y / WAD rounded down. */
export function wMulDown(x: bigint, y: bigint): bigint {
  return mulDivDown(x, y, WAD);
}

/** x * y / WAD rounded up. */
export function wMulUp(x: bigint, y: bigint): bigint {
  return mulDivUp(x, y, WAD);
}

/** x * WAD / y rounded down. */
export function wDivDown(x: bigint, y: bigint): bigint {
  return mulDivDown(x, WAD, y);
}

/** x * WAD / y rounded up. */
export function wDivUp(x: bigint, y: bigint): bigint {
  return mulDivUp(x, WAD, y);
}

/** x * y / d for a signed x (y, d >= 0), rounded toward minus infinity. */
export function mulDivFloor(x: bigint, y: bigint, d: bigint): bigint {
  return x >= 0n ? mulDivDown(x, y, d) : -mulDivUp(-x, y, d);
}

/** x * y / d for a signed x (y, d >= 0), rounded toward plus infinity. */
export function mulDivCeil(x: bigint, y: bigint, d: bigint): bigint {
  return x >= 0n ? mulDivUp(x, y, d) : -mulDivDown(-x, y, d);
}

/** x * y / WAD for a signed x, rounded toward minus infinity. */
export function wMulFloor(x: bigint, y: bigint): bigint {
  return mulDivFloor(x, y, WAD);
}

/** x * y / WAD for a signed x, rounded toward plus infinity. */
export function wMulCeil(x: bigint, y: bigint): bigint {
  return mulDivCeil(x, y, WAD);
}

/** A token amount in `decimals` (at most 18) to WAD, exactly. */
export function toWad(amount: bigint, decimals: number): bigint {
  return amount * 10n ** BigInt(18 - decimals);
}

/** WAD to token units, rounded down (what a user receives). */
export function fromWadDown(wad: bigint, decimals: number): bigint {
  return wad / 10n ** BigInt(18 - decimals);
}

/** WAD to token units, rounded up (what a user owes). */
export function fromWadUp(wad: bigint, decimals: number): bigint {
  return mulDivUp(wad, 1n, 10n ** BigInt(18 - decimals));
}

/** |x|. */
export function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/** Positive part of x: max(x, 0). */
export function pos(x: bigint): bigint {
  return x > 0n ? x : 0n;
}

/** The smaller of a and b (signed or not). */
export function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** The larger of a and b (signed or not). */
export function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/* ------------------------------------------------------------------ */
/*                             SKEW CURVE                              */
/* ------------------------------------------------------------------ */

/** The market parameters the curve reads. */
export type CurveParameters = Pick<MarketConfig, "skewScale" | "kMax" | "takerFee" | "makerFee">;

/**
 * `SkewCurveLib.quote`: the part of a fill that shrinks |K| fills at the index and pays the maker
 * fee; the part that grows |K| from a to b pays `index * (a + b) / 2S` per unit (capped at kMax),
 * all rounded up, and the taker fee (rounded up). The fill price carries the impact per unit,
 * rounded up and added for buys, subtracted for sells.
 * @param skew long minus short open interest before the fill (WAD size)
 * @param sizeDelta signed fill size (long > 0)
 * @param price index price of the fill (WAD)
 */
export function quoteFill(skew: bigint, sizeDelta: bigint, price: bigint, market: CurveParameters): Quote {
  const size = abs(sizeDelta);
  const skewAbs = abs(skew);
  const against = (skew > 0n && sizeDelta < 0n) || (skew < 0n && sizeDelta > 0n);
  const shrinkSize = against ? min(size, skewAbs) : 0n;
  const growSize = size - shrinkSize;
  let impactUsd = 0n;
  let takerFeeUsd = 0n;
  let makerFeeUsd = 0n;
  let fillPrice = price;
  if (growSize !== 0n) {
    const from = against ? 0n : skewAbs;
    const premiumTimes2S = from + from + growSize;
    const growNotional = mulDivUp(growSize, price, WAD);
    impactUsd =
      mulDivUp(premiumTimes2S, WAD, 2n * market.skewScale) > market.kMax
        ? mulDivUp(growNotional, market.kMax, WAD)
        : mulDivUp(growNotional, premiumTimes2S, 2n * market.skewScale);
    takerFeeUsd = mulDivUp(growNotional, market.takerFee, WAD);
    const impactPerUnit = mulDivUp(impactUsd, WAD, size);
    fillPrice = sizeDelta > 0n ? price + impactPerUnit : price - impactPerUnit;
  }
  if (shrinkSize !== 0n) {
    makerFeeUsd = mulDivUp(mulDivUp(shrinkSize, price, WAD), market.makerFee, WAD);
  }
  return { shrinkSize, growSize, impactUsd, takerFeeUsd, makerFeeUsd, fillPrice };
}

/* ------------------------------------------------------------------ */
/*                        FUNDING AND BORROWING                        */
/* ------------------------------------------------------------------ */

/** Long minus short open interest of a market (WAD size). */
export function skewOf(state: Pick<MarketState, "longSize" | "shortSize">): bigint {
  return state.longSize - state.shortSize;
}

/**
 * `FundingLib.fundingRate`: `clamp(K / S + interestRate, -cap, +cap)` per funding interval
 * (positive: longs pay); the premium K / S is rounded toward minus infinity.
 */
export function fundingRate(
  skew: bigint,
  config: Pick<MarketConfig, "skewScale" | "interestRate" | "fundingCap">,
): { readonly rate: bigint; readonly premium: bigint } {
  const premium = mulDivFloor(skew, WAD, config.skewScale);
  const rate = max(-config.fundingCap, min(config.fundingCap, premium + config.interestRate));
  return { rate, premium };
}

/** `FundingLib.fundingPerUnit`: funding per unit of size over `dt` seconds at `price`, rounded toward minus infinity. */
export function fundingPerUnitFloor(rate: bigint, price: bigint, dt: bigint, interval: bigint): bigint {
  return mulDivFloor(rate, price * dt, interval * WAD);
}

/**
 * `EngineBase._rates`' utilization: (long + short open interest) notional at `price` (rounded up)
 * over twice the per-side cap, rounded up.
 */
export function utilizationUp(
  state: Pick<MarketState, "longSize" | "shortSize">,
  config: Pick<MarketConfig, "maxOpenInterestUsd">,
  price: bigint,
): bigint {
  const oiUsd = mulDivUp(state.longSize + state.shortSize, price, WAD);
  return mulDivUp(oiUsd, WAD, 2n * config.maxOpenInterestUsd);
}

/**
 * `FundingLib.borrowRate`: the yearly borrowing rate at utilization `u` (WAD): the floor at 0,
 * the kink rate at the kink, the max rate at 1 and above, linear between (rounded up).
 */
export function borrowRate(
  u: bigint,
  config: Pick<MarketConfig, "borrowFloor" | "borrowKink" | "borrowKinkRate" | "borrowMaxRate">,
): bigint {
  if (u >= WAD) return config.borrowMaxRate;
  if (u <= config.borrowKink) {
    return config.borrowFloor + mulDivUp(config.borrowKinkRate - config.borrowFloor, u, config.borrowKink);
  }
  return config.borrowKinkRate + mulDivUp(config.borrowMaxRate - config.borrowKinkRate, u - config.borrowKink, WAD - config.borrowKink);
}

/** `FundingLib.borrowPerUnit`: borrowing per unit of |size| over `dt` seconds at `price`, rounded up. */
export function borrowPerUnitUp(yearlyRate: bigint, price: bigint, dt: bigint): bigint {
  return mulDivUp(yearlyRate, price * dt, YEAR * WAD);
}

/** `EngineBase._rates`: the market's current funding rate (per interval) and yearly borrowing rate at `price`. */
export function marketRates(
  state: MarketState,
  config: MarketConfig,
  price: bigint,
): { readonly fundingRate: bigint; readonly borrowRate: bigint } {
  return {
    fundingRate: fundingRate(skewOf(state), config).rate,
    borrowRate: borrowRate(utilizationUp(state, config, price), config),
  };
}

/**
 * `EngineBase._accrueInMemoryTo`: the market's accumulators advanced from `lastAccrual` to `to`
 * at `price` (funding floored, borrowing rounded up, both per unit). Returns `state` unchanged
 * when `to <= lastAccrual`. `lastPrice` is not touched (the engine's `_accrue` updates it).
 */
export function accrueMarket(state: MarketState, config: MarketConfig, price: bigint, to: bigint): MarketState {
  if (to <= state.lastAccrual) return state;
  const dt = to - state.lastAccrual;
  const { rate, premium } = fundingRate(skewOf(state), config);
  const yearly = marketRates(state, config, price).borrowRate;
  const interval = BigInt(config.fundingInterval);
  return {
    ...state,
    cumFunding: state.cumFunding + fundingPerUnitFloor(rate, price, dt, interval),
    cumBorrow: state.cumBorrow + borrowPerUnitUp(yearly, price, dt),
    cumRate: state.cumRate + mulDivFloor(rate, dt, interval),
    cumPremium: state.cumPremium + mulDivFloor(premium, dt, interval),
    lastAccrual: to,
  };
}

/**
 * Funding a position of `size` owes for a change `fundingDelta` of the per-unit index, rounded
 * against the position: up when it pays, toward zero magnitude when it receives (negative).
 */
export function fundingOwedUp(size: bigint, fundingDelta: bigint): bigint {
  return fundingDelta >= 0n ? mulDivCeil(size, fundingDelta, WAD) : -mulDivFloor(size, -fundingDelta, WAD);
}

/**
 * `EngineBase._accruedOnPosition`: funding (signed; negative means the position receives) and
 * borrowing a position owes since its snapshots, both rounded against the position.
 */
export function accruedOnPosition(
  position: Position,
  cumFunding: bigint,
  cumBorrow: bigint,
): { readonly fundingOwed: bigint; readonly borrowOwed: bigint } {
  if (position.size === 0n) return { fundingOwed: 0n, borrowOwed: 0n };
  return {
    fundingOwed: fundingOwedUp(position.size, cumFunding - position.fundingSnap),
    borrowOwed: mulDivUp(abs(position.size), cumBorrow - position.borrowSnap, WAD),
  };
}

/* ------------------------------------------------------------------ */
/*                              VALUATION                              */
/* ------------------------------------------------------------------ */

/** `EngineBase._movedAgainst`: a last valid price moved against a position by `gapBuffer` (down for longs, up otherwise). */
export function movedAgainst(price: bigint, gapBuffer: bigint, size: bigint): bigint {
  return size > 0n ? mulDivDown(price, WAD - gapBuffer, WAD) : mulDivUp(price, WAD + gapBuffer, WAD);
}

/**
 * `EngineBase._marketValuation`: funding and borrowing traders owe the pool (rounded down, the
 * pool's asset) and traders' PnL at `price` (rounded up, its liability).
 */
export function marketValuation(
  state: MarketState,
  price: bigint,
): { readonly receivable: bigint; readonly tradersPnl: bigint } {
  const skew = skewOf(state);
  const funding = mulDivFloor(skew * state.cumFunding - state.fundingSnapSum, 1n, WAD);
  const borrowing = ((state.longSize + state.shortSize) * state.cumBorrow - state.borrowSnapSum) / WAD;
  return { receivable: funding + borrowing, tradersPnl: mulDivCeil(skew, price, WAD) - state.costSum };
}

/**
 * `EngineBase._poolBaseValue` and `_scaleProfit`'s traders' PnL: base value (cash + debts +
 * receivables; the engine reads the receivables from its pool totals, equal to these per-market
 * sums) and traders' PnL, from every market's state as given (not accrued further) at its `lastPrice`.
 */
export function poolValuation(
  states: readonly MarketState[],
  ledger: PoolLedger,
): { readonly baseValue: bigint; readonly tradersPnl: bigint } {
  let baseValue = ledger.poolCash + ledger.totalDebt;
  let tradersPnl = 0n;
  for (const state of states) {
    const v = marketValuation(state, state.lastPrice);
    baseValue += v.receivable;
    tradersPnl += v.tradersPnl;
  }
  return { baseValue, tradersPnl };
}

/**
 * `EngineBase._scaleProfit`: a realized profit scaled by min(1, cap / tradersPnl), rounded down,
 * while traders' net profit exceeds `maxPnlFactor` times the base value (0 when the cap is not positive).
 */
export function scaleProfitDown(
  profit: bigint,
  valuation: { readonly baseValue: bigint; readonly tradersPnl: bigint },
  maxPnlFactor: bigint,
): bigint {
  const cap = valuation.baseValue > 0n ? mulDivFloor(valuation.baseValue, maxPnlFactor, WAD) : 0n;
  if (valuation.tradersPnl <= cap) return profit;
  if (cap <= 0n) return 0n;
  return mulDivFloor(profit, cap, valuation.tradersPnl);
}

/** `EngineBase._tierFor`: the tier whose threshold the market's total open interest at `price` (rounded up) falls under; the last beyond all. */
export function tierFor(
  state: Pick<MarketState, "longSize" | "shortSize">,
  tiers: readonly MarginTier[],
  price: bigint,
): number {
  const oiUsd = mulDivUp(state.longSize + state.shortSize, price, WAD);
  const last = tiers.length - 1;
  for (let i = 0; i < last; ++i) {
    const tier = tiers[i];
    if (tier !== undefined && oiUsd <= tier.maxOpenInterestUsd) return i;
  }
  return last;
}

/** A market's price for one valuation: `prices[m]`, except `marketId` valued at `price` with its state taken as already accrued (a fill). */
export interface PriceOverride {
  readonly marketId: number;
  readonly price: bigint;
}

function at<T>(list: readonly T[], index: number, what: string): T {
  const item = list[index];
  if (item === undefined) throw new Error(`aeon math: no ${what} for market ${index}`);
  return item;
}

/**
 * `EngineBase._health` and `_isLiquidatable`: values every position of the account's market mask
 * at its market's latest price, each market's state first accrued in memory to `now` at that
 * price; a market without a valid price (or closed) counts at that price moved against the
 * position by `gapBuffer`. PnL floors, notional and requirements round up; MM includes the
 * keeper reward floor when the account holds a position.
 * @param positions the account's positions (at least those in its market mask), e.g. the lens's `positions`
 * @param markets configs and states by market id: stored states, or accrued to `now` already (the lens's)
 * @param tiers margin tiers by market id
 * @param prices latest prices by market id (`_latestPrice`)
 * @param now the valuation time (block.timestamp)
 * @param override a market valued at a fill price with its state already accrued (`_health`'s override)
 */
export function accountHealth(
  account: Account,
  positions: readonly PositionEntry[],
  markets: readonly MarketEntry[],
  globalConfig: GlobalConfig,
  tiers: readonly (readonly MarginTier[])[],
  prices: readonly MarketPrice[],
  now: bigint,
  override?: PriceOverride,
): Health {
  // A keeper values many accounts per block: one pass over the mask's bits, no per-position
  // allocation when the states are accrued to `now` already, and each |size| * price once.
  let equity = account.collateral;
  let positivePnl = 0n;
  let initialMargin = 0n;
  let maintenanceMargin = 0n;
  let pricesValid = true;
  let positionCount = 0n;
  let mask = account.marketMask;
  for (let marketId = 0; mask !== 0n; ++marketId, mask >>= 1n) {
    if ((mask & 1n) === 0n) continue;
    const position = positionIn(positions, marketId);
    const { config, state: stored } = at(markets, marketId, "market");
    let price: bigint;
    let state = stored;
    if (override !== undefined && override.marketId === marketId) {
      price = override.price;
    } else {
      const latest = at(prices, marketId, "price");
      if (now > stored.lastAccrual) state = accrueMarket(stored, config, latest.price, now);
      const valid = latest.valid && !config.closed;
      price = valid ? latest.price : movedAgainst(latest.price, config.gapBuffer, position.size);
      if (!valid) pricesValid = false;
    }
    const { fundingOwed, borrowOwed } = accruedOnPosition(position, state.cumFunding, state.cumBorrow);
    // |size| * price once: the PnL floors it (signed) and the notional rounds it up.
    const size = position.size;
    const product = (size < 0n ? -size : size) * price;
    const notional = product === 0n ? 0n : (product - 1n) / WAD + 1n;
    const value = size >= 0n ? product / WAD : -notional;
    const pnl = value - position.cost - fundingOwed - borrowOwed;
    equity += pnl;
    if (pnl > 0n) positivePnl += pnl;
    const tier = at(at(tiers, marketId, "tiers"), position.tier, "tier");
    initialMargin += mulDivUp(notional, tier.imr, WAD);
    maintenanceMargin += mulDivUp(notional, tier.mmr, WAD);
    ++positionCount;
  }
  if (positionCount !== 0n) maintenanceMargin += globalConfig.keeperRewardFloor;
  const liquidatable = equity < maintenanceMargin && !ZERO_ADDRESS.test(account.owner);
  return { equity, positivePnl, initialMargin, maintenanceMargin, pricesValid, positionCount, liquidatable };
}

const ZERO_ADDRESS = /^0x0{40}$/i;

function positionIn(positions: readonly PositionEntry[], marketId: number): Position {
  for (const entry of positions) if (entry.marketId === marketId) return entry.position;
  throw new Error(`aeon math: no position for market ${marketId} in the mask`);
}

/**
 * `EngineBase._requireInitialMargin`: E - positive PnL >= max(IM, MM) + reserved. Returns the
 * `InsufficientMargin` error the engine would raise, or undefined when the check passes.
 */
export function initialMarginError(health: Health, reserved: bigint): EngineError | undefined {
  const equityWithoutProfit = health.equity - health.positivePnl;
  const required = max(health.initialMargin, health.maintenanceMargin) + reserved;
  return equityWithoutProfit < required
    ? { name: "InsufficientMargin", args: [equityWithoutProfit, required] }
    : undefined;
}

/* ------------------------------------------------------------------ */
/*                          LIQUIDATION PRICE                          */
/* ------------------------------------------------------------------ */

/** Smallest price step of an 8-decimal Chainlink feed, in WAD: 1e10 wei (one unit of the 8th decimal). */
export const FEED_TICK_8_DECIMALS = 10n ** 10n;

/** What `liquidationPrice` needs: an account's valuation inputs and the market whose price moves. */
export interface LiquidationPriceInput {
  readonly account: Account;
  readonly positions: readonly PositionEntry[];
  readonly markets: readonly MarketEntry[];
  readonly globalConfig: GlobalConfig;
  readonly tiers: readonly (readonly MarginTier[])[];
  readonly prices: readonly MarketPrice[];
  readonly now: bigint;
  readonly marketId: number;
  /** The feed's price step in WAD; default `FEED_TICK_8_DECIMALS` (1e10, an 8-decimal feed). */
  readonly tick?: bigint;
}

/**
 * The price of `marketId` at which the account crosses its maintenance requirement, every other
 * market held at its price in `prices`, as a valid round of that market's feed would set it at
 * `now` (the market's stored state is accrued to `now` at that price, as `_health` does).
 *
 * The result is a multiple of `tick` (the feed's smallest price step: 1e10 wei for an 8-decimal
 * feed) such that the account is healthy (E >= MM) at it and liquidatable (E < MM) one tick
 * past it: one tick lower for a long, one tick higher for a short. It comes from the linear
 * equation E(P) = MM(P) (solved by two secant steps on the exact valuation, which is linear
 * up to rounding and accrual) and is then moved in ticks, with an exponential search and a
 * bisection, until both conditions hold with the contract's rounding.
 *
 * Undefined when the account holds no position in the market, or no positive price is such a
 * boundary (a long that stays healthy down to one tick, or a short already liquidatable at one tick).
 */
export function liquidationPrice(input: LiquidationPriceInput): bigint | undefined {
  const tick = input.tick ?? FEED_TICK_8_DECIMALS;
  const size = input.positions.find((p) => p.marketId === input.marketId)?.position.size ?? 0n;
  if (size === 0n || ((input.account.marketMask >> BigInt(input.marketId)) & 1n) === 0n) return undefined;
  const surplus = (price: bigint): bigint => {
    const prices = input.prices.map((p, i) => (i === input.marketId ? { price, valid: true } : p));
    const h = accountHealth(input.account, input.positions, input.markets, input.globalConfig, input.tiers, prices, input.now);
    return h.equity - h.maintenanceMargin;
  };
  // healthy(k): E >= MM at k ticks; false for all small k then true for a long, the reverse for a short.
  const healthy = (k: bigint): boolean => surplus(k * tick) >= 0n;
  const long = size > 0n;
  if (long ? healthy(1n) : !healthy(1n)) return undefined;

  // Secant guess, in ticks.
  let p1 = max(at(input.prices, input.marketId, "price").price, tick);
  let p2 = p1 * 2n;
  for (let i = 0; i < 2; ++i) {
    const f1 = surplus(p1);
    const f2 = surplus(p2);
    if (f1 === f2) break;
    const next = p1 - (f1 * (p2 - p1)) / (f2 - f1);
    p2 = p1;
    p1 = max(next, tick);
  }
  const guess = max(p1 / tick, 1n);
  // For a long find the smallest healthy k; for a short the largest healthy k, as the first
  // unhealthy k minus one. `boundary(k)` is false below the crossing and true from it on.
  const boundary = long ? healthy : (k: bigint): boolean => !healthy(k);
  let lo: bigint;
  let hi: bigint;
  if (boundary(guess)) {
    hi = guess;
    let step = 1n;
    lo = hi - step;
    while (lo >= 1n && boundary(lo)) {
      hi = lo;
      step *= 2n;
      lo = hi - step;
    }
    lo = max(lo, 0n); // boundary(0) is false: checked at k = 1 above
  } else {
    lo = guess;
    let step = 1n;
    hi = lo + step;
    while (!boundary(hi)) {
      lo = hi;
      step *= 2n;
      hi = lo + step;
    }
  }
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (boundary(mid)) hi = mid;
    else lo = mid;
  }
  return long ? hi * tick : lo * tick;
}

/* ------------------------------------------------------------------ */
/*                            TRADE PREVIEW                            */
/* ------------------------------------------------------------------ */

/** Everything `ClearingEngine.fill` reads for one order fill. */
export interface TradeInput {
  readonly accountId: number;
  /** The account before the fill; `reservedMargin` still includes this order's reservation. */
  readonly account: Account;
  /** The account's positions (at least those in its market mask). */
  readonly positions: readonly PositionEntry[];
  readonly marketId: number;
  /** Signed size (long > 0). */
  readonly sizeDelta: bigint;
  /** Index price of the fill (the proved round's, or the worse one of a late execution). */
  readonly price: bigint;
  /** Worst average fill price: a buy's maximum, a sell's minimum (`type(uint256).max` for no bound). */
  readonly acceptablePrice: bigint;
  readonly reduceOnly: boolean;
  /** The order's reservation in WAD, released by the fill. */
  readonly reservation: bigint;
  /** Configs and stored states (`engine.marketState`, not accrued) by market id. */
  readonly markets: readonly MarketEntry[];
  readonly tiers: readonly (readonly MarginTier[])[];
  /** Latest prices by market id at `now` (`_latestPrice`). */
  readonly prices: readonly MarketPrice[];
  readonly globalConfig: GlobalConfig;
  /** `engine.poolCash()` and `engine.totalDebt()`. */
  readonly pool: PoolLedger;
  readonly openingPaused: boolean;
  /** block.timestamp of the fill. */
  readonly now: bigint;
  /** Feed price step for the liquidation price; default `FEED_TICK_8_DECIMALS`. */
  readonly tick?: bigint;
}

/** The fee split of `_creditFeeShares`: LPs rounded up, insurance down, the treasury the rest. */
export interface FeeShares {
  readonly lp: bigint;
  readonly insurance: bigint;
  readonly treasury: bigint;
}

/** The outcome of one fill, as `_trade` computes it. */
export interface TradePreview {
  /** True when the engine fills; false when it reverts with `error` (the order book cancels the order). */
  readonly accepted: boolean;
  /** The first rule the fill breaks, with the engine's arguments. */
  readonly error: EngineError | undefined;
  readonly fillPrice: bigint;
  readonly impactUsd: bigint;
  readonly takerFeeUsd: bigint;
  readonly makerFeeUsd: bigint;
  /** takerFeeUsd + makerFeeUsd (`PositionChanged.feeUsd`). */
  readonly feeUsd: bigint;
  readonly feeShares: FeeShares;
  /** Closing PnL at the index, profit scaled while the pool's PnL cap binds. */
  readonly realizedPnl: bigint;
  /** Funding realized (signed; negative: received). */
  readonly fundingPaid: bigint;
  readonly borrowingPaid: bigint;
  readonly newSize: bigint;
  readonly newCost: bigint;
  readonly newTier: number;
  readonly collateralAfter: bigint;
  /** The account valued right after the fill, the traded market at the fill's index price. */
  readonly healthAfter: Health;
  /** `liquidationPrice` of the new position; undefined when flat or when there is none. */
  readonly liquidationPriceAfter: bigint | undefined;
  /** What the new position owes over one funding interval at the rate for the new skew and the fill's index price (negative: receives). */
  readonly fundingPerInterval: bigint;
  /** What the new position owes in borrowing over one funding interval at the new utilization and the fill's index price. */
  readonly borrowingPerInterval: bigint;
  /** The market's state after the fill (accrued to `now`, new aggregates). */
  readonly marketStateAfter: MarketState;
  /** The position after the fill. */
  readonly positionAfter: Position;
  /** The account after the fill (this order's reservation released). */
  readonly accountAfter: Account;
}

/** `_creditFeeShares`: LPs get `lpFeeShare` rounded up, insurance `insuranceFeeShare` rounded down (at most what is left), the treasury the rest. */
export function feeShares(fees: bigint, globalConfig: GlobalConfig): FeeShares {
  const lp = mulDivUp(fees, globalConfig.lpFeeShare, WAD);
  const insurance = min(mulDivDown(fees, globalConfig.insuranceFeeShare, WAD), fees - lp);
  return { lp, insurance, treasury: fees - lp - insurance };
}

const EMPTY_POSITION: Position = { size: 0n, cost: 0n, fundingSnap: 0n, borrowSnap: 0n, tier: 0 };

function popCount(x: bigint): bigint {
  let count = 0n;
  for (let y = x; y !== 0n; y &= y - 1n) ++count;
  return count;
}

/**
 * The whole of `ClearingEngine.fill` → `EngineBase._trade` for an order fill: release of the
 * reservation, accrual of the market at its latest price, reduce-only, the curve quote, the
 * acceptable price, the opening pause and the skew bound, realization of funding, borrowing and
 * closing PnL (`mulDivFloor`, profit scaled by `_scaleProfit`), the new cost (`mulDivCeil`),
 * tier, open-interest caps and the reserve, the position count, the fee split, the settlement
 * with the pool and, when the fill opened anything, valid prices, the minimum collateral and
 * the initial margin. Returns every amount of `PositionChanged` and either `accepted: true` or
 * the first error the engine would raise (the amounts are then those the fill would have had).
 */
export function previewTrade(input: TradeInput): TradePreview {
  const { marketId: m, sizeDelta, price, globalConfig } = input;
  let error: EngineError | undefined;
  const fail = (e: EngineError): void => {
    error ??= e;
  };
  const { config } = at(input.markets, m, "market");
  if (config.closed) fail({ name: "MarketClosed", args: [m] });

  // _accrue: at the latest price; a valid latest price becomes the last valid price.
  const latest = at(input.prices, m, "price");
  const stored = at(input.markets, m, "market").state;
  const accrued: MarketState = {
    ...accrueMarket(stored, config, latest.price, input.now),
    lastPrice: latest.valid ? latest.price : stored.lastPrice,
  };

  const position = input.positions.find((p) => p.marketId === m)?.position ?? EMPTY_POSITION;
  const oldSize = position.size;
  const newSize = oldSize + sizeDelta;
  const reducing = (sizeDelta < 0n) !== (oldSize < 0n) && sizeDelta !== 0n && oldSize !== 0n;
  const closing = reducing ? min(abs(sizeDelta), abs(oldSize)) : 0n;
  const opening = abs(sizeDelta) - closing;
  if (input.reduceOnly && opening !== 0n) fail({ name: "ReduceOnlyViolated", args: [oldSize, sizeDelta] });

  const skew = skewOf(accrued);
  const q = quoteFill(skew, sizeDelta, price, config);
  if (sizeDelta > 0n ? q.fillPrice > input.acceptablePrice : q.fillPrice < input.acceptablePrice) {
    fail({ name: "AcceptablePriceExceeded", args: [q.fillPrice, input.acceptablePrice] });
  }
  if (opening !== 0n) {
    if (input.openingPaused) fail({ name: "OpeningPaused", args: [] });
    const skewBeforeOpening = skew + (reducing ? -oldSize : 0n);
    const bound = mulDivDown(config.kMax, config.skewScale, WAD);
    const skewAbs = abs(skew + sizeDelta);
    if (skewAbs > bound && skewAbs > abs(skewBeforeOpening)) fail({ name: "SkewBoundExceeded", args: [skewAbs, bound] });
  }

  const states = input.markets.map((entry, i) => (i === m ? accrued : entry.state));
  const { fundingOwed, borrowOwed } = accruedOnPosition(position, accrued.cumFunding, accrued.cumBorrow);
  let closedCost = 0n;
  let realized = 0n;
  if (closing !== 0n) {
    const oldAbs = abs(oldSize);
    closedCost = closing === oldAbs ? position.cost : mulDivFloor(position.cost, closing, oldAbs);
    const closedSigned = oldSize > 0n ? closing : -closing;
    realized = mulDivFloor(closedSigned, price, WAD) - closedCost;
    if (realized > 0n) realized = scaleProfitDown(realized, poolValuation(states, input.pool), globalConfig.maxPnlFactor);
  }
  const openedSigned = sizeDelta > 0n ? opening : -opening;
  const newCost = position.cost - closedCost + mulDivCeil(openedSigned, price, WAD);

  // _setPosition
  const after: MarketState = {
    ...accrued,
    longSize: accrued.longSize - pos(oldSize) + pos(newSize),
    shortSize: accrued.shortSize - pos(-oldSize) + pos(-newSize),
    costSum: accrued.costSum + newCost - position.cost,
    fundingSnapSum: accrued.fundingSnapSum + newSize * accrued.cumFunding - oldSize * position.fundingSnap,
    borrowSnapSum: accrued.borrowSnapSum + abs(newSize) * accrued.cumBorrow - abs(oldSize) * position.borrowSnap,
  };
  states[m] = after;
  const tiers = at(input.tiers, m, "tiers");
  const newTier = newSize === 0n ? 0 : opening !== 0n ? tierFor(after, tiers, price) : position.tier;
  // A closed position's slots are cleared (`_setPosition`).
  const positionAfter: Position =
    newSize === 0n
      ? EMPTY_POSITION
      : { size: newSize, cost: newCost, fundingSnap: accrued.cumFunding, borrowSnap: accrued.cumBorrow, tier: newTier };

  if (opening !== 0n) {
    // _checkOpenInterest: the side opened on, then the reserve over every market (the engine reads
    // the sums from its pool totals, equal to these per-market sums).
    const cap = config.maxOpenInterestUsd;
    const sideUsd = mulDivUp(sizeDelta > 0n ? after.longSize : after.shortSize, price, WAD);
    if (sideUsd > cap) fail({ name: "OpenInterestCapExceeded", args: [m, sideUsd, cap] });
    let reserved = 0n;
    states.forEach((s, i) => {
      reserved += mulDivUp(max(s.longSize, s.shortSize), i === m ? price : s.lastPrice, WAD);
    });
    const { baseValue } = poolValuation(states, input.pool);
    const allowed = baseValue > 0n ? mulDivDown(baseValue, globalConfig.reserveFactor, WAD) : 0n;
    if (reserved > allowed) fail({ name: "ReserveExceeded", args: [reserved, allowed] });
  }

  // _updateMask
  const bit = 1n << BigInt(m);
  let marketMask = input.account.marketMask;
  if (newSize === 0n) {
    marketMask &= ~bit;
  } else if ((marketMask & bit) === 0n) {
    marketMask |= bit;
    const count = popCount(marketMask);
    if (count > 16n) fail({ name: "TooManyPositions", args: [count] });
  }

  const feeUsd = q.takerFeeUsd + q.makerFeeUsd;
  const delta = realized - fundingOwed - borrowOwed - (q.impactUsd + feeUsd);
  const accountAfter: Account = {
    ...input.account,
    collateral: input.account.collateral + delta,
    reservedMargin: input.account.reservedMargin - input.reservation,
    marketMask,
  };
  const positionsAfter: PositionEntry[] = [
    ...input.positions.filter((p) => p.marketId !== m),
    { marketId: m, position: positionAfter },
  ];
  const marketsAfter = input.markets.map((entry, i) => (i === m ? { config: entry.config, state: after } : entry));
  const healthAfter = accountHealth(
    accountAfter,
    positionsAfter,
    marketsAfter,
    globalConfig,
    input.tiers,
    input.prices,
    input.now,
    { marketId: m, price },
  );
  if (opening !== 0n) {
    if (!healthAfter.pricesValid) fail({ name: "PricesInvalid", args: [input.accountId] });
    if (accountAfter.collateral < globalConfig.minCollateral) {
      fail({ name: "InsufficientCollateral", args: [accountAfter.collateral, globalConfig.minCollateral] });
    }
    const marginError = initialMarginError(healthAfter, accountAfter.reservedMargin);
    if (marginError !== undefined) fail(marginError);
  }

  const rateAfter = fundingRate(skewOf(after), config).rate;
  const interval = BigInt(config.fundingInterval);
  const borrowYearly = borrowRate(utilizationUp(after, config, price), config);
  const liquidationPriceAfter =
    newSize === 0n
      ? undefined
      : liquidationPrice({
          account: accountAfter,
          positions: positionsAfter,
          markets: marketsAfter,
          globalConfig,
          tiers: input.tiers,
          prices: input.prices.map((p, i) => (i === m ? { price, valid: true } : p)),
          now: input.now,
          marketId: m,
          ...(input.tick === undefined ? {} : { tick: input.tick }),
        });

  return {
    accepted: error === undefined,
    error,
    fillPrice: q.fillPrice,
    impactUsd: q.impactUsd,
    takerFeeUsd: q.takerFeeUsd,
    makerFeeUsd: q.makerFeeUsd,
    feeUsd,
    feeShares: feeShares(feeUsd, globalConfig),
    realizedPnl: realized,
    fundingPaid: fundingOwed,
    borrowingPaid: borrowOwed,
    newSize,
    newCost,
    newTier,
    collateralAfter: accountAfter.collateral,
    healthAfter,
    liquidationPriceAfter,
    fundingPerInterval: fundingOwedUp(newSize, fundingPerUnitFloor(rateAfter, price, interval, interval)),
    borrowingPerInterval: mulDivUp(abs(newSize), borrowPerUnitUp(borrowYearly, price, interval), WAD),
    marketStateAfter: after,
    positionAfter,
    accountAfter,
  };
}

/* ------------------------------------------------------------------ */
/*                             ORDER BOOK                              */
/* ------------------------------------------------------------------ */

/** Unit of an order's stored reservation: 1e-6 USD in WAD (`OrderBook.RESERVATION_UNIT`). */
export const RESERVATION_UNIT = 10n ** 12n;

/** What `orderReservation` needs about the order and its market. */
export interface ReservationInput {
  readonly sizeDelta: bigint;
  readonly reduceOnly: boolean;
  /** The latest valid price (or the last valid one for a reduce-only order on an invalid feed). */
  readonly indexPrice: bigint;
  readonly config: Pick<MarketConfig, "takerFee" | "kMax">;
  readonly tiers: readonly MarginTier[];
  /** The market's stored state (`engine.marketState`): its open interest picks the tier. */
  readonly state: Pick<MarketState, "longSize" | "shortSize">;
  /** `OrderConfig.marginBuffer` */
  readonly marginBuffer: bigint;
  /** `MarketOrderConfig.minNotionalUsd` */
  readonly minNotionalUsd: bigint;
}

/** The reservation of an order, or the `NotionalTooSmall` error `createOrder` raises. */
export type ReservationResult =
  | { readonly ok: true; readonly units: bigint; readonly wad: bigint }
  | { readonly ok: false; readonly error: { readonly name: "NotionalTooSmall"; readonly args: readonly [bigint, bigint] } };

/**
 * `OrderBook._notionalFor` (the notional at `index * (1 + marginBuffer)`, both rounded up) and
 * `ClearingEngine.reserveOrderMargin` (the taker fee, kMax and, unless reduce-only, the current
 * tier's imr, rounded up to whole 1e-6 USD units). `wad` = units * 1e12 is what the engine holds.
 */
export function orderReservation(input: ReservationInput): ReservationResult {
  const bufferedPrice = mulDivUp(input.indexPrice, WAD + input.marginBuffer, WAD);
  const notional = mulDivUp(abs(input.sizeDelta), bufferedPrice, WAD);
  if (!input.reduceOnly) {
    const atIndex = mulDivDown(notional, input.indexPrice, bufferedPrice);
    if (atIndex < input.minNotionalUsd) {
      return { ok: false, error: { name: "NotionalTooSmall", args: [atIndex, input.minNotionalUsd] } };
    }
  }
  let rate = input.config.takerFee + input.config.kMax;
  if (!input.reduceOnly) rate += at(input.tiers, tierFor(input.state, input.tiers, input.indexPrice), "tier").imr;
  const units = mulDivUp(mulDivUp(notional, rate, WAD), 1n, RESERVATION_UNIT);
  return { ok: true, units, wad: units * RESERVATION_UNIT };
}

/**
 * The penalty `OrderBook._fill` charges when the engine rejects a fill for a cause the trader
 * controls (acceptable price, reduce-only, margin, minimum collateral): `penaltyRate` of the
 * notional at the fill's index price (both rounded up), at most the reservation; 0 otherwise.
 */
export function cancelPenalty(
  error: EngineError,
  sizeDelta: bigint,
  price: bigint,
  penaltyRate: bigint,
  reservation: bigint,
): bigint {
  const traderCaused =
    error.name === "AcceptablePriceExceeded" ||
    error.name === "ReduceOnlyViolated" ||
    error.name === "InsufficientMargin" ||
    error.name === "InsufficientCollateral";
  if (!traderCaused) return 0n;
  return min(mulDivUp(mulDivUp(abs(sizeDelta), price, WAD), penaltyRate, WAD), reservation);
}

/* ------------------------------------------------------------------ */
/*                             LIQUIDATION                             */
/* ------------------------------------------------------------------ */

/** `Liquidator._closeForLiquidation`'s notional (rounded up) and liquidation fee (rounded up) of one closed position. */
export function liquidationCloseFee(
  size: bigint,
  price: bigint,
  liquidationFee: bigint,
): { readonly notional: bigint; readonly fee: bigint } {
  const notional = mulDivUp(abs(size), price, WAD);
  return { notional, fee: mulDivUp(notional, liquidationFee, WAD) };
}

/** The amounts of `Liquidated` and `BadDebt` once every position is closed. */
export interface LiquidationSettlement {
  /** Fee taken from the account's positive collateral (`Liquidated.feeUsd`). */
  readonly feeTaken: bigint;
  /** The keeper's reward, from the account first, then the insurance fund. */
  readonly keeperReward: bigint;
  readonly rewardFromInsurance: bigint;
  /** The account's collateral afterwards (0 after bad debt). */
  readonly remainingCollateral: bigint;
  readonly insuranceFundAfter: bigint;
  /** Negative collateral covered by the insurance fund, then the pool; undefined when there is none. */
  readonly badDebt: { readonly shortfall: bigint; readonly fromInsurance: bigint; readonly fromPool: bigint } | undefined;
}

/**
 * The tail of `Liquidator._liquidate`: the keeper's reward is `keeperRewardShare` of the summed
 * liquidation fees (rounded down), at least the floor and at most the cap; the fee charged is at
 * least the reward and is taken only from positive collateral; the reward comes from the account
 * first and the insurance fund after (as far as it holds); the rest of the fee goes to the
 * insurance fund; a negative balance left is bad debt, paid by the insurance fund, then the pool.
 * @param fee sum of `liquidationCloseFee(...).fee` over the closed positions
 * @param collateral the account's collateral after every close
 * @param insuranceFund the insurance fund after every close (the closes credit fee shares to it)
 */
export function liquidationSettlement(
  fee: bigint,
  collateral: bigint,
  insuranceFund: bigint,
  globalConfig: GlobalConfig,
): LiquidationSettlement {
  const reward = min(
    max(mulDivDown(fee, globalConfig.keeperRewardShare, WAD), globalConfig.keeperRewardFloor),
    globalConfig.keeperRewardCap,
  );
  const charged = max(fee, reward);
  const feeTaken = min(charged, pos(collateral));
  const rewardFromAccount = min(reward, feeTaken);
  const rewardFromInsurance = min(reward - rewardFromAccount, insuranceFund + feeTaken - rewardFromAccount);
  let insurance = insuranceFund + feeTaken - rewardFromAccount - rewardFromInsurance;
  let remaining = collateral - feeTaken;
  let badDebt: LiquidationSettlement["badDebt"];
  if (remaining < 0n) {
    const shortfall = -remaining;
    const fromInsurance = min(shortfall, insurance);
    insurance -= fromInsurance;
    badDebt = { shortfall, fromInsurance, fromPool: shortfall - fromInsurance };
    remaining = 0n;
  }
  return {
    feeTaken,
    keeperReward: rewardFromAccount + rewardFromInsurance,
    rewardFromInsurance,
    remainingCollateral: remaining,
    insuranceFundAfter: insurance,
    badDebt,
  };
}
