/**
 * Worked examples of the SDK's math module with exact numbers: the MathLib mirror's rounding,
 * the skew curve, funding and borrowing accrual, valuation, the liquidation price, the trade
 * preview and the order reservation. The differential test checks the same functions against
 * the deployed contracts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Account,
  type GlobalConfig,
  type MarketConfig,
  type MarketState,
  type Position,
  WAD,
  accountHealth,
  accrueMarket,
  accruedOnPosition,
  borrowRate,
  cancelPenalty,
  feeShares,
  fromWadDown,
  fromWadUp,
  fundingRate,
  liquidationCloseFee,
  liquidationPrice,
  liquidationSettlement,
  mulDivCeil,
  mulDivDown,
  mulDivFloor,
  mulDivUp,
  orderReservation,
  previewTrade,
  poolValuation,
  quoteFill,
  scaleProfitDown,
  toWad,
  wDivDown,
  wDivUp,
  wMulCeil,
  wMulDown,
  wMulFloor,
  wMulUp,
} from "../../sdk/src/index.js";
import { defaultParameters } from "../../scripts/parameters.js";

const eth = defaultParameters.markets[0]!;
const btc = defaultParameters.markets[1]!;
const ZERO = "0x0000000000000000000000000000000000000000" as const;
const OWNER = "0x0000000000000000000000000000000000000001" as const;
const ethConfig: MarketConfig = { ...eth.config, feed: { ...eth.config.feed, aggregator: ZERO } };
const btcConfig: MarketConfig = { ...btc.config, feed: { ...btc.config.feed, aggregator: ZERO } };
const global: GlobalConfig = defaultParameters.global;
const tiers = [eth.tiers, btc.tiers];
const w = (n: bigint): bigint => n * WAD;

function emptyState(lastAccrual: bigint, lastPrice: bigint): MarketState {
  return {
    longSize: 0n,
    shortSize: 0n,
    costSum: 0n,
    fundingSnapSum: 0n,
    borrowSnapSum: 0n,
    cumFunding: 0n,
    cumBorrow: 0n,
    cumRate: 0n,
    cumPremium: 0n,
    lastAccrual,
    lastSettlement: lastAccrual,
    lastPrice,
    settledCumRate: 0n,
    settledCumPremium: 0n,
  };
}

describe("sdk math: MathLib mirror", () => {
  it("rounds unsigned results down and up", () => {
    assert.equal(mulDivDown(7n, 1n, 2n), 3n);
    assert.equal(mulDivUp(7n, 1n, 2n), 4n);
    assert.equal(mulDivUp(0n, 5n, 3n), 0n);
    assert.equal(mulDivUp(6n, 1n, 2n), 3n);
    assert.equal(wMulDown(1n, WAD - 1n), 0n);
    assert.equal(wMulUp(1n, 1n), 1n);
    assert.equal(wDivDown(1n, 3n * WAD), 0n);
    assert.equal(wDivUp(1n, 3n * WAD), 1n);
  });

  it("rounds signed results toward minus and plus infinity", () => {
    assert.equal(mulDivFloor(-7n, 1n, 2n), -4n);
    assert.equal(mulDivCeil(-7n, 1n, 2n), -3n);
    assert.equal(mulDivFloor(7n, 1n, 2n), 3n);
    assert.equal(mulDivCeil(7n, 1n, 2n), 4n);
    assert.equal(wMulFloor(-1n, 1n), -1n);
    assert.equal(wMulCeil(-1n, 1n), 0n);
    assert.equal(mulDivFloor(-6n, 1n, 2n), -3n);
  });

  it("converts token amounts: 6 decimals, up for what is owed", () => {
    assert.equal(toWad(1n, 6), 10n ** 12n);
    assert.equal(fromWadDown(10n ** 12n + 1n, 6), 1n);
    assert.equal(fromWadUp(10n ** 12n + 1n, 6), 2n);
    assert.equal(fromWadUp(0n, 6), 0n);
  });
});

describe("sdk math: skew curve", () => {
  it("skew 0, S = 1,000,000, buy 1,000 at 3,000: impact 1,500, fill 3,001.5, taker fee 1,500", () => {
    const q = quoteFill(0n, w(1000n), w(3000n), ethConfig);
    assert.deepEqual(q, {
      shrinkSize: 0n,
      growSize: w(1000n),
      impactUsd: w(1500n),
      takerFeeUsd: w(1500n),
      makerFeeUsd: 0n,
      fillPrice: 3001_500000000000000000n,
    });
  });

  it("a sell across the skew: 600 shrink at the index (maker), 400 grow from 0 (taker and impact)", () => {
    const q = quoteFill(w(600n), -w(1000n), w(3000n), ethConfig);
    assert.equal(q.shrinkSize, w(600n));
    assert.equal(q.growSize, w(400n));
    assert.equal(q.impactUsd, w(240n)); // 1.2M * (0 + 400) / 2M
    assert.equal(q.takerFeeUsd, w(600n)); // 5 bps of 1.2M
    assert.equal(q.makerFeeUsd, w(360n)); // 2 bps of 1.8M
    assert.equal(q.fillPrice, 2999_760000000000000000n); // 3000 - 240 / 1000
  });

  it("impact per unit is capped at kMax once the average premium exceeds it", () => {
    // 4,000 -> 6,000: average premium exactly 0.5% = kMax, not above it.
    assert.equal(quoteFill(w(4000n), w(2000n), w(3000n), ethConfig).impactUsd, w(30_000n));
    // 4,000 -> 7,000: average 0.55%, capped at 0.5% of 9M.
    assert.equal(quoteFill(w(4000n), w(3000n), w(3000n), ethConfig).impactUsd, w(45_000n));
  });

  it("1 wei: impact and fee round up, and the fill price moves by a whole 1 USD", () => {
    const q = quoteFill(0n, 1n, w(3000n), ethConfig);
    assert.equal(q.impactUsd, 1n);
    assert.equal(q.takerFeeUsd, 2n); // 3000 * 5e14 / 1e18 = 1.5, up
    assert.equal(q.fillPrice, w(3001n));
    const sell = quoteFill(w(5n), -1n, w(3000n), ethConfig);
    assert.equal(sell.makerFeeUsd, 1n);
    assert.equal(sell.fillPrice, w(3000n));
  });

  it("odd size: 3 wei at 1,000.000000000000000001", () => {
    const q = quoteFill(0n, 3n, w(1000n) + 1n, ethConfig);
    assert.equal(q.impactUsd, 1n); // notional 3001 (up), * 3 / 2e24 rounds up to 1
    assert.equal(q.fillPrice, w(1000n) + 1n + 333_333333333333334n);
  });
});

describe("sdk math: funding and borrowing", () => {
  it("accrues two intervals at a capped rate: 45 USD funding and 0.27397... borrowing per unit", () => {
    const start = 1_000_000n;
    const state: MarketState = { ...emptyState(start, w(3000n)), longSize: w(10_000n) };
    // premium 10,000 / 1M = 1% + 0.01% interest, capped at 0.75% per interval.
    assert.deepEqual(fundingRate(w(10_000n), ethConfig), { rate: 75n * 10n ** 14n, premium: 10n ** 16n });
    // u = 30M / 100M = 0.3: 2% + 8% * 0.3 / 0.8 = 5% a year.
    assert.equal(borrowRate(3n * 10n ** 17n, ethConfig), 5n * 10n ** 16n);
    const interval = BigInt(ethConfig.fundingInterval);
    const once = accrueMarket(state, ethConfig, w(3000n), start + interval);
    assert.equal(once.cumFunding, w(225n) / 10n); // 0.75% of 3,000
    assert.equal(once.cumBorrow, 136986301369863014n); // 5% * 3000 * 8h / 365d, rounded up
    const twice = accrueMarket(once, ethConfig, w(3000n), start + 2n * interval);
    assert.equal(twice.cumFunding, w(45n));
    assert.equal(twice.cumBorrow, 273972602739726028n);
    assert.equal(twice.cumRate, 15n * 10n ** 15n);
    assert.equal(twice.cumPremium, 2n * 10n ** 16n);
    assert.equal(twice.lastAccrual, start + 2n * interval);
    // No time: unchanged.
    assert.equal(accrueMarket(twice, ethConfig, w(1n), start), twice);
    const position: Position = { size: w(3n), cost: w(9000n), fundingSnap: 0n, borrowSnap: 0n, tier: 0 };
    assert.deepEqual(accruedOnPosition(position, twice.cumFunding, twice.cumBorrow), {
      fundingOwed: w(135n),
      borrowOwed: 821917808219178084n,
    });
  });

  it("rounds per-position funding against the position, paying or receiving", () => {
    const p = (size: bigint): Position => ({ size, cost: 0n, fundingSnap: 0n, borrowSnap: 0n, tier: 0 });
    assert.equal(accruedOnPosition(p(1n), 1n, 0n).fundingOwed, 1n); // pays: up
    assert.equal(accruedOnPosition(p(-1n), 1n, 0n).fundingOwed, 0n); // receives: toward zero
    assert.equal(accruedOnPosition(p(1n), -1n, 0n).fundingOwed, 0n); // receives: toward zero
    assert.equal(accruedOnPosition(p(-1n), -1n, 0n).fundingOwed, 1n); // pays: up
    assert.equal(accruedOnPosition(p(1n), 0n, 1n).borrowOwed, 1n);
  });
});

describe("sdk math: health, liquidation price, preview, reservation", () => {
  const now = 2_000_000n;
  const account: Account = { collateral: w(10_000n), reservedMargin: 0n, owner: OWNER, subaccount: 0, marketMask: 1n };
  const position: Position = { size: w(10n), cost: w(30_000n), fundingSnap: 0n, borrowSnap: 0n, tier: 0 };
  const markets = [
    { config: ethConfig, state: { ...emptyState(now, w(3000n)), longSize: w(10n), costSum: w(30_000n) } },
    { config: btcConfig, state: emptyState(now, w(60_000n)) },
  ];
  const prices = [
    { price: w(3000n), valid: true },
    { price: w(60_000n), valid: true },
  ];

  it("values a 10 ETH long: IM 857.16, MM 428.58 + the 5 USD keeper floor", () => {
    const h = accountHealth(account, [{ marketId: 0, position }], markets, global, tiers, prices, now);
    assert.deepEqual(h, {
      equity: w(10_000n),
      positivePnl: 0n,
      initialMargin: 857_160000000000000000n,
      maintenanceMargin: 433_580000000000000000n,
      pricesValid: true,
      positionCount: 1n,
      liquidatable: false,
    });
    // An invalid price: the long counts at 3000 * (1 - 0.3%) = 2991.
    const invalid = accountHealth(account, [{ marketId: 0, position }], markets, global, tiers,
      [{ price: w(3000n), valid: false }, prices[1]!], now);
    assert.equal(invalid.equity, w(10_000n) - w(90n));
    assert.equal(invalid.pricesValid, false);
  });

  it("liquidation price of the long: E = MM solved on the 1e10 tick grid", () => {
    // 10,000 + 10P - 30,000 = 0.14286 P + 5  =>  P = 20,005 / 9.85714 = 2029.493341...
    const liq = liquidationPrice({ account, positions: [{ marketId: 0, position }], markets, globalConfig: global, tiers, prices, now, marketId: 0 });
    assert.ok(liq !== undefined);
    assert.equal(liq, 2029_49334189_0000000000n);
    const at = (p: bigint) =>
      accountHealth(account, [{ marketId: 0, position }], markets, global, tiers, [{ price: p, valid: true }, prices[1]!], now);
    assert.equal(at(liq).liquidatable, false);
    assert.equal(at(liq - 10n ** 10n).liquidatable, true);
  });

  it("previews opening 10 ETH at 3,000 from skew 0 and rejects a tight acceptable price", () => {
    const input = {
      accountId: 1,
      account: { ...account, marketMask: 0n, reservedMargin: 400n * WAD },
      positions: [],
      marketId: 0,
      sizeDelta: w(10n),
      price: w(3000n),
      acceptablePrice: w(3100n),
      reduceOnly: false,
      reservation: 400n * WAD,
      markets: [{ config: ethConfig, state: emptyState(now, w(3000n)) }, markets[1]!],
      tiers,
      prices,
      globalConfig: global,
      pool: { poolCash: w(10_000_000n), totalDebt: 0n },
      openingPaused: false,
      now,
    };
    const p = previewTrade(input);
    assert.equal(p.accepted, true);
    assert.equal(p.impactUsd, 15n * WAD / 100n);
    assert.equal(p.feeUsd, w(15n));
    assert.deepEqual(p.feeShares, { lp: w(105n) / 10n, insurance: w(3n), treasury: w(15n) / 10n });
    assert.equal(p.fillPrice, w(3000n) + 15n * WAD / 1000n);
    assert.equal(p.newCost, w(30_000n));
    assert.equal(p.collateralAfter, w(10_000n) - w(15n) - 15n * WAD / 100n);
    assert.equal(p.newTier, 0);
    assert.equal(p.healthAfter.initialMargin, 857_160000000000000000n);
    // rate 10 / 1M + 0.01% = 0.011% of 3,000 per unit, times 10.
    assert.equal(p.fundingPerInterval, 3_300000000000000000n);
    const tight = previewTrade({ ...input, acceptablePrice: w(3000n) });
    assert.deepEqual(tight.error, { name: "AcceptablePriceExceeded", args: [w(3000n) + 15n * WAD / 1000n, w(3000n)] });
    assert.equal(cancelPenalty(tight.error!, w(10n), w(3000n), defaultParameters.orderConfig.penaltyRate, 400n * WAD), w(15n));
    const reduceOnly = previewTrade({ ...input, reduceOnly: true });
    assert.deepEqual(reduceOnly.error, { name: "ReduceOnlyViolated", args: [0n, w(10n)] });
    const poor = previewTrade({ ...input, account: { ...input.account, collateral: w(500n) } });
    // E - positive PnL = 500 - 15.15 against max(IM, MM) + the other 0 reserved.
    assert.deepEqual(poor.error, { name: "InsufficientMargin", args: [w(500n) - w(15n) - 15n * WAD / 100n, 857_160000000000000000n] });
  });

  it("reserves IM + taker fee + kMax on the buffered notional, in whole 1e-6 USD", () => {
    const r = orderReservation({
      sizeDelta: w(10n),
      reduceOnly: false,
      indexPrice: w(3000n),
      config: ethConfig,
      tiers: eth.tiers,
      state: emptyState(now, w(3000n)),
      marginBuffer: defaultParameters.orderConfig.marginBuffer,
      minNotionalUsd: eth.orderBounds.minNotionalUsd,
    });
    // 30,300 * (0.0005 + 0.005 + 0.028572) = 1032.3816
    assert.deepEqual(r, { ok: true, units: 1032_381600n, wad: 1032_381600n * 10n ** 12n });
    const dust = orderReservation({
      sizeDelta: 1n,
      reduceOnly: false,
      indexPrice: w(3000n),
      config: ethConfig,
      tiers: eth.tiers,
      state: emptyState(now, w(3000n)),
      marginBuffer: 10n ** 16n,
      minNotionalUsd: w(10n),
    });
    assert.equal(dust.ok, false);
    assert.deepEqual(feeShares(1n, global), { lp: 1n, insurance: 0n, treasury: 0n });
  });
});

describe("sdk math: liquidation settlement", () => {
  it("charges 0.5% of notional, pays the keeper 20% of it (floor 5, cap 500), the rest to insurance", () => {
    const close = liquidationCloseFee(w(10n) + 1n, w(3000n), ethConfig.liquidationFee);
    assert.deepEqual(close, { notional: w(30_000n) + 3000n, fee: w(150n) + 15n });
    const s = liquidationSettlement(close.fee, w(400n), w(1000n), global);
    assert.deepEqual(s, {
      feeTaken: w(150n) + 15n,
      keeperReward: w(30n) + 3n,
      rewardFromInsurance: 0n,
      remainingCollateral: w(250n) - 15n,
      insuranceFundAfter: w(1120n) + 12n,
      badDebt: undefined,
    });
  });

  it("a small account pays at least the keeper floor; an empty one gets it from insurance; debt is bad debt", () => {
    // fee 1 < floor 5: the account pays 5, all to the keeper.
    assert.deepEqual(liquidationSettlement(w(1n), w(8n), 0n, global), {
      feeTaken: w(5n),
      keeperReward: w(5n),
      rewardFromInsurance: 0n,
      remainingCollateral: w(3n),
      insuranceFundAfter: 0n,
      badDebt: undefined,
    });
    // Collateral -7: nothing taken, the reward and the shortfall from insurance (9), the rest from the pool.
    assert.deepEqual(liquidationSettlement(w(1n), -w(7n), w(9n), global), {
      feeTaken: 0n,
      keeperReward: w(5n),
      rewardFromInsurance: w(5n),
      remainingCollateral: 0n,
      insuranceFundAfter: 0n,
      badDebt: { shortfall: w(7n), fromInsurance: w(4n), fromPool: w(3n) },
    });
  });
});

describe("sdk math: pool valuation and profit scaling", () => {
  it("values a market: receivables rounded down, traders' PnL rounded up", () => {
    // 3 long at cost 9,000 and 1 short at cost -3,000, cumFunding 1 wei against snapshots 0.
    const state: MarketState = {
      ...emptyState(0n, w(3100n)),
      longSize: w(3n),
      shortSize: w(1n),
      costSum: w(6000n),
      cumFunding: 1n,
      cumBorrow: 3n,
    };
    // funding: skew 2 * 1 - 0 = 2e18 / 1e18 = 2 wei; borrowing (4e18 * 3) / 1e18 = 12 wei.
    // PnL: 2 * 3,100 - 6,000 = 200.
    assert.deepEqual(poolValuation([state], { poolCash: w(1000n), totalDebt: 5n }), {
      baseValue: w(1000n) + 5n + 2n + 12n,
      tradersPnl: w(200n),
    });
  });

  it("scales a realized profit by cap / tradersPnl, rounded down, while the cap binds", () => {
    const maxPnlFactor = global.maxPnlFactor; // 0.9
    // cap 90 < PnL 120: 10 + 1 wei scaled by 0.75, floored.
    assert.equal(scaleProfitDown(w(10n) + 1n, { baseValue: w(100n), tradersPnl: w(120n) }, maxPnlFactor), 7_500000000000000000n);
    // cap 90 >= PnL 90: unscaled.
    assert.equal(scaleProfitDown(w(10n) + 1n, { baseValue: w(100n), tradersPnl: w(90n) }, maxPnlFactor), w(10n) + 1n);
    // Pool value not positive: no profit is paid.
    assert.equal(scaleProfitDown(w(10n), { baseValue: 0n, tradersPnl: 1n }, maxPnlFactor), 0n);
  });
});
