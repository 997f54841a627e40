/**
 * Stress scenarios on the real contracts and keepers: `npm run stress -- [options]`.
 *
 * Each scenario is a seeded, reproducible run on a fresh in-process chain with the default
 * parameters: a crowd of traders and LPs, the keepers (`scripts/keeper/keepers.ts`) and a price
 * path sampled at the oracle's update interval. Time is simulated in discrete steps: each step
 * moves the chain's clock, posts a round on every feed (unless the oracle is stalled), lets the
 * scenario's actors act, notes every account that became liquidatable, runs one keeper pass
 * (unless the keepers are down) and samples the pool. The report says what each scenario did to
 * traders, LPs and the insurance fund.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, type EIP1193RequestFn, type Transport, type WalletClient, createPublicClient, custom, parseEventLogs } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  type AeonBaseClient,
  type AeonDeployment,
  NO_PRICE_BOUND,
  WAD,
  aeonEventAbi,
  decodeAeonError,
  engineAbi,
  getMarkets,
  getPool,
  liquidityPoolAbi,
  loadDeployment,
  orderBookAbi,
} from "../sdk/src/index.js";
import { type AeonDeployment as ScriptDeployment, deployAeon, deploymentRecord } from "./deploy.js";
import { type PricePath, move, randomWalk, seedFor, uniformGenerator } from "./exchange/prices.js";
import { type Keeper, createKeeper } from "./keeper/keepers.js";

const HOUR = 3600;
const MINUTE = 60;
const USDC = 10n ** 6n;
const FEED_DECIMALS = 8;
const SYMBOLS = ["ETH", "BTC"] as const;
type Symbol = (typeof SYMBOLS)[number];
const INITIAL_PRICE: Readonly<Record<Symbol, number>> = { ETH: 3000, BTC: 60_000 };
const VOLATILITY: Readonly<Record<Symbol, number>> = { ETH: 0.75, BTC: 0.55 };
const REJECTED = 4; // OrderBook.CancelReason.Rejected: a rule the trader does not control (caps, pause, prices)

// ---------------------------------------------------------------- scenarios

export const SCENARIO_NAMES = ["crash50", "squeeze", "drain", "keeper-outage", "oracle-stall", "manipulation"] as const;
export type StressScenarioName = (typeof SCENARIO_NAMES)[number];

interface ScenarioPlan {
  readonly description: string;
  /** Simulated seconds the run lasts. */
  readonly duration: number;
  /** The oracle's update interval (one step). */
  readonly step: number;
  readonly paths: Readonly<Record<Symbol, PricePath>>;
  /** The crowd's side: +1 mostly long, -1 mostly short. */
  readonly crowdSide: 1 | -1;
  /** No round is posted while this holds (the feed stalls). */
  readonly oracleStalled?: (t: number) => boolean;
  /** The keepers do nothing while this holds. */
  readonly keepersDown?: (t: number) => boolean;
  /** Per-step actions beyond the crowd's (LP drain, the attacker). */
  readonly act?: (sim: Simulation, t: number) => Promise<void>;
}

const WARMUP = 2 * HOUR;

function walks(seed: number): Record<Symbol, PricePath> {
  const out = {} as Record<Symbol, PricePath>;
  for (const symbol of SYMBOLS) {
    out[symbol] = randomWalk({ seed: seedFor(seed, symbol), initialPrice: INITIAL_PRICE[symbol], annualVolatility: VOLATILITY[symbol], stepSeconds: MINUTE });
  }
  return out;
}

