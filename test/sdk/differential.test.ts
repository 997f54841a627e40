/**
 * Differential test of the SDK's math module against the deployed contracts (in-process network).
 *
 * Random trades on random account states, from a seeded PRNG (seed below, printed; override with
 * AEON_DIFF_SEED): for each case the test reads the state the engine will use, computes
 * `orderReservation` and `previewTrade` off-chain, then creates the market order, posts the next
 * round one second later and executes it, and compares to the wei: the reservation, fill price,
 * fees and their split, impact, realized PnL, funding and borrowing realized, new size, cost and
 * tier, collateral after, the market's aggregates after, and accepted vs cancelled (a cancel's
 * engine error decoded with the ABI against the preview's error, and its penalty). After every
 * case `accountHealth` is compared with `engine.accountHealth` for the touched account, and every
 * tenth case probes the SDK's liquidation price of the traded position (healthy at it, liquidatable
 * one tick past it).
 *
 * A second suite checks `liquidationPrice`: at the SDK's price the account is healthy, one tick
 * past it liquidatable, for a long and a short each held with a position in the other market;
 * there it liquidates the account and compares `Liquidated` with `liquidationSettlement`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { ContractReturnType, PublicClient, WalletClient } from "@nomicfoundation/hardhat-viem/types";
import { type Hex, decodeErrorResult, maxUint256, parseEventLogs } from "viem";
import { type AeonDeployment, deployAeon } from "../../scripts/deploy.js";
import { type AeonParameters, type MarginTier as TierParameters, defaultParameters, wad } from "../../scripts/parameters.js";
import {
  type Account,
  type EngineError,
  type MarginTier,
  type MarketEntry,
  type MarketPrice,
  type PositionEntry,
  FEED_TICK_8_DECIMALS,
  WAD,
  abs,
  accountHealth,
  cancelPenalty,
  feeShares,
  liquidationCloseFee,
  liquidationSettlement,
  liquidationPrice,
  orderReservation,
  previewTrade,
  toAccount,
} from "../../sdk/src/index.js";
import { uniformGenerator } from "../../scripts/exchange/prices.js";

const SEED = Number(process.env.AEON_DIFF_SEED ?? 0x5eed_ae0d);
const CASES = Number(process.env.AEON_DIFF_CASES ?? 1000);
const USDC = 10n ** 6n;
const TO_FEED = 10n ** 10n; // WAD price -> 8-decimal answer
const MARKETS = [0, 1] as const;

// ---------------------------------------------------------------- parameters

/**
 * The SPEC defaults with smaller skew scales, caps and tier thresholds, so that random sizes
 * reach the skew bound (ETH 1,000, BTC 50), the open-interest caps (6M and 4M per side), the
 * reserve (0.8 * 10M over both markets) and every margin tier.
 */
function differentialParameters(): AeonParameters {
  const tiers: readonly TierParameters[] = [
    { maxOpenInterestUsd: wad("1500000"), imr: wad("0.028572"), mmr: wad("0.014286") },
    { maxOpenInterestUsd: wad("4000000"), imr: wad("0.05"), mmr: wad("0.025") },
    { maxOpenInterestUsd: 2n ** 128n - 1n, imr: wad("0.1"), mmr: wad("0.05") },
  ];
  const [eth, btc] = defaultParameters.markets;
  assert.ok(eth !== undefined && btc !== undefined);
  return {
    ...defaultParameters,
    markets: [
      { ...eth, tiers, config: { ...eth.config, skewScale: wad("200000"), maxOpenInterestUsd: wad("6000000") } },
      { ...btc, tiers, config: { ...btc.config, skewScale: wad("10000"), maxOpenInterestUsd: wad("4000000") } },
    ],
  };
}

// ---------------------------------------------------------------- seeded PRNG

