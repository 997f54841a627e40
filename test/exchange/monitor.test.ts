/**
 * The local exchange's parts that need no chain: the missed-liquidation streaks, USD conversion,
 * the summary's fields, feed answers and the view's formatting.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toAnswer } from "../../scripts/exchange/clock.js";
import { buildSummary, createStreakCounter, wadToNumber } from "../../scripts/exchange/monitor.js";
import { percent, simulatedClock, usd } from "../../scripts/exchange/view.js";

const WAD = 10n ** 18n;

describe("missed liquidations", () => {
  it("counts an account once when it is liquidatable at three checks in a row", () => {
    const streaks = createStreakCounter(3);
    const check = (entries: [number, boolean][]): number[] => streaks.observe(new Map(entries));
    assert.deepEqual(check([[1, true], [2, true]]), []);
    assert.deepEqual(check([[1, true], [2, false]]), []); // 2 was liquidated within one update
    assert.deepEqual(check([[1, true], [2, true]]), [1]); // 1: third check in a row
    assert.deepEqual(check([[1, true], [2, true]]), []); // 1 counts once per streak
    assert.equal(streaks.missed(), 1);
    assert.deepEqual(check([[1, false], [2, true]]), [2]);
    assert.deepEqual(check([[1, true], [2, false]]), []); // 1: a new streak
    assert.deepEqual(check([[1, true]]), []);
    assert.deepEqual(check([[1, true]]), [1]);
    assert.equal(streaks.missed(), 3);
    assert.equal(streaks.longest(), 4); // account 1, checks 1 to 4
  });

  it("lets a keeper take two price updates", () => {
    const streaks = createStreakCounter(3);
    streaks.observe(new Map([[7, true]]));
    streaks.observe(new Map([[7, true]]));
    streaks.observe(new Map([[7, false]]));
    assert.equal(streaks.missed(), 0);
    assert.equal(streaks.longest(), 2);
  });
});

describe("summary and view", () => {
  it("converts WAD to USD numbers without losing large values", () => {
    assert.equal(wadToNumber(10_000_000n * WAD + WAD / 4n), 10_000_000.25);
    assert.equal(wadToNumber(-3n * WAD / 2n), -1.5);
    assert.equal(wadToNumber(0n), 0);
  });

  it("has the required fields as numbers", () => {
    const summary = buildSummary({
      counts: { ordersCreated: 5, ordersExecuted: 4, ordersCancelled: 1, ordersTriggered: 0, fundingSettlements: 2, liquidations: 3, badDebt: 12n * WAD, epochsSettled: 1 },
      pool: {
        baseValue: 10_000_100n * WAD,
        tradersPnl: 100n * WAD,
        totalAssets: 0n,
        totalSupply: 0n,
        sharePrice: 1_001_001n,
        insuranceFund: 50n * WAD,
        currentEpoch: 3n,
        epochCutoff: 0n,
        lp: undefined,
      },
      missedLiquidations: 0,
      longestLiquidatableStreak: 1,
      priceUpdates: 60,
      simulatedSeconds: 108_000,
      realSeconds: 30.04,
      scenario: "crash50",
      seed: 1,
      speed: 3600,
      keepers: ["liquidations"],
      keeperStats: { liquidations: { liquidations: 3, errors: 0 } },
      traderActions: 10,
      refusals: new Map([["InsufficientMargin", 2]]),
      finalPrices: { ETH: 1500 },
    });
    assert.deepEqual(
      [summary.ordersExecuted, summary.fundingSettlements, summary.liquidations, summary.badDebtUsd, summary.poolValueUsd, summary.insuranceFundUsd, summary.missedLiquidations],
      [4, 2, 3, 12, 10_000_000, 50, 0],
    );
    assert.equal(summary.simulatedHours, 30);
    assert.equal(summary.sharePriceUsd, 1.001001);
    assert.deepEqual(summary.refusals, { InsufficientMargin: 2 });
    assert.doesNotThrow(() => JSON.stringify(summary));
  });

  it("turns prices into 8-decimal feed answers", () => {
    assert.equal(toAnswer(3000, 8), 300_000_000_000n);
    assert.equal(toAnswer(60_123.456789, 8), 6_012_345_678_900n);
    assert.equal(toAnswer(2999.9999999999973, 8), 300_000_000_000n);
    assert.equal(toAnswer(1.5, 0), 2n);
  });

  it("formats simulated time and USD", () => {
    assert.equal(simulatedClock(0), "day 1 00:00");
    assert.equal(simulatedClock(86_400 + 3600 * 14 + 1800), "day 2 14:30");
    assert.equal(usd(1234.5), "$1,234.50");
    assert.equal(usd(-2_500_000, true), "-$2.50M");
    assert.equal(usd(45_000, true), "$45.0k");
    assert.equal(percent(26n * 10n ** 12n), "+0.0026%");
    assert.equal(percent(-75n * 10n ** 14n), "-0.7500%");
  });
});