function plan(name: StressScenarioName, seed: number, short: boolean): ScenarioPlan {
  const w = walks(seed);
  const both = (f: (p: PricePath) => PricePath): Record<Symbol, PricePath> => ({ ETH: f(w.ETH), BTC: f(w.BTC) });
  switch (name) {
    case "crash50":
      return {
        description: "the index falls 50% within one simulated day, in steps at the oracle's update interval",
        duration: WARMUP + 24 * HOUR + 2 * HOUR,
        step: short ? 15 * MINUTE : 3 * MINUTE,
        paths: both((p) => move(p, WARMUP, 24 * HOUR, -0.5)),
        crowdSide: 1,
      };
    case "squeeze":
      return {
        description: "the index rises 60% in 6 hours against a crowd of shorts",
        duration: WARMUP + 6 * HOUR + 2 * HOUR,
        step: short ? 10 * MINUTE : 2 * MINUTE,
        paths: both((p) => move(p, WARMUP, 6 * HOUR, 0.6)),
        crowdSide: -1,
      };
    case "drain":
      return {
        description: "LPs redeem as fast as the pool allows while traders hold large winning positions (index +30% over a day)",
        duration: WARMUP + 24 * HOUR + 6 * HOUR,
        step: short ? 20 * MINUTE : 5 * MINUTE,
        paths: both((p) => move(p, WARMUP, 24 * HOUR, 0.3)),
        crowdSide: 1,
        act: drainPool,
      };
    case "keeper-outage":
      return {
        description: "the keepers stop for one simulated hour during a 20% drop, then return",
        duration: WARMUP + 4 * HOUR,
        step: short ? 10 * MINUTE : 2 * MINUTE,
        paths: both((p) => move(p, WARMUP + HOUR, HOUR, -0.2)),
        crowdSide: 1,
        keepersDown: (t) => t >= WARMUP + HOUR && t < WARMUP + 2 * HOUR,
      };
    case "oracle-stall":
      return {
        description: "the feeds stop updating for 3 hours (the heartbeat is 1 hour) while the market falls 15%, then resume with the jump",
        duration: WARMUP + 6 * HOUR,
        step: short ? 10 * MINUTE : 2 * MINUTE,
        paths: both((p) => move(p, WARMUP + HOUR, 3 * HOUR, -0.15)),
        crowdSide: 1,
        oracleStalled: (t) => t >= WARMUP + HOUR && t < WARMUP + 4 * HOUR,
      };
    case "manipulation":
      return {
        description: "an actor opens large opposite positions in two subaccounts to move the skew, farm impact and funding, then unwinds",
        duration: WARMUP + 26 * HOUR,
        step: short ? 20 * MINUTE : 5 * MINUTE,
        paths: w,
        crowdSide: 1,
        act: manipulate,
      };
  }
}

// ---------------------------------------------------------------- report

export interface SharePricePoint {
  readonly t: number;
  readonly price: number;
  readonly sharePrice: number;
  readonly insuranceFundUsd: number;
}

export interface ScenarioReport {
  readonly scenario: StressScenarioName;
  readonly description: string;
  readonly seed: number;
  readonly simulatedHours: number;
  readonly traders: number;
  readonly badDebtUsd: number;
  /** Bad debt the insurance fund could not cover (charged to the pool). */
  readonly badDebtFromPoolUsd: number;
  readonly insuranceUsedUsd: number;
  readonly insuranceFundStartUsd: number;
  readonly insuranceFundEndUsd: number;
  readonly poolDrawdownPct: number;
  readonly sharePriceStart: number;
  readonly sharePriceEnd: number;
  readonly liquidations: number;
  readonly maxLiquidationDelaySeconds: number;
  /** Accounts still liquidatable at the end. */
  readonly liquidatableAtEnd: number;
  /** Debts of accounts with nothing left to liquidate at the end (the pool's receivable). */
  readonly debtOutstandingUsd: number;
  readonly tradesRejectedByCaps: number;
  readonly fundingPaidLongUsd: number;
  readonly fundingPaidShortUsd: number;
  readonly lpRedeemedUsd: number;
  readonly attackerProfitUsd?: number;
  readonly path: readonly SharePricePoint[];
}

// ---------------------------------------------------------------- simulation

interface TraderAccount {
  readonly wallet: WalletClient & { account: { address: Address } };
  readonly subaccount: number;
  accountId: number;
}

/** One scenario's chain, actors and records. */
export class Simulation {
  readonly connection: NetworkConnection;
  readonly d: ScriptDeployment;
  readonly deployment: AeonDeployment;
  readonly wallets: readonly (WalletClient & { account: { address: Address } })[];
  readonly random: () => number;
  readonly traders: TraderAccount[] = [];
  /** Accounts whose liquidatability is watched: first time (chain seconds) each was seen liquidatable. */
  readonly liquidatableSince = new Map<number, bigint>();
  /** The longest an account stayed liquidatable (chain seconds). */
  maxLiquidationDelay = 0n;
  attackerProfitUsd: number | undefined;
  /** Settlement-token units paid to redeeming LPs. */
  lpRedeemedAssets = 0n;
  /** The in-process node as a viem transport (the keepers' and the report's reads). */
  readonly transport: Transport;
  /** Reads through the SDK (uncached: every step reads the new state). */
  readonly reader: AeonBaseClient;