class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = uniformGenerator(seed);
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Uniform bigint in [lo, hi]. */
  big(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    let r = 0n;
    for (let i = 0; i < 4; ++i) r = (r << 32n) | BigInt(Math.floor(this.next() * 4294967296));
    return lo + (r % span);
  }
  /** exp-uniform in [lo, hi] (positive). */
  logUniform(lo: number, hi: number): number {
    return lo * Math.pow(hi / lo, this.next());
  }
  /** A WAD fraction in [lo, hi). */
  fraction(lo: number, hi: number): bigint {
    return BigInt(Math.floor((lo + (hi - lo) * this.next()) * 1e9)) * 10n ** 9n;
  }
}

// ---------------------------------------------------------------- harness

interface Trader {
  readonly wallet: WalletClient;
  readonly subaccount: number;
  accountId: number;
  readonly orderBook: ContractReturnType<"OrderBook">;
}

class Harness {
  readonly configs: MarketEntry["config"][] = [];
  readonly tiers: (readonly MarginTier[])[] = [];
  private constructor(
    readonly connection: NetworkConnection,
    readonly d: AeonDeployment,
    readonly publicClient: PublicClient,
    readonly wallets: readonly WalletClient[],
  ) {}

  static async create(parameters: AeonParameters): Promise<Harness> {
    const connection = await network.create("hardhat");
    const d = await deployAeon(connection.viem, { parameters });
    const h = new Harness(connection, d, await connection.viem.getPublicClient(), await connection.viem.getWalletClients());
    for (const m of MARKETS) {
      h.configs.push(await d.contracts.engine.read.marketConfig([m]));
      h.tiers.push(await d.contracts.governance.read.marginTiers([m]));
    }
    return h;
  }

  get engine(): ContractReturnType<"ClearingEngine"> {
    return this.d.contracts.engine;
  }

  feed(m: number): ContractReturnType<"MockAggregator"> {
    assert.ok(this.d.mocks !== undefined);
    return m === 0 ? this.d.mocks.feeds.ETH : this.d.mocks.feeds.BTC;
  }

  async send(hash: Promise<Hex>): Promise<Awaited<ReturnType<PublicClient["waitForTransactionReceipt"]>>> {
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
    return receipt;
  }

  async now(): Promise<bigint> {
    return BigInt(await this.connection.networkHelpers.time.latest());
  }

  /** The next transaction is mined at exactly `at`. */
  async at(at: bigint): Promise<void> {
    await this.connection.networkHelpers.time.setNextBlockTimestamp(at);
  }

  /** Posts a round at `price` (WAD, a multiple of 1e10), observed at the next block's time. */
  async post(m: number, price: bigint): Promise<bigint> {
    const receipt = await this.send(this.feed(m).write.setPrice([price / TO_FEED]));
    const [log] = parseEventLogs({ abi: this.feed(m).abi, logs: receipt.logs, eventName: "RoundSet" });
    assert.ok(log !== undefined);
    return log.args.roundId;
  }

  /** `_latestPrice` and its validity at time `now` for each market, from the feeds. */
  async prices(now: bigint): Promise<MarketPrice[]> {
    const out: MarketPrice[] = [];
    for (const m of MARKETS) {
      const [, answer, , updatedAt] = await this.feed(m).read.latestRoundData();
      const config = this.configs[m]!;
      const price = BigInt(answer) * TO_FEED;
      const inBounds = price >= config.feed.minPrice && price <= config.feed.maxPrice;
      out.push({ price, valid: inBounds && updatedAt + BigInt(config.feed.heartbeat) >= now });
    }
    return out;
  }

  async markets(): Promise<MarketEntry[]> {
    const out: MarketEntry[] = [];
    for (const m of MARKETS) out.push({ config: this.configs[m]!, state: await this.d.contracts.governance.read.marketState([m]) });
    return out;
  }

