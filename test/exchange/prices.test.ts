/**
 * The local exchange's price paths: seeded and deterministic, crash50 at -50% within one
 * simulated day, CSV replay parsing and its errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CRASH50,
  DEFAULT_VOLATILITY,
  PriceCsvError,
  crash,
  exchangePricePaths,
  parsePriceCsv,
  randomWalk,
  replay,
  seedFor,
} from "../../scripts/exchange/prices.js";

const HOUR = 3600;
const DAY = 24 * HOUR;
const markets = [
  { symbol: "ETH", initialPrice: 3000, volatility: DEFAULT_VOLATILITY.ETH! },
  { symbol: "BTC", initialPrice: 60_000, volatility: DEFAULT_VOLATILITY.BTC! },
];

function sample(path: (t: number) => number, until: number, step: number): number[] {
  const out: number[] = [];
  for (let t = 0; t <= until; t += step) out.push(path(t));
  return out;
}

describe("price paths", () => {
  it("a random walk is a pure function of its seed and of time", () => {
    const a = randomWalk({ seed: 7, initialPrice: 3000, annualVolatility: 0.75 });
    const b = randomWalk({ seed: 7, initialPrice: 3000, annualVolatility: 0.75 });
    // b is queried out of order: memoized steps make the order irrelevant.
    const late = b(2 * DAY);
    assert.deepEqual(sample(a, 3 * DAY, 900), sample(b, 3 * DAY, 900));
    assert.equal(a(2 * DAY), late);
    assert.equal(a(0), 3000);
    const other = randomWalk({ seed: 8, initialPrice: 3000, annualVolatility: 0.75 });
    assert.notDeepEqual(sample(a, DAY, 900), sample(other, DAY, 900));
  });

  it("a random walk moves with its volatility and stays positive", () => {
    const walk = randomWalk({ seed: 1, initialPrice: 3000, annualVolatility: 0.75 });
    const prices = sample(walk, 30 * DAY, 60);
    assert.ok(prices.every((p) => p > 0 && Number.isFinite(p)));
    const returns = prices.slice(1).map((p, i) => Math.log(p / (prices[i] as number)));
    const variance = returns.reduce((sum, r) => sum + r * r, 0) / returns.length;
    const annualized = Math.sqrt((variance * 365 * DAY) / 60);
    assert.ok(Math.abs(annualized - 0.75) < 0.05, `annualized volatility ${annualized}`);
  });

  it("jumps at their rate and size, keeping the total volatility realistic", () => {
    const options = { seed: 5, initialPrice: 3000, annualVolatility: 0, jumpsPerDay: 0.5, jumpVolatility: 0.03 };
    const walk = randomWalk(options);
    const days = 400;
    const prices = sample(walk, days * DAY, 60);
    const jumps = prices.slice(1).map((p, i) => Math.log(p / (prices[i] as number))).filter((r) => r !== 0);
    // About 0.5 a day: 200 expected, Poisson standard deviation about 14.
    assert.ok(jumps.length > 150 && jumps.length < 250, `${jumps.length} jumps in ${days} days`);
    const size = Math.sqrt(jumps.reduce((sum, r) => sum + r * r, 0) / jumps.length);
    assert.ok(Math.abs(size - 0.03) < 0.005, `jump size ${size}`);
    assert.deepEqual(sample(randomWalk(options), 10 * DAY, 3600), sample(walk, 10 * DAY, 3600));
    for (const symbol of ["ETH", "BTC"]) {
      const v = DEFAULT_VOLATILITY[symbol]!;
      const total = Math.sqrt(v.annualVolatility ** 2 + 365 * v.jumpsPerDay * v.jumpVolatility ** 2);
      assert.ok(total > 0.5 && total < 0.8, `${symbol} total yearly volatility ${total}`);
    }
  });

  it("each market gets its own stream from one seed", () => {
    assert.notEqual(seedFor(1, "ETH"), seedFor(1, "BTC"));
    assert.notEqual(seedFor(1, "ETH"), seedFor(2, "ETH"));
    const paths = exchangePricePaths({ scenario: "random", seed: 1, markets, warmupSeconds: 0 });
    const again = exchangePricePaths({ scenario: "random", seed: 1, markets, warmupSeconds: 0 });
    for (const symbol of ["ETH", "BTC"]) {
      assert.deepEqual(sample(paths[symbol]!, DAY, 1800), sample(again[symbol]!, DAY, 1800));
    }
    assert.equal(paths.ETH!(0), 3000);
    assert.equal(paths.BTC!(0), 60_000);
  });

  it("crash50 falls 50% within one simulated day after its warm-up, in steps at the update interval", () => {
    const warmupSeconds = 6 * HOUR;
    const paths = exchangePricePaths({ scenario: "crash50", seed: 42, markets, warmupSeconds });
    for (const symbol of ["ETH", "BTC"]) {
      const path = paths[symbol]!;
      const before = path(warmupSeconds);
      const updates = sample((t) => path(warmupSeconds + t), DAY, 1800);
      // Monotone fall, no single update larger than the whole drop spread over the day.
      for (let i = 1; i < updates.length; i++) {
        assert.ok(updates[i]! < updates[i - 1]!, `${symbol} rises during the crash at update ${i}`);
        assert.ok(updates[i - 1]! - updates[i]! <= before * 0.5 * (1800 / DAY) + 1e-9);
      }
      const low = path(warmupSeconds + CRASH50.crashSeconds);
      assert.ok(Math.abs(low / before - 0.5) < 1e-12, `${symbol}: ${low} after the day, ${before} before`);
      assert.ok(CRASH50.crashSeconds <= DAY);
      // Afterwards the walk resumes from the crashed level.
      const later = path(warmupSeconds + DAY + 12 * HOUR);
      assert.ok(later > before * 0.35 && later < before * 0.65);
    }
  });

  it("crash is the walk itself during the warm-up", () => {
    const walk = randomWalk({ seed: 3, initialPrice: 100, annualVolatility: 0.5 });
    const path = crash({ walk, warmupSeconds: HOUR, drop: 0.5 });
    for (let t = 0; t < HOUR; t += 60) assert.equal(path(t), walk(t));
    assert.throws(() => crash({ walk, warmupSeconds: HOUR, drop: 1.5 }), RangeError);
    assert.throws(() => path(-1), RangeError);
  });
});

describe("price CSV replay", () => {
  it("parses relative seconds with a header, comments and blank lines", () => {
    const series = parsePriceCsv("timestamp,price\n# a comment\n0,3000\n\n60,3010.5\n120,2990\n");
    assert.deepEqual(series, { seconds: [0, 60, 120], prices: [3000, 3010.5, 2990] });
  });

  it("shifts absolute unix seconds, milliseconds and ISO dates to start at 0", () => {
    assert.deepEqual(parsePriceCsv("1700000000,3000\n1700003600,3100").seconds, [0, 3600]);
    assert.deepEqual(parsePriceCsv("1700000000000,3000\r\n1700000060000,3100\r\n").seconds, [0, 60]);
    assert.deepEqual(parsePriceCsv("2024-01-01T00:00:00Z,3000\n2024-01-01T01:00:00Z,3100").seconds, [0, 3600]);
  });

  it("replays with linear interpolation and holds the last price", () => {
    const path = replay(parsePriceCsv("0,100\n100,200\n300,100"));
    assert.equal(path(0), 100);
    assert.equal(path(50), 150);
    assert.equal(path(200), 150);
    assert.equal(path(300), 100);
    assert.equal(path(10_000), 100);
    assert.equal(replay(parsePriceCsv("0,100\n100,200"), 600)(50), 90_000);
  });

  it("drives the first market with the series and the others with its relative moves", () => {
    const replaySeries = parsePriceCsv("0,2000\n3600,1000");
    const paths = exchangePricePaths({ scenario: "random", seed: 1, markets, warmupSeconds: 0, replaySeries });
    assert.equal(paths.ETH!(0), 2000);
    assert.equal(paths.ETH!(3600), 1000);
    assert.equal(paths.BTC!(0), 60_000);
    assert.equal(paths.BTC!(3600), 30_000);
  });

  it("rejects bad input with the line number", () => {
    const cases: [string, number, RegExp][] = [
      ["", 1, /no price rows/],
      ["timestamp,price\n", 2, /no price rows/],
      ["0,3000\n60", 2, /1 column/],
      ["0,3000\n60,abc", 2, /not a positive number/],
      ["0,3000\n60,-5", 2, /not a positive number/],
      ["0,3000\n60,0", 2, /not a positive number/],
      ["0,3000\n60,3000\n60,3001", 3, /does not come after/],
      ["0,3000\n30,3000\n10,3001", 3, /does not come after/],
      ["0,3000\nyesterday,3001", 2, /neither a number of seconds nor an ISO date/],
      ["-5,3000", 1, /negative/],
    ];
    for (const [text, line, message] of cases) {
      assert.throws(
        () => parsePriceCsv(text),
        (error: unknown) => error instanceof PriceCsvError && error.line === line && message.test(error.message),
        JSON.stringify(text),
      );
    }
  });
});