  private constructor(connection: NetworkConnection, d: ScriptDeployment, wallets: Simulation["wallets"], seed: number) {
    this.connection = connection;
    this.d = d;
    this.deployment = loadDeployment(JSON.parse(JSON.stringify(deploymentRecord("hardhat", d))));
    this.wallets = wallets;
    this.random = uniformGenerator(seedFor(seed, "actors"));
    const request = ((args: { method: string; params?: unknown }) =>
      connection.provider.request(args as Parameters<typeof connection.provider.request>[0])) as EIP1193RequestFn;
    this.transport = custom({ request });
    this.reader = {
      publicClient: createPublicClient({ transport: this.transport, cacheTime: 0 }),
      signer: undefined,
      deployment: this.deployment,
      executionGas: 0n,
      confirmations: 1,
    };
  }

  static async create(seed: number): Promise<Simulation> {
    const connection = await network.create("hardhat");
    const d = await deployAeon(connection.viem);
    const wallets = (await connection.viem.getWalletClients()) as Simulation["wallets"];
    return new Simulation(connection, d, wallets, seed);
  }

  get publicClientPromise() {
    return this.connection.viem.getPublicClient();
  }

  async now(): Promise<bigint> {
    return BigInt(await this.connection.networkHelpers.time.latest());
  }

  /** Mints, approves and deposits `usdc` for (wallet, subaccount); returns the account id. */
  async fund(wallet: TraderAccount["wallet"], subaccount: number, usdc: bigint): Promise<number> {
    const mocks = this.d.mocks;
    if (mocks === undefined) throw new Error("stress: needs the local deployment's mocks");
    const { engine } = this.d.contracts;
    await mocks.usdc.write.mint([wallet.account.address, usdc]);
    await mocks.usdc.write.approve([this.deployment.addresses.vault, usdc], { account: wallet.account });
    await engine.write.deposit([wallet.account.address, subaccount, usdc], { account: wallet.account });
    return Number(await engine.read.accountIdOf([wallet.account.address, subaccount]));
  }

  /** A market order; undefined when the order book refuses it at creation (the refusal is the answer). */
  async order(trader: TraderAccount, symbol: Symbol, sizeDelta: bigint, reduceOnly = false): Promise<bigint | undefined> {
    const marketId = this.deployment.marketIds[symbol];
    if (marketId === undefined) throw new Error(`stress: no market ${symbol}`);
    try {
      const { request, result } = await (await this.publicClientPromise).simulateContract({
        address: this.deployment.addresses.orderBook,
        abi: orderBookAbi,
        functionName: "createOrder",
        args: [{ subaccount: trader.subaccount, marketId, orderType: 0, reduceOnly, sizeDelta, triggerPrice: 0n, acceptablePrice: sizeDelta > 0n ? NO_PRICE_BOUND : 0n }],
        value: 10n ** 15n,
        account: trader.wallet.account,
      });
      await trader.wallet.writeContract(request);
      return result;
    } catch {
      return undefined;
    }
  }

  /** A trader's position size in a market. */
  async size(trader: TraderAccount, symbol: Symbol): Promise<bigint> {
    const marketId = this.deployment.marketIds[symbol] ?? 0;
    return (await this.d.contracts.engine.read.getPosition([trader.accountId, marketId])).size;
  }
}

/** Opens the crowd: traders with 2x to 30x on both markets, mostly on `side`. */
async function openCrowd(sim: Simulation, count: number, side: 1 | -1): Promise<void> {
  const crowdWallet = sim.wallets[1];
  if (crowdWallet === undefined) throw new Error("stress: the network has too few accounts");
  const leverages = [2, 3, 5, 8, 10, 15, 20, 25, 30];
  for (let i = 0; i < count; ++i) {
    const collateralUsd = 2_000 + Math.floor(sim.random() * 18_000);
    const accountId = await sim.fund(crowdWallet, i, BigInt(collateralUsd) * USDC);
    const trader: TraderAccount = { wallet: crowdWallet, subaccount: i, accountId };
    sim.traders.push(trader);
    const leverage = leverages[i % leverages.length] ?? 5;
    const direction = sim.random() < 0.8 ? side : -side;
    const symbol: Symbol = i % 3 === 2 ? "BTC" : "ETH";
    const notional = collateralUsd * leverage;
    const size = BigInt(Math.floor((notional / INITIAL_PRICE[symbol]) * 1e6)) * 10n ** 12n;
    await sim.order(trader, symbol, BigInt(direction) * size);
  }
}