  async accountState(accountId: number): Promise<{ account: Account; positions: PositionEntry[] }> {
    const account = toAccount(await this.engine.read.getAccount([accountId]));
    const positions: PositionEntry[] = [];
    for (const m of MARKETS) positions.push({ marketId: m, position: await this.engine.read.getPosition([accountId, m]) });
    return { account, positions };
  }

  /**
   * At time `t`, with market `m`'s round at `price`: the engine's liquidatable flag (the SDK's
   * valuation is checked to agree). Reverts the chain afterwards, so every probe sees the same state.
   */
  async probe(accountId: number, m: number, price: bigint, t: bigint): Promise<boolean> {
    const snapshot = await this.connection.networkHelpers.takeSnapshot();
    await this.at(t);
    await this.post(m, price);
    const [, liquidatable] = await this.d.contracts.liquidator.read.accountHealth([accountId]);
    await this.checkHealth(accountId, `probe at ${price}`);
    await snapshot.restore();
    return liquidatable;
  }

  /**
   * The SDK's liquidation price of the account's position in `m` at time `t`; when there is one
   * within the feed's bounds, probes it and one tick past it. Returns whether it probed.
   */
  async checkLiquidationPrice(accountId: number, m: number, t: bigint): Promise<boolean> {
    const { account, positions } = await this.accountState(accountId);
    const size = positions[m]!.position.size;
    const liq = liquidationPrice({
      account,
      positions,
      markets: await this.markets(),
      globalConfig: this.d.parameters.global,
      tiers: this.tiers,
      prices: await this.prices(t),
      now: t,
      marketId: m,
    });
    if (liq === undefined) return false;
    const past = size > 0n ? liq - FEED_TICK_8_DECIMALS : liq + FEED_TICK_8_DECIMALS;
    const feed = this.configs[m]!.feed;
    if (past < feed.minPrice || past > feed.maxPrice || liq < feed.minPrice || liq > feed.maxPrice) return false;
    assert.equal(liq % FEED_TICK_8_DECIMALS, 0n);
    assert.equal(await this.probe(accountId, m, liq, t), false, `account ${accountId} healthy at its liquidation price ${liq}`);
    assert.equal(await this.probe(accountId, m, past, t), true, `account ${accountId} liquidatable one tick past ${liq}`);
    return true;
  }

  /** Compares `accountHealth` of the SDK with `engine.accountHealth` (an eth_call at the latest block's time). */
  async checkHealth(accountId: number, label: string): Promise<void> {
    const now = await this.now();
    const { account, positions } = await this.accountState(accountId);
    const sdk = accountHealth(account, positions, await this.markets(), this.d.parameters.global, this.tiers, await this.prices(now), now);
    const [h, liquidatable] = await this.d.contracts.liquidator.read.accountHealth([accountId]);
    assert.deepEqual(
      { ...sdk },
      { ...h, liquidatable },
      `${label}: accountHealth of account ${accountId}`,
    );
  }
}

function describeError(e: EngineError | undefined): string {
  return e === undefined ? "accepted" : `${e.name}(${e.args.map(String).join(", ")})`;
}

// ---------------------------------------------------------------- random trades

