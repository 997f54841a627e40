/**
 * Price paths for the local exchange's mock feeds: pure, seeded functions of simulated time.
 *
 * A path maps seconds since the simulation started to a price in USD. The same options give the
 * same path on every run and machine, whatever the clock's update schedule: the exchange samples
 * it at each price update, and a test (or a later stress scenario: squeeze, keeper outage, oracle
 * stall...) can evaluate it at any time without a chain.
 *
 * - `randomWalk`: geometric Brownian motion (zero drift) on a fixed step, from a seeded generator,
 *   with optional jumps (crypto returns have fat tails: the odd 3% candle is what liquidates).
 * - `crash`: a random walk that, after a warm-up, falls by `drop` linearly over `crashSeconds`,
 *   then walks on from the crashed level (`crash50`: -50% within one simulated day).
 * - `replay`: a `timestamp,price` series, linearly interpolated, held flat after its last row.
 */

/** A price path: USD per unit of the base asset at `seconds` of simulated time (>= 0) since the start. */
export type PricePath = (seconds: number) => number;

const SECONDS_PER_YEAR = 365 * 24 * 3600;
const HOUR = 3600;
const DAY = 24 * HOUR;

/** The built-in scenarios of `--scenario`. */
export const SCENARIOS = ["random", "crash50"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

// ---------------------------------------------------------------- seeded randomness

/** A 32-bit seed from a number and a label, so every market gets its own stream from one `--seed`. */
export function seedFor(seed: number, label: string): number {
  // FNV-1a over the label, mixed with the seed.
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Mulberry32: a small, fast, well-mixed 32-bit generator; uniform in [0, 1). */
export function uniformGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform generator. */
export function normalGenerator(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform(); // (0, 1]: log(u) is finite
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

// ---------------------------------------------------------------- random walk

export interface RandomWalkOptions {
  readonly seed: number;
  readonly initialPrice: number;
  /** Yearly volatility of the continuous part of log returns (0.75 = 75%). */
  readonly annualVolatility: number;
  /** Expected jumps per simulated day (a Poisson process). Default 0. */
  readonly jumpsPerDay?: number;
  /** Standard deviation of a jump's log return (0.03 = 3%). Default 0. */
  readonly jumpVolatility?: number;
  /** The walk takes one step per `stepSeconds` of simulated time; the price is constant within a step. Default 60. */
  readonly stepSeconds?: number;
}

/**
 * Geometric Brownian motion without drift: `log p` moves by `sigma * sqrt(dt) * Z - sigma^2 dt / 2`
 * per step, plus, with probability `jumpsPerDay * dt`, a jump `J * Z' - J^2 / 2` (the halves keep
 * the expected price constant). Every step draws the same three numbers whether it jumps or not,
 * and steps are generated in order and memoized, so the path is a pure function of time however it
 * is queried (forwards, backwards, repeatedly).
 */
export function randomWalk(options: RandomWalkOptions): PricePath {
  const stepSeconds = options.stepSeconds ?? 60;
  requirePositive("initialPrice", options.initialPrice);
  requirePositive("stepSeconds", stepSeconds);
  if (!(options.annualVolatility >= 0)) throw new RangeError(`annualVolatility must be >= 0 (got ${options.annualVolatility})`);
  const jumpsPerDay = options.jumpsPerDay ?? 0;
  const jumpVolatility = options.jumpVolatility ?? 0;
  if (!(jumpsPerDay >= 0) || !(jumpVolatility >= 0)) throw new RangeError("jumpsPerDay and jumpVolatility must be >= 0");
  const dt = stepSeconds / SECONDS_PER_YEAR;
  const sigma = options.annualVolatility * Math.sqrt(dt);
  const drift = (-options.annualVolatility * options.annualVolatility * dt) / 2;
  const jumpChance = (jumpsPerDay * stepSeconds) / DAY;
  const uniform = uniformGenerator(options.seed);
  const normal = normalGenerator(uniform);
  const step = (): number => {
    const diffusion = drift + sigma * normal();
    const jumps = uniform() < jumpChance;
    const jump = jumpVolatility * normal() - (jumpVolatility * jumpVolatility) / 2;
    return diffusion + (jumps ? jump : 0);
  };
  // Log returns since the start: the price at step 0 is the initial price exactly.
  const logReturns: number[] = [0];
  return (seconds) => {
    const index = Math.floor(requireTime(seconds) / stepSeconds);
    while (logReturns.length <= index) logReturns.push((logReturns[logReturns.length - 1] as number) + step());
    return options.initialPrice * Math.exp(logReturns[index] as number);
  };
}

// ---------------------------------------------------------------- crash

export interface CrashOptions {
  /** The path before the crash; after it, its returns continue from the crashed level. */
  readonly walk: PricePath;
  /** Simulated seconds before the crash starts (traders open positions meanwhile). */
  readonly warmupSeconds: number;
  /** How long the fall takes. Default one day. */
  readonly crashSeconds?: number;
  /** The fraction the price loses (0.5 = -50%). */
  readonly drop: number;
}

/**
 * Falls linearly from the walk's price at the end of the warm-up to `(1 - drop)` of it over
 * `crashSeconds`, then follows the walk's relative moves from that level. Sampled at the price
 * updates, the fall comes in steps of the update interval.
 */
export function crash(options: CrashOptions): PricePath {
  if (!(options.warmupSeconds >= 0)) throw new RangeError(`warmupSeconds must be >= 0 (got ${options.warmupSeconds})`);
  if (!(options.drop > 0 && options.drop < 1)) throw new RangeError(`drop must be in (0, 1) (got ${options.drop})`);
  return move(options.walk, options.warmupSeconds, options.crashSeconds ?? DAY, -options.drop);
}

/**
 * `walk` until `start`, then a linear move by `change` (-0.5 halves the price, +0.6 raises it 60%)
 * over `duration`, then the walk's relative moves from the moved level. Crashes, squeezes and an
 * oracle's catch-up after a stall are all such moves.
 */
export function move(walk: PricePath, start: number, duration: number, change: number): PricePath {
  requirePositive("duration", duration);
  if (!(change > -1)) throw new RangeError(`change must be > -1 (got ${change})`);
  return (seconds) => {
    const t = requireTime(seconds);
    if (t < start) return walk(t);
    const before = walk(start);
    if (t < start + duration) return before * (1 + (change * (t - start)) / duration);
    return before * (1 + change) * (walk(t - duration) / before);
  };
}

// ---------------------------------------------------------------- replay

/** A replayed series: strictly increasing seconds from its first row (which is at 0), and positive prices. */
export interface PriceSeries {
  readonly seconds: readonly number[];
  readonly prices: readonly number[];
}

/** A CSV the replay cannot use; `line` is 1-based. */
export class PriceCsvError extends Error {
  override readonly name = "PriceCsvError";
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`price CSV line ${line}: ${problem}. Expected rows of "timestamp,price" (seconds or ISO dates, USD).`);
  }
}

/** Numbers this large are unix milliseconds. */
const MILLISECONDS_FROM = 1e12;

/**
 * Parses `timestamp,price` rows. Timestamps are seconds relative to the series' start, unix
 * seconds or milliseconds (from 1e12), or ISO dates; relative or absolute, the series is shifted
 * so that its first row is at 0. A header row (the first row, when neither cell is a number or a
 * date), blank lines and `#` comments are skipped. Rows must be in strictly increasing time with a
 * positive price; at least one row is required.
 * @throws PriceCsvError naming the first bad line.
 */
export function parsePriceCsv(text: string): PriceSeries {
  const times: number[] = [];
  const prices: number[] = [];
  const lines = text.split(/\r?\n/);
  let firstRow = true;
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const row = (lines[index] as string).trim();
    if (row === "" || row.startsWith("#")) continue;
    const cells = row.split(/[,;\t]/).map((cell) => cell.trim());
    if (cells.length < 2) throw new PriceCsvError(line, `"${row}" has ${cells.length} column(s)`);
    const [timeCell = "", priceCell = ""] = cells;
    const isHeader = firstRow && !isNumeric(priceCell) && !isNumeric(timeCell) && Number.isNaN(Date.parse(timeCell));
    firstRow = false;
    if (isHeader) continue;
    const time = parseTimestamp(timeCell, line);
    const price = Number(priceCell);
    if (!isNumeric(priceCell) || !(price > 0) || !Number.isFinite(price)) {
      throw new PriceCsvError(line, `price "${priceCell}" is not a positive number`);
    }
    const previous = times[times.length - 1];
    if (previous !== undefined && !(time > previous)) {
      throw new PriceCsvError(line, `timestamp "${timeCell}" does not come after the previous row's`);
    }
    times.push(time);
    prices.push(price);
  }
  const first = times[0];
  if (first === undefined) throw new PriceCsvError(lines.length, "no price rows");
  return { seconds: times.map((t) => t - first), prices };
}