/**
 * The crowd keeps trading: each step, about one trader in six per simulated hour sends an order:
 * mostly adding to its position on its side, sometimes closing it. Refusals (margin, caps) are
 * part of the result.
 */
async function crowdActivity(sim: Simulation, stepSeconds: number, side: 1 | -1): Promise<void> {
  const expected = (sim.traders.length * stepSeconds) / (6 * HOUR);
  let count = Math.floor(expected) + (sim.random() < expected % 1 ? 1 : 0);
  while (count-- > 0) {
    const trader = sim.traders[Math.floor(sim.random() * sim.traders.length)];
    if (trader === undefined) continue;
    const symbol: Symbol = trader.subaccount % 3 === 2 ? "BTC" : "ETH";
    const size = await sim.size(trader, symbol);
    if (size !== 0n && sim.random() < 0.25) {
      await sim.order(trader, symbol, -size, true);
      continue;
    }
    const direction = size === 0n ? (sim.random() < 0.8 ? side : -side) : size > 0n ? 1 : -1;
    const notionalUsd = 5_000 + Math.floor(sim.random() * 45_000);
    await sim.order(trader, symbol, BigInt(direction) * BigInt(Math.floor((notionalUsd / INITIAL_PRICE[symbol]) * 1e6)) * 10n ** 12n);
  }
}

/** drain: every LP asks to redeem everything it holds as soon as it can; claims whatever was filled. */
async function drainPool(sim: Simulation, t: number): Promise<void> {
  const pool = sim.deployment.addresses.liquidityPool;
  const publicClient = await sim.publicClientPromise;
  if (t < WARMUP) return;
  for (const lp of [sim.wallets[0], sim.wallets[3], sim.wallets[4]]) {
    if (lp === undefined) continue;
    const owner = lp.account.address;
    const claimable = await publicClient.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "claimableRedeemRequest", args: [0n, owner] });
    if (claimable > 0n) {
      const { result, request } = await publicClient.simulateContract({ address: pool, abi: liquidityPoolAbi, functionName: "redeem", args: [claimable, owner, owner], account: lp.account });
      await lp.writeContract(request);
      sim.lpRedeemedAssets += result;
    }
    const depositClaim = await publicClient.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "claimableDepositRequest", args: [0n, owner] });
    if (depositClaim > 0n) {
      const { request } = await publicClient.simulateContract({ address: pool, abi: liquidityPoolAbi, functionName: "deposit", args: [depositClaim, owner, owner], account: lp.account });
      await lp.writeContract(request);
    }
    const pending = await publicClient.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "pendingRedeemRequest", args: [0n, owner] });
    const shares = await publicClient.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "balanceOf", args: [owner] });
    if (pending === 0n && shares > 0n) {
      try {
        const { request } = await publicClient.simulateContract({ address: pool, abi: liquidityPoolAbi, functionName: "requestRedeem", args: [shares, owner, owner], account: lp.account });
        await lp.writeContract(request);
      } catch {
        // A request still waiting in another epoch: the pool allows one at a time.
      }
    }
  }
}

/**
 * manipulation: two attackers, each with two subaccounts of 1M USDC. Attacker A pushes the skew
 * with a large long in subaccount 0, holds it an hour (the premium and funding it created stand),
 * then takes the other side in subaccount 1 hoping to be paid that premium; attacker B does the
 * reverse (short first) two hours later, so the two never offset each other's skew. Both hold the
 * hedged pair through three funding intervals, then unwind. Profit: the four accounts' equity at
 * the end (collateral plus anything still open) minus what was deposited.
 */