describe("sdk differential: previewTrade and accountHealth against the engine", () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create(differentialParameters());
  });
  after(async () => {
    await h.connection.close();
  });

  it(`${CASES} random fills match the preview to the wei (seed ${SEED})`, async () => {
    const started = Date.now();
    console.log(`sdk differential: seed ${SEED} (0x${SEED.toString(16)}), ${CASES} cases`);
    const rnd = new Random(SEED);
    const { engine } = h.d.contracts;
    const parameters = h.d.parameters;
    const orderConfig = parameters.orderConfig;
    const fee = parameters.markets[0]!.orderBounds.minExecutionFee;
    const admin = h.wallets[0]!;
    const governance = h.d.contracts.governance;

    // Traders: wallets 1..14, subaccounts 0 and 1; whales (wallets 1, 2) that can reach the caps,
    // and small accounts (wallets 13, 14) whose fees take them under the minimum collateral.
    const traders: Trader[] = [];
    for (let i = 1; i <= 14; ++i) {
      const wallet = h.wallets[i]!;
      const client = { public: h.publicClient, wallet };
      const usdc = await h.connection.viem.getContractAt("MockUSDC", h.d.addresses.usdc, { client });
      const eng = await h.connection.viem.getContractAt("ClearingEngine", h.d.addresses.clearingEngine, { client });
      const orderBook = await h.connection.viem.getContractAt("OrderBook", h.d.addresses.orderBook, { client });
      for (const subaccount of [0, 1]) {
        const amount =
          i <= 2
            ? 1_500_000n * USDC + rnd.big(0n, USDC)
            : i >= 13
              ? rnd.big(6n * USDC, 12n * USDC)
              : rnd.big(500n * USDC, 200_000n * USDC);
        await h.send(usdc.write.mint([wallet.account.address, amount]));
        await h.send(usdc.write.approve([h.d.addresses.vault, amount]));
        await h.send(eng.write.deposit([wallet.account.address, subaccount, amount]));
        traders.push({ wallet, subaccount, accountId: await eng.read.accountIdOf([wallet.account.address, subaccount]), orderBook });
      }
    }

    // Prices: a random walk on 8-decimal answers.
    const current = [3000n * WAD, 60_000n * WAD];
    const move = (m: number, maxMove: number): bigint => {
      const f = rnd.float() * 2 - 1;
      const next = (current[m]! * BigInt(Math.round((1 + f * maxMove) * 1e8))) / 10n ** 8n;
      return (next / TO_FEED) * TO_FEED;
    };
    const posted = [0n, 0n];
    const refresh = async (): Promise<void> => {
      for (const m of MARKETS) {
        current[m] = move(m, 0.01);
        await h.post(m, current[m]!);
        posted[m] = await h.now();
      }
    };

    const counts = new Map<string, number>();
    const bump = (key: string): void => {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    let staleOther = false;
    let paused = false;
    let filled = 0;
    let cases = 0;
    while (cases < CASES) {
      // Time passes: funding and borrowing accrue; fresh rounds keep the feeds within their heartbeat.
      const oldest = posted[0]! < posted[1]! ? posted[0]! : posted[1]!;
      if (rnd.chance(0.15) || staleOther || (await h.now()) - oldest > 3000n) {
        await h.connection.networkHelpers.time.increase(rnd.int(3000) + 1);
        await refresh();
        staleOther = false;
      }
      const trader = traders[rnd.int(traders.length)]!;
      const m = rnd.int(2);
      const other = 1 - m;
      const { account, positions } = await h.accountState(trader.accountId);
      const size = positions[m]!.position.size;
      const price = current[m]!;

      // The order.
      let sizeDelta: bigint;
      let reduceOnly = false;
      const kind = rnd.float();
      const collateral = account.collateral > 0n ? account.collateral : WAD;
      if (size === 0n || kind < 0.4) {
        const leverage = collateral < 20n * WAD ? rnd.logUniform(0.9, 2) : rnd.logUniform(0.002, trader.accountId <= 4 ? 30 : 45);
        const notional = (collateral * BigInt(Math.floor(leverage * 1e6))) / 10n ** 6n;
        sizeDelta = max1((notional * WAD) / price + rnd.big(0n, 999n));
        if (rnd.chance(0.5)) sizeDelta = -sizeDelta;
        reduceOnly = rnd.chance(0.05);
      } else if (kind < 0.6) {
        sizeDelta = -((size * rnd.fraction(0.01, 0.99)) / WAD) - (size > 0n ? 1n : -1n);
        reduceOnly = rnd.chance(0.5);
      } else if (kind < 0.7) {
        sizeDelta = -size;
        reduceOnly = rnd.chance(0.5);
      } else if (kind < 0.85) {
        const extra = (abs(size) * rnd.fraction(0.05, 2)) / WAD + rnd.big(1n, 10n ** 12n);
        sizeDelta = size > 0n ? -size - extra : -size + extra;
        reduceOnly = rnd.chance(0.15);
      } else {
        sizeDelta = (size * rnd.fraction(0.05, 1.5)) / WAD + (size > 0n ? 7n : -7n);
      }
      if (sizeDelta === 0n) sizeDelta = size > 0n ? -1n : 1n;
      if (abs(sizeDelta) > parameters.markets[m]!.orderBounds.maxSize) continue;
      const tight = rnd.chance(0.06);
      const acceptablePrice = tight
        ? sizeDelta > 0n
          ? price + (price * BigInt(rnd.int(30))) / 10_000n
          : price - (price * BigInt(rnd.int(30))) / 10_000n
        : sizeDelta > 0n
          ? maxUint256
          : 0n;
      // Fill price: usually close to the current one, sometimes a gap that breaks margin.
      const fillPrice = move(m, rnd.chance(0.1) ? 0.08 : 0.004);
      // Rarely: the other market's feed turns stale between the order and its fill, or opening is paused.
      const makeStale = rnd.chance(0.02);
      const pause = rnd.chance(0.01);

      // Creation: the reservation the SDK predicts, and whether reserveOrderMargin accepts it.
      const tCreate = (await h.now()) + 1n;
      const marketsBefore = await h.markets();
      const res = orderReservation({
        sizeDelta,
        reduceOnly,
        indexPrice: price,
        config: h.configs[m]!,
        tiers: h.tiers[m]!,
        state: marketsBefore[m]!.state,
        marginBuffer: orderConfig.marginBuffer,
        minNotionalUsd: parameters.markets[m]!.orderBounds.minNotionalUsd,
      });
      if (!res.ok) {
        bump("creation: NotionalTooSmall");
        continue;
      }
      const pricesAtCreate = await h.prices(tCreate);
      const healthAtCreate = accountHealth(account, positions, marketsBefore, parameters.global, h.tiers, pricesAtCreate, tCreate);
      const creationOk =
        reduceOnly ||
        (healthAtCreate.pricesValid &&
          healthAtCreate.equity - healthAtCreate.positivePnl >=
            (healthAtCreate.initialMargin > healthAtCreate.maintenanceMargin ? healthAtCreate.initialMargin : healthAtCreate.maintenanceMargin) +
              account.reservedMargin +
              res.wad);
      await h.at(tCreate);
      const create = trader.orderBook.write.createOrder(
        [{ subaccount: trader.subaccount, marketId: m, orderType: 0, reduceOnly, sizeDelta, triggerPrice: 0n, acceptablePrice }],
        { value: fee },
      );
      if (!creationOk) {
        await assert.rejects(create, /InsufficientMargin|PricesInvalid/, `case ${cases}: creation should be refused`);
        bump("creation refused (margin)");
        continue;
      }
      const created = await h.send(create);
      const [order] = parseEventLogs({ abi: trader.orderBook.abi, logs: created.logs, eventName: "OrderCreated" });
      assert.ok(order !== undefined);
      assert.equal(order.args.reservation, res.wad, `case ${cases}: reservation`);

      if (pause !== paused) {
        await h.at(tCreate + 1n);
        await h.send(governance.write.setOpeningPaused([pause], { account: admin.account }));
        paused = pause;
      }
      if (makeStale && positions[other]!.position.size !== 0n) {
        // The other feed's latest round becomes stale one second before the fill.
        const updatedAt = tCreate + 3n - BigInt(h.configs[other]!.feed.heartbeat) - 1n;
        await h.at(tCreate + 2n);
        await h.send(h.feed(other).write.setRound([current[other]! / TO_FEED, updatedAt, updatedAt]));
        staleOther = true;
      }
      const tRound = (await h.now()) + 1n;
      await h.at(tRound);
      const fillRoundId = await h.post(m, fillPrice);
      current[m] = fillPrice;
      posted[m] = tRound;
      const tFill = tRound + 1n;

      // The state the engine will read at tFill, and the preview.
      const before = await h.accountState(trader.accountId);
      const markets = await h.markets();
      const prices = await h.prices(tFill);
      const pool = { poolCash: await engine.read.poolCash(), totalDebt: await engine.read.totalDebt() };
      const insuranceBefore = await engine.read.insuranceFund();
      const treasuryBefore = await engine.read.treasury();
      const preview = previewTrade({
        accountId: trader.accountId,
        account: before.account,
        positions: before.positions,
        marketId: m,
        sizeDelta,
        price: fillPrice,
        acceptablePrice,
        reduceOnly,
        reservation: res.wad,
        markets,
        tiers: h.tiers,
        prices,
        globalConfig: parameters.global,
        pool,
        openingPaused: paused,
        now: tFill,
      });

      await h.at(tFill);
      const executed = await h.send(
        (await h.connection.viem.getContractAt("OrderBook", h.d.addresses.orderBook, {
          client: { public: h.publicClient, wallet: admin },
        })).write.executeOrder([m, fillRoundId, order.args.anchorRoundId]),
      );
      const label = `case ${cases} (account ${trader.accountId}, market ${m}, size ${before.positions[m]!.position.size} + ${sizeDelta}${reduceOnly ? " reduce-only" : ""}, price ${fillPrice})`;
      const [change] = parseEventLogs({ abi: engine.abi, logs: executed.logs, eventName: "PositionChanged" });
      const { account: accountAfter, positions: positionsAfter } = await h.accountState(trader.accountId);
      if (change !== undefined) {
        assert.equal(preview.error, undefined, `${label}: filled, preview says ${describeError(preview.error)}`);
        const a = change.args;
        assert.deepEqual(
          {
            price: a.price,
            fillPrice: a.fillPrice,
            newSize: a.newSize,
            newCost: a.newCost,
            realizedPnl: a.realizedPnl,
            feeUsd: a.feeUsd,
            impactUsd: a.impactUsd,
            fundingPaid: a.fundingPaid,
            borrowingPaid: a.borrowingPaid,
            collateral: a.collateral,
          },
          {
            price: fillPrice,
            fillPrice: preview.fillPrice,
            newSize: preview.newSize,
            newCost: preview.newCost,
            realizedPnl: preview.realizedPnl,
            feeUsd: preview.feeUsd,
            impactUsd: preview.impactUsd,
            fundingPaid: preview.fundingPaid,
            borrowingPaid: preview.borrowingPaid,
            collateral: preview.collateralAfter,
          },
          label,
        );
        assert.deepEqual(accountAfter, preview.accountAfter, `${label}: account after`);
        assert.deepEqual(positionsAfter[m]!.position, preview.positionAfter, `${label}: position after`);
        assert.deepEqual(await h.d.contracts.governance.read.marketState([m]), preview.marketStateAfter, `${label}: market state after`);
        assert.equal((await engine.read.insuranceFund()) - insuranceBefore, preview.feeShares.insurance, `${label}: insurance share`);
        assert.equal((await engine.read.treasury()) - treasuryBefore, preview.feeShares.treasury, `${label}: treasury share`);
        bump(reduceOnly ? "filled reduce-only" : preview.newSize === 0n ? "filled: closed" : "filled");
        ++filled;
      } else {
        const [cancel] = parseEventLogs({ abi: trader.orderBook.abi, logs: executed.logs, eventName: "OrderCancelled" });
        assert.ok(cancel !== undefined, `${label}: neither filled nor cancelled`);
        const decoded = decodeErrorResult({ abi: engine.abi, data: cancel.args.engineError });
        const actual = `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`;
        assert.equal(actual, describeError(preview.error), `${label}: cancel reason`);
        assert.ok(preview.error !== undefined);
        const penalty = cancelPenalty(preview.error, sizeDelta, fillPrice, orderConfig.penaltyRate, res.wad);
        assert.equal(cancel.args.penalty, penalty, `${label}: penalty`);
        assert.equal(accountAfter.collateral, before.account.collateral - penalty, `${label}: collateral after cancel`);
        bump(`cancelled: ${preview.error.name}`);
      }
      await h.checkHealth(trader.accountId, label);
      // Every 10th case: the SDK's liquidation price of the traded position, probed on-chain.
      if (cases % 10 === 0 && positionsAfter[m]!.position.size !== 0n && !staleOther) {
        if (await h.checkLiquidationPrice(trader.accountId, m, (await h.now()) + 1n)) bump("liquidation price probed");
      }
      ++cases;
    }
    if (paused) await h.send(governance.write.setOpeningPaused([false], { account: admin.account }));
    const seconds = (Date.now() - started) / 1000;
    console.log(`sdk differential: ${cases} cases (${filled} filled) in ${seconds.toFixed(1)} s`);
    console.log(`sdk differential outcomes: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`);
    assert.equal(cases, CASES);
  });
});