function parseTimestamp(cell: string, line: number): number {
  if (isNumeric(cell)) {
    const value = Number(cell);
    if (value < 0) throw new PriceCsvError(line, `timestamp "${cell}" is negative`);
    return value >= MILLISECONDS_FROM ? value / 1000 : value;
  }
  const ms = Date.parse(cell);
  if (Number.isNaN(ms)) throw new PriceCsvError(line, `timestamp "${cell}" is neither a number of seconds nor an ISO date`);
  return ms / 1000;
}

function isNumeric(cell: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell);
}

/**
 * The series as a path: linear interpolation between rows, the last price after the last row.
 * `scale` multiplies every price (a market that follows the series' relative moves from its own level).
 */
export function replay(series: PriceSeries, scale = 1): PricePath {
  const { seconds: times, prices } = series;
  if (times.length === 0 || times.length !== prices.length) throw new RangeError("replay: the series is empty or malformed");
  requirePositive("scale", scale);
  return (seconds) => {
    const t = requireTime(seconds);
    // Binary search for the last row at or before t.
    let lo = 0;
    let hi = times.length - 1;
    if (t >= (times[hi] as number)) return (prices[hi] as number) * scale;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((times[mid] as number) <= t) lo = mid;
      else hi = mid;
    }
    const t0 = times[lo] as number;
    const t1 = times[hi] as number;
    const p0 = prices[lo] as number;
    const p1 = prices[hi] as number;
    return (p0 + ((p1 - p0) * (t - t0)) / (t1 - t0)) * scale;
  };
}