async function manipulate(sim: Simulation, t: number): Promise<void> {
  const state = manipulation.get(sim) ?? { legs: [] as TraderAccount[], done: new Set<string>(), deposited: 0n };
  manipulation.set(sim, state);
  const size = 300n * WAD; // ~900k USD of ETH per leg
  const once = async (label: string, at: number, action: () => Promise<void>) => {
    if (t < at || state.done.has(label)) return;
    state.done.add(label);
    await action();
  };
  await once("fund", WARMUP, async () => {
    for (const wallet of [sim.wallets[5], sim.wallets[6]]) {
      if (wallet === undefined) throw new Error("stress: the network has too few accounts");
      for (const sub of [0, 1]) {
        const accountId = await sim.fund(wallet, sub, 1_000_000n * USDC);
        state.legs.push({ wallet, subaccount: sub, accountId });
        state.deposited += 1_000_000n * WAD;
      }
    }
  });
  const [a0, a1, b0, b1] = state.legs;
  if (a0 === undefined || a1 === undefined || b0 === undefined || b1 === undefined) return;
  await once("A moves the skew", WARMUP, async () => void (await sim.order(a0, "ETH", size)));
  await once("A hedges", WARMUP + HOUR, async () => void (await sim.order(a1, "ETH", -size)));
  await once("B moves the skew", WARMUP + 2 * HOUR, async () => void (await sim.order(b0, "ETH", -size)));
  await once("B hedges", WARMUP + 3 * HOUR, async () => void (await sim.order(b1, "ETH", size)));
  await once("unwind", WARMUP + 25 * HOUR, async () => {
    for (const leg of state.legs) {
      const current = await sim.size(leg, "ETH");
      if (current !== 0n) await sim.order(leg, "ETH", -current, true);
    }
  });
  await once("measure", WARMUP + 26 * HOUR - HOUR / 2, async () => {
    let equity = 0n;
    for (const leg of state.legs) equity += (await sim.d.contracts.liquidator.read.accountHealth([leg.accountId]))[0].equity;
    sim.attackerProfitUsd = wadToUsd(equity - state.deposited);
  });
}
const manipulation = new WeakMap<Simulation, { legs: TraderAccount[]; done: Set<string>; deposited: bigint }>();

function wadToUsd(value: bigint): number {
  return Number(value / 10n ** 12n) / 1e6;
}

function answerOf(price: number): bigint {
  return BigInt(Math.round(price * 10 ** FEED_DECIMALS));
}

/** Runs one scenario and reports it. */
export async function runScenario(name: StressScenarioName, options: { seed?: number; short?: boolean; traders?: number } = {}): Promise<ScenarioReport> {
  const seed = options.seed ?? 1;
  const short = options.short ?? false;
  const p = plan(name, seed, short);
  const crowd = options.traders ?? (short ? 12 : 36);
  const sim = await Simulation.create(seed);
  try {
    return await simulate(sim, name, p, seed, crowd);
  } finally {
    await sim.connection.close();
  }
}