function max1(x: bigint): bigint {
  return x < 1n ? 1n : x;
}

// ---------------------------------------------------------------- liquidation price

describe("sdk differential: liquidationPrice against engine.accountHealth", () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create(defaultParameters);
  });
  after(async () => {
    await h.connection.close();
  });

  /** Opens `sizeDelta` in market `m` for `trader` through the order book at the current price. */
  async function open(trader: WalletClient, m: number, sizeDelta: bigint, price: bigint): Promise<void> {
    const client = { public: h.publicClient, wallet: trader };
    const orderBook = await h.connection.viem.getContractAt("OrderBook", h.d.addresses.orderBook, { client });
    const created = await h.send(
      orderBook.write.createOrder(
        [{ subaccount: 0, marketId: m, orderType: 0, reduceOnly: false, sizeDelta, triggerPrice: 0n, acceptablePrice: sizeDelta > 0n ? maxUint256 : 0n }],
        { value: defaultParameters.markets[m]!.orderBounds.minExecutionFee },
      ),
    );
    const [order] = parseEventLogs({ abi: orderBook.abi, logs: created.logs, eventName: "OrderCreated" });
    assert.ok(order !== undefined);
    await h.at((await h.now()) + 1n);
    const round = await h.post(m, price);
    const executed = await h.send(orderBook.write.executeOrder([m, round, order.args.anchorRoundId]));
    assert.equal(parseEventLogs({ abi: h.engine.abi, logs: executed.logs, eventName: "PositionChanged" }).length, 1);
  }

  async function deposit(trader: WalletClient, amount: bigint): Promise<number> {
    const client = { public: h.publicClient, wallet: trader };
    const usdc = await h.connection.viem.getContractAt("MockUSDC", h.d.addresses.usdc, { client });
    const eng = await h.connection.viem.getContractAt("ClearingEngine", h.d.addresses.clearingEngine, { client });
    await h.send(usdc.write.mint([trader.account.address, amount]));
    await h.send(usdc.write.approve([h.d.addresses.vault, amount]));
    await h.send(eng.write.deposit([trader.account.address, 0, amount]));
    return eng.read.accountIdOf([trader.account.address, 0]);
  }


  /** Liquidates the account and compares `Liquidated` with `liquidationSettlement` of its closes. */
  async function liquidateAndCompare(accountId: number): Promise<void> {
    const insuranceBefore = await h.engine.read.insuranceFund();
    const receipt = await h.send(h.d.contracts.liquidator.write.liquidate([accountId]));
    const closes = parseEventLogs({ abi: h.engine.abi, logs: receipt.logs, eventName: "PositionChanged" });
    assert.equal(closes.length, 2);
    let fee = 0n;
    let insurance = insuranceBefore;
    for (const close of closes) {
      const config = h.configs[close.args.marketId]!;
      fee += liquidationCloseFee(close.args.sizeDelta, close.args.price, config.liquidationFee).fee;
      insurance += feeShares(close.args.feeUsd, h.d.parameters.global).insurance;
    }
    const collateral = closes[closes.length - 1]!.args.collateral;
    const expected = liquidationSettlement(fee, collateral, insurance, h.d.parameters.global);
    const [liquidated] = parseEventLogs({ abi: h.engine.abi, logs: receipt.logs, eventName: "Liquidated" });
    assert.ok(liquidated !== undefined);
    assert.deepEqual(
      {
        feeUsd: liquidated.args.feeUsd,
        keeperReward: liquidated.args.keeperReward,
        rewardFromInsurance: liquidated.args.rewardFromInsurance,
        remainingCollateral: liquidated.args.remainingCollateral,
        insuranceFund: await h.engine.read.insuranceFund(),
      },
      {
        feeUsd: expected.feeTaken,
        keeperReward: expected.keeperReward,
        rewardFromInsurance: expected.rewardFromInsurance,
        remainingCollateral: expected.remainingCollateral,
        insuranceFund: expected.insuranceFundAfter,
      },
    );
    const [badDebt] = parseEventLogs({ abi: h.engine.abi, logs: receipt.logs, eventName: "BadDebt" });
    assert.deepEqual(
      badDebt === undefined
        ? undefined
        : { shortfall: badDebt.args.shortfall, fromInsurance: badDebt.args.fromInsurance, fromPool: badDebt.args.fromPool },
      expected.badDebt,
    );
  }

  for (const side of ["long", "short"] as const) {
    it(`${side} ETH with a BTC position: healthy at the SDK's price, liquidatable one tick past it`, async () => {
      const trader = h.wallets[side === "long" ? 5 : 6]!;
      const accountId = await deposit(trader, 2_000n * USDC);
      const ethSize = side === "long" ? 15n * WAD + 123_456_789n : -(15n * WAD + 987_654_321n);
      await open(trader, 1, side === "long" ? -WAD / 5n : WAD / 5n, 60_000n * WAD);
      await open(trader, 0, ethSize, 3000n * WAD);
      // Some time passes so funding and borrowing have accrued; both feeds fresh.
      await h.connection.networkHelpers.time.increase(1800);
      await h.post(1, 60_000n * WAD);
      await h.post(0, 3000n * WAD);

      const t = (await h.now()) + 10n;
      const { account, positions } = await h.accountState(accountId);
      const markets = await h.markets();
      const prices = await h.prices(t);
      const liq = liquidationPrice({
        account,
        positions,
        markets,
        globalConfig: h.d.parameters.global,
        tiers: h.tiers,
        prices,
        now: t,
        marketId: 0,
      });
      assert.ok(liq !== undefined);
      assert.equal(liq % FEED_TICK_8_DECIMALS, 0n);
      const past = side === "long" ? liq - FEED_TICK_8_DECIMALS : liq + FEED_TICK_8_DECIMALS;
      console.log(`sdk liquidation price (${side}): ${liq}`);
      assert.equal(liq, side === "long" ? 2922_11887983n * TO_FEED : 3076_86495016n * TO_FEED);
      assert.equal(await h.probe(accountId, 0, liq, t), false, "healthy at the liquidation price");
      assert.equal(await h.probe(accountId, 0, past, t), true, "liquidatable one tick past it");
      // Liquidation at a price 2% past it (bad debt at this leverage): Liquidated and BadDebt match liquidationSettlement.
      const snapshot = await h.connection.networkHelpers.takeSnapshot();
      await h.at(t);
      await h.post(0, side === "long" ? (liq * 98n) / 100n : (liq * 102n) / 100n);
      await liquidateAndCompare(accountId);
      await snapshot.restore();
    });
  }
});