/** Duration of a series in seconds. */
export function seriesDuration(series: PriceSeries): number {
  return series.seconds[series.seconds.length - 1] ?? 0;
}

// ---------------------------------------------------------------- the exchange's markets

/** One market as the price paths need it. */
export interface MarketPriceSetup {
  readonly symbol: string;
  /** The price at time 0 (random walk and crash); a replay starts at its series' first price instead. */
  readonly initialPrice: number;
  /** The market's random walk: yearly volatility and jumps. */
  readonly volatility: MarketVolatility;
}

/** A random walk's volatility: the continuous part and the jumps. */
export interface MarketVolatility {
  readonly annualVolatility: number;
  readonly jumpsPerDay: number;
  readonly jumpVolatility: number;
}

export interface ExchangePathsOptions {
  readonly scenario: ScenarioName;
  readonly seed: number;
  readonly markets: readonly MarketPriceSetup[];
  /** crash50: simulated seconds before the fall starts. */
  readonly warmupSeconds: number;
  /**
   * `--replay`: the series drives the first market as is; every other market follows the
   * series' relative moves from its own initial price (so a replayed crash hits every market).
   */
  readonly replaySeries?: PriceSeries;
}

/**
 * Close to ETH's and BTC's realized volatility (about 72% and 56% a year in all): a continuous
 * part and a jump every other day on average, of 3% (ETH) and 2.5% (BTC).
 */
export const DEFAULT_VOLATILITY: Readonly<Record<string, MarketVolatility>> = {
  ETH: { annualVolatility: 0.6, jumpsPerDay: 0.5, jumpVolatility: 0.03 },
  BTC: { annualVolatility: 0.45, jumpsPerDay: 0.5, jumpVolatility: 0.025 },
};

/** The crash of the `crash50` scenario. */
export const CRASH50 = { drop: 0.5, crashSeconds: DAY } as const;

/** One path per market symbol, for the scenario (or the replay, which takes precedence). */
export function exchangePricePaths(options: ExchangePathsOptions): Record<string, PricePath> {
  const paths: Record<string, PricePath> = {};
  const [first] = options.markets;
  const series = options.replaySeries;
  for (const market of options.markets) {
    if (series !== undefined) {
      const scale = market === first ? 1 : market.initialPrice / (series.prices[0] as number);
      paths[market.symbol] = replay(series, scale);
      continue;
    }
    const walk = randomWalk({
      seed: seedFor(options.seed, market.symbol),
      initialPrice: market.initialPrice,
      ...market.volatility,
    });
    paths[market.symbol] =
      options.scenario === "crash50" ? crash({ walk, warmupSeconds: options.warmupSeconds, ...CRASH50 }) : walk;
  }
  return paths;
}

export function isScenarioName(value: string): value is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(value);
}

function requirePositive(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number (got ${value})`);
}

function requireTime(seconds: number): number {
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new RangeError(`price path: time must be >= 0 seconds (got ${seconds})`);
  return seconds;
}