async function simulate(sim: Simulation, name: StressScenarioName, p: ScenarioPlan, seed: number, crowd: number): Promise<ScenarioReport> {
  const { connection, d, deployment } = sim;
  const mocks = d.mocks;
  if (mocks === undefined) throw new Error("stress: needs the local deployment's mocks");
  const publicClient = await sim.publicClientPromise;
  const keeperAccount = privateKeyToAccount(generatePrivateKey());
  await connection.provider.request({ method: "hardhat_setBalance", params: [keeperAccount.address, "0x3635C9ADC5DEA00000"] });
  const keeper: Keeper = createKeeper({ transport: sim.transport, account: keeperAccount, deployment, jobs: ["orders", "funding", "liquidations"], pollIntervalMs: 0 });
  const { time } = connection.networkHelpers;

  // Extra LPs beside the seed (the admin): they deposit in the first epoch.
  for (const lp of [sim.wallets[3], sim.wallets[4]]) {
    if (lp === undefined) continue;
    await mocks.usdc.write.mint([lp.account.address, 2_000_000n * USDC]);
    await mocks.usdc.write.approve([deployment.addresses.vault, 2_000_000n * USDC], { account: lp.account });
    await d.contracts.pool.write.requestDeposit([2_000_000n * USDC, lp.account.address, lp.account.address], { account: lp.account });
  }

  const start = await sim.now();
  const insuranceStart = await d.contracts.engine.read.insuranceFund();
  const samples: SharePricePoint[] = [];
  const lastSample = new Map<number, { cumFunding: bigint; longSize: bigint; shortSize: bigint }>();
  let fundingLong = 0n;
  let fundingShort = 0n;
  let peakShare = 0;
  let drawdown = 0;

  for (let t = 0; t <= p.duration; t += p.step) {
    const target = start + BigInt(t);
    if (target > (await sim.now())) await time.increaseTo(target);
    if (p.oracleStalled?.(t) !== true) {
      for (const symbol of SYMBOLS) await mocks.feeds[symbol].write.setPrice([answerOf(p.paths[symbol](t))]);
    }
    if (t === p.step) await openCrowd(sim, crowd, p.crowdSide);
    else if (t > p.step) await crowdActivity(sim, p.step, p.crowdSide);
    await p.act?.(sim, t);
    await noteLiquidatable(sim);
    if (p.keepersDown?.(t) !== true) await keeper.tick();
    await noteLiquidatable(sim);

    // Samples: the pool's share price, the insurance fund, funding accrued per side since the last step.
    const [pool, markets] = await Promise.all([getPool(sim.reader), getMarkets(sim.reader)]);
    for (const market of markets) {
      // Funding since the last sample accrued on the open interest held then.
      const previous = lastSample.get(market.marketId);
      lastSample.set(market.marketId, { cumFunding: market.state.cumFunding, longSize: market.state.longSize, shortSize: market.state.shortSize });
      if (previous === undefined) continue;
      const delta = market.state.cumFunding - previous.cumFunding;
      fundingLong += (previous.longSize * delta) / WAD;
      fundingShort -= (previous.shortSize * delta) / WAD;
    }
    // Token units (6 decimals) one whole share is worth.
    const sharePrice = Number(pool.sharePrice) / 1e6;
    peakShare = Math.max(peakShare, sharePrice);
    drawdown = Math.max(drawdown, peakShare === 0 ? 0 : ((peakShare - sharePrice) / peakShare) * 100);
    samples.push({ t, price: p.paths.ETH(t), sharePrice, insuranceFundUsd: wadToUsd(pool.insuranceFund) });
  }

  const logs = await publicClient.getLogs({ address: [deployment.addresses.clearingEngine, deployment.addresses.orderBook], fromBlock: 0n });
  const events = parseEventLogs({ abi: aeonEventAbi, logs, strict: true });
  let badDebt = 0n;
  let badDebtFromPool = 0n;
  let insuranceUsed = 0n;
  let liquidations = 0;
  let rejectedByCaps = 0;
  for (const event of events) {
    if (event.eventName === "BadDebt") {
      badDebt += event.args.shortfall;
      badDebtFromPool += event.args.fromPool;
      insuranceUsed += event.args.fromInsurance;
    } else if (event.eventName === "Liquidated") {
      ++liquidations;
      insuranceUsed += event.args.rewardFromInsurance;
    } else if (event.eventName === "OrderCancelled" && event.args.reason === REJECTED) {
      const error = event.args.engineError === "0x" ? undefined : decodeAeonError(event.args.engineError);
      if (error !== undefined && ["OpenInterestCapExceeded", "ReserveExceeded", "SkewBoundExceeded"].includes(error.errorName)) ++rejectedByCaps;
    }
  }
  const first = samples[0];
  const last = samples.at(-1);
  const liquidatableAtEnd = [...sim.liquidatableSince.keys()].length;
  return {
    scenario: name,
    description: p.description,
    seed,
    simulatedHours: p.duration / HOUR,
    traders: crowd,
    badDebtUsd: wadToUsd(badDebt),
    badDebtFromPoolUsd: wadToUsd(badDebtFromPool),
    insuranceUsedUsd: wadToUsd(insuranceUsed),
    insuranceFundStartUsd: wadToUsd(insuranceStart),
    insuranceFundEndUsd: last?.insuranceFundUsd ?? 0,
    poolDrawdownPct: round(drawdown, 4),
    sharePriceStart: first?.sharePrice ?? 0,
    sharePriceEnd: last?.sharePrice ?? 0,
    liquidations,
    maxLiquidationDelaySeconds: Number(sim.maxLiquidationDelay),
    liquidatableAtEnd,
    debtOutstandingUsd: wadToUsd(await d.contracts.engine.read.totalDebt()),
    tradesRejectedByCaps: rejectedByCaps,
    fundingPaidLongUsd: wadToUsd(fundingLong),
    fundingPaidShortUsd: wadToUsd(fundingShort),
    lpRedeemedUsd: Number(sim.lpRedeemedAssets) / 1e6,
    ...(sim.attackerProfitUsd === undefined ? {} : { attackerProfitUsd: sim.attackerProfitUsd }),
    path: samples,
  };
}

/** Records when each watched account became liquidatable and, once it no longer is, how long that lasted. */
async function noteLiquidatable(sim: Simulation): Promise<void> {
  const now = await sim.now();
  const publicClient = await sim.publicClientPromise;
  const ids = [...sim.traders.map((t) => t.accountId), ...(manipulation.get(sim)?.legs.map((l) => l.accountId) ?? [])];
  for (const accountId of ids) {
    const [, liquidatable] = await publicClient.readContract({ address: sim.deployment.addresses.clearingEngine, abi: engineAbi, functionName: "accountHealth", args: [accountId] });
    const since = sim.liquidatableSince.get(accountId);
    if (liquidatable && since === undefined) sim.liquidatableSince.set(accountId, now);
    if (!liquidatable && since !== undefined) {
      sim.liquidatableSince.delete(accountId);
      if (now - since > sim.maxLiquidationDelay) sim.maxLiquidationDelay = now - since;
    }
  }
  // Accounts still liquidatable count their delay so far.
  for (const since of sim.liquidatableSince.values()) if (now - since > sim.maxLiquidationDelay) sim.maxLiquidationDelay = now - since;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------- guarantees, table, charts

/** What the default parameters must achieve in every scenario: bad debt within the insurance fund, and no manipulation profit. */
export function guaranteeFailures(report: ScenarioReport): string[] {
  const failures: string[] = [];
  if (report.badDebtFromPoolUsd > 0) {
    failures.push(`${report.scenario}: bad debt ${report.badDebtUsd.toFixed(2)} USD exceeded the insurance fund (${report.badDebtFromPoolUsd.toFixed(2)} USD charged to the pool)`);
  }
  if (report.attackerProfitUsd !== undefined && report.attackerProfitUsd > 0) {
    failures.push(`${report.scenario}: the attacker earned ${report.attackerProfitUsd.toFixed(2)} USD`);
  }
  if (report.liquidatableAtEnd > 0) failures.push(`${report.scenario}: ${report.liquidatableAtEnd} accounts still liquidatable at the end`);
  return failures;
}

const COLUMNS: readonly [string, (r: ScenarioReport) => string][] = [
  ["scenario", (r) => r.scenario],
  ["bad debt USD", (r) => r.badDebtUsd.toFixed(2)],
  ["insurance used USD", (r) => r.insuranceUsedUsd.toFixed(2)],
  ["insurance end USD", (r) => r.insuranceFundEndUsd.toFixed(2)],
  ["pool drawdown %", (r) => r.poolDrawdownPct.toFixed(2)],
  ["share price", (r) => `${r.sharePriceStart.toFixed(4)} -> ${r.sharePriceEnd.toFixed(4)}`],
  ["liquidations", (r) => String(r.liquidations)],
  ["max liq. delay s", (r) => String(r.maxLiquidationDelaySeconds)],
  ["rejected by caps", (r) => String(r.tradesRejectedByCaps)],
  ["funding long/short USD", (r) => `${r.fundingPaidLongUsd.toFixed(0)} / ${r.fundingPaidShortUsd.toFixed(0)}`],
  ["attacker USD", (r) => (r.attackerProfitUsd === undefined ? "-" : r.attackerProfitUsd.toFixed(2))],
];

/** The reports as a Markdown table. */
export function reportTable(reports: readonly ScenarioReport[]): string {
  const header = `| ${COLUMNS.map(([name]) => name).join(" | ")} |`;
  const rule = `|${COLUMNS.map(() => "---").join("|")}|`;
  return [header, rule, ...reports.map((r) => `| ${COLUMNS.map(([, cell]) => cell(r)).join(" | ")} |`)].join("\n");
}

/** Three stacked panels over simulated hours: the ETH index, the pool's share price, the insurance fund. */
export function renderChart(report: ScenarioReport): string {
  const width = 720;
  const panel = 150;
  const left = 70;
  const right = 20;
  const series: readonly [string, (p: SharePricePoint) => number, string][] = [
    ["ETH index (USD)", (p) => p.price, "#1f77b4"],
    ["LP share price (USDC)", (p) => p.sharePrice, "#2ca02c"],
    ["insurance fund (USD)", (p) => p.insuranceFundUsd, "#d62728"],
  ];
  const points = report.path;
  const tMax = Math.max(1, points.at(-1)?.t ?? 1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${series.length * (panel + 30) + 40}" font-family="sans-serif" font-size="11">`,
    `<text x="${left}" y="18" font-size="14">${escapeXml(report.scenario)}: ${escapeXml(report.description)}</text>`,
  ];
  series.forEach(([label, value, color], i) => {
    const top = 40 + i * (panel + 30);
    const values = points.map(value);
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi - lo < 1e-12) [lo, hi] = [lo - 1, hi + 1];
    const x = (t: number) => left + ((width - left - right) * t) / tMax;
    const y = (v: number) => top + panel - (panel * (v - lo)) / (hi - lo);
    const line = points.map((p, j) => `${j === 0 ? "M" : "L"}${x(p.t).toFixed(1)},${y(values[j] ?? 0).toFixed(1)}`).join(" ");
    parts.push(
      `<rect x="${left}" y="${top}" width="${width - left - right}" height="${panel}" fill="none" stroke="#ccc"/>`,
      `<text x="${left}" y="${top - 5}">${label}</text>`,
      `<text x="${left - 5}" y="${top + 10}" text-anchor="end">${formatAxis(hi)}</text>`,
      `<text x="${left - 5}" y="${top + panel}" text-anchor="end">${formatAxis(lo)}</text>`,
      `<path d="${line}" fill="none" stroke="${color}" stroke-width="1.5"/>`,
      `<text x="${width - right}" y="${top + panel + 14}" text-anchor="end">${(tMax / HOUR).toFixed(0)} h</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function formatAxis(v: number): string {
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(6);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// ---------------------------------------------------------------- CLI

const USAGE = `Usage: npm run stress -- [--scenario <name>[,<name>...]] [--seed <n>] [--short] [--json <file>] [--out <dir>]

Scenarios: ${SCENARIO_NAMES.join(", ")} (default: all).
  --json <file>   write the reports as JSON (one object per scenario)
  --out <dir>     without --json: where the charts go (default stress-report/)
  --short         coarser steps and a smaller crowd (the tests' form)
Exits 1 when a scenario breaks a guarantee (bad debt beyond the insurance fund, a manipulation profit).`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        scenario: { type: "string" },
        seed: { type: "string", default: "1" },
        short: { type: "boolean", default: false },
        json: { type: "string" },
        out: { type: "string", default: "stress-report" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`stress: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const names = values.scenario === undefined ? [...SCENARIO_NAMES] : values.scenario.split(",");
  const unknown = names.filter((n) => !(SCENARIO_NAMES as readonly string[]).includes(n));
  const seed = Number(values.seed);
  if (unknown.length > 0 || !Number.isSafeInteger(seed)) {
    console.error(`stress: ${unknown.length > 0 ? `unknown scenario ${unknown.join(", ")}` : `--seed must be an integer (got ${values.seed})`}\n\n${USAGE}`);
    return 2;
  }
  const reports: ScenarioReport[] = [];
  for (const name of names as StressScenarioName[]) {
    const started = Date.now();
    const report = await runScenario(name, { seed, short: values.short });
    reports.push(report);
    console.error(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s (${report.simulatedHours} simulated hours)`);
  }
  if (values.json !== undefined) {
    await writeFile(values.json, `${JSON.stringify(reports, null, 2)}\n`);
  } else {
    console.log(reportTable(reports));
    await mkdir(values.out, { recursive: true });
    for (const report of reports) await writeFile(path.join(values.out, `${report.scenario}.svg`), renderChart(report));
    console.log(`\nCharts: ${values.out}/<scenario>.svg`);
  }
  const failures = reports.flatMap(guaranteeFailures);
  for (const failure of failures) console.error(`guarantee broken: ${failure}`);
  return failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
