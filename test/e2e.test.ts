/**
 * End to end through the deployed contracts, with viem only: deposit, a keeper-executed market
 * order, a price move, funding settlement, a reduce-only close, withdrawal, keeper payouts, and
 * liquidations after a 50% crash. Amounts are checked to the wei against the SPEC's formulas.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { ContractReturnType, PublicClient, WalletClient } from "@nomicfoundation/hardhat-viem/types";
import {
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
  decodeErrorResult,
  getAddress,
  parseEventLogs,
} from "viem";
import { type AeonDeployment, type DeployAeonOptions, deployAeon } from "../scripts/deploy.js";
import { defaultParameters } from "../scripts/parameters.js";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const TO_WAD = 10n ** 12n; // USDC units -> WAD
const YEAR = 365n * 24n * 3600n;
const ETH = 0;
const eth = defaultParameters.markets[ETH]!;
const MIN_FEE = eth.orderBounds.minExecutionFee;
const FEED_UNIT = 10n ** 8n; // mock feeds answer with 8 decimals

// ---------------------------------------------------------------- contract math, rounding named

function mulDivDown(a: bigint, b: bigint, c: bigint): bigint {
  return (a * b) / c;
}
function mulDivUp(a: bigint, b: bigint, c: bigint): bigint {
  return (a * b + c - 1n) / c;
}
/** Signed, rounded toward negative infinity (MathLib.mulDivFloor). */
function mulDivFloor(a: bigint, b: bigint, c: bigint): bigint {
  const q = (a * b) / c;
  return (a * b) % c !== 0n && a * b < 0n ? q - 1n : q;
}
/** Signed, rounded toward positive infinity (MathLib.mulDivCeil). */
function mulDivCeil(a: bigint, b: bigint, c: bigint): bigint {
  const q = (a * b) / c;
  return (a * b) % c !== 0n && a * b > 0n ? q + 1n : q;
}
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** SPEC 5: rate = clamp(K / S + interestRate, -cap, cap); per unit: rate / interval * dt * price. */
function fundingPerUnit(skew: bigint, price: bigint, dt: bigint): bigint {
  const c = eth.config;
  let rate = mulDivFloor(skew, WAD, c.skewScale) + c.interestRate;
  rate = max(-c.fundingCap, min(c.fundingCap, rate));
  return mulDivFloor(rate, price * dt, BigInt(c.fundingInterval) * WAD);
}

/** SPEC 4: kinked yearly rate on u = (long + short notional) / (2 * cap), per unit of |size|. */
function borrowPerUnit(openInterest: bigint, price: bigint, dt: bigint): bigint {
  const c = eth.config;
  const u = mulDivUp(mulDivUp(openInterest, price, WAD), WAD, 2n * c.maxOpenInterestUsd);
  const rate =
    u >= WAD
      ? c.borrowMaxRate
      : u <= c.borrowKink
        ? c.borrowFloor + mulDivUp(c.borrowKinkRate - c.borrowFloor, u, c.borrowKink)
        : c.borrowKinkRate + mulDivUp(c.borrowMaxRate - c.borrowKinkRate, u - c.borrowKink, WAD - c.borrowKink);
  return mulDivUp(rate, price * dt, YEAR * WAD);
}

// ---------------------------------------------------------------- harness

/** Decodes an engine revert carried in OrderCancelled. */
function describeError(abi: ContractReturnType<"ClearingEngine">["abi"], data: Hex | undefined): string {
  if (data === undefined || data === "0x") return "none";
  try {
    const decoded = decodeErrorResult({ abi, data });
    return `${decoded.errorName}(${decoded.args?.map(String).join(", ") ?? ""})`;
  } catch {
    return data;
  }
}

interface Handles {
  readonly engine: ContractReturnType<"ClearingEngine">;
  /** The engine's address with the Governance module's ABI (insurance, keeper credits, tier views). */
  readonly governance: ContractReturnType<"Governance">;
  readonly liquidator: ContractReturnType<"Liquidator">;
  readonly orderBook: ContractReturnType<"OrderBook">;
  readonly usdc: ContractReturnType<"MockUSDC">;
}

class Harness {
  private constructor(
    readonly connection: NetworkConnection,
    readonly d: AeonDeployment,
    readonly publicClient: PublicClient,
    readonly wallets: readonly WalletClient[],
  ) {}

  static async create(options: DeployAeonOptions = {}): Promise<Harness> {
    const connection = await network.create("hardhat");
    const d = await deployAeon(connection.viem, options);
    return new Harness(
      connection,
      d,
      await connection.viem.getPublicClient(),
      await connection.viem.getWalletClients(),
    );
  }

  wallet(index: number): WalletClient {
    const wallet = this.wallets[index];
    if (wallet === undefined) throw new Error(`no wallet ${index}`);
    return wallet;
  }

  get feed(): ContractReturnType<"MockAggregator"> {
    if (this.d.mocks === undefined) throw new Error("mocks expected on the in-process network");
    return this.d.mocks.feeds.ETH;
  }

  /** The contracts, sending from `wallet`. */
  async as(wallet: WalletClient): Promise<Handles> {
    const client = { public: this.publicClient, wallet };
    const { viem } = this.connection;
    return {
      engine: await viem.getContractAt("ClearingEngine", this.d.addresses.clearingEngine, { client }),
      governance: await viem.getContractAt("Governance", this.d.addresses.clearingEngine, { client }),
      liquidator: await viem.getContractAt("Liquidator", this.d.addresses.clearingEngine, { client }),
      orderBook: await viem.getContractAt("OrderBook", this.d.addresses.orderBook, { client }),
      usdc: await viem.getContractAt("MockUSDC", this.d.addresses.usdc, { client }),
    };
  }

  async send(hash: Promise<Hash>): Promise<TransactionReceipt> {
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
    return receipt;
  }

  async now(): Promise<bigint> {
    return BigInt(await this.connection.networkHelpers.time.latest());
  }

  /** Mines the next transaction exactly `seconds` after the latest block. */
  async nextTxAfter(seconds: bigint): Promise<bigint> {
    const at = (await this.now()) + seconds;
    await this.connection.networkHelpers.time.setNextBlockTimestamp(at);
    return at;
  }

  /** Posts a new ETH round (startedAt = updatedAt = the block's time) and returns its id. */
  async postPrice(dollars: bigint): Promise<bigint> {
    const receipt = await this.send(this.feed.write.setPrice([dollars * FEED_UNIT]));
    const [log] = parseEventLogs({ abi: this.feed.abi, logs: receipt.logs, eventName: "RoundSet" });
    assert.ok(log !== undefined);
    return log.args.roundId;
  }

  async deposit(trader: WalletClient, amount: bigint): Promise<number> {
    const t = await this.as(trader);
    const owner = trader.account.address;
    await this.send(t.usdc.write.mint([owner, amount]));
    await this.send(t.usdc.write.approve([this.d.addresses.vault, amount]));
    await this.send(t.engine.write.deposit([owner, 0, amount]));
    return t.engine.read.accountIdOf([owner, 0]);
  }

  /**
   * Creates an ETH market order, posts the next round one second later at `fillDollars`, and has
   * `keeper` execute it with (fillRoundId, previousRoundId). Returns the fill's PositionChanged.
   */
  async marketOrder(
    trader: WalletClient,
    keeper: WalletClient,
    sizeDelta: bigint,
    acceptablePrice: bigint,
    reduceOnly: boolean,
    fillDollars: bigint,
  ) {
    const t = await this.as(trader);
    const created = await this.send(
      t.orderBook.write.createOrder(
        [{ subaccount: 0, marketId: ETH, orderType: 0, reduceOnly, sizeDelta, triggerPrice: 0n, acceptablePrice }],
        { value: MIN_FEE },
      ),
    );
    const [order] = parseEventLogs({ abi: t.orderBook.abi, logs: created.logs, eventName: "OrderCreated" });
    assert.ok(order !== undefined);

    await this.nextTxAfter(1n);
    const fillRoundId = await this.postPrice(fillDollars);
    const previousRoundId = order.args.anchorRoundId;

    const k = await this.as(keeper);
    // No explicit gas limit: a feed read refused for lack of gas reverts the execution instead of
    // cancelling the order, so eth_estimateGas settles on a limit at which the order fills.
    const executed = await this.send(
      k.orderBook.write.executeOrder([ETH, fillRoundId, previousRoundId]),
    );
    const [done] = parseEventLogs({ abi: k.orderBook.abi, logs: executed.logs, eventName: "OrderExecuted" });
    if (done === undefined) {
      const [cancel] = parseEventLogs({ abi: k.orderBook.abi, logs: executed.logs, eventName: "OrderCancelled" });
      assert.fail(`order cancelled: reason ${cancel?.args.reason}, engine error ${describeError(k.engine.abi, cancel?.args.engineError)}`);
    }
    assert.equal(done.args.orderKey, order.args.orderKey);
    assert.equal(done.args.fillRoundId, fillRoundId);
    assert.equal(done.args.executor, getAddress(keeper.account.address));
    const [change] = parseEventLogs({ abi: k.engine.abi, logs: executed.logs, eventName: "PositionChanged" });
    assert.ok(change !== undefined);
    return { change: change.args, receipt: executed, orderKey: order.args.orderKey };
  }

  /** Vault balance (WAD) minus every ledger entry the engine holds: must never be negative. */
  async ledgerSurplus(keepers: readonly Address[]): Promise<bigint> {
    const { engine } = this.d.contracts;
    let ledger =
      (await engine.read.totalCollateral()) +
      (await engine.read.totalDebt()) +
      (await engine.read.poolCash()) +
      (await engine.read.insuranceFund()) +
      (await engine.read.treasury());
    for (const keeper of keepers) ledger += await engine.read.keeperCredits([keeper]);
    const balance = await (await this.as(this.wallet(0))).usdc.read.balanceOf([this.d.addresses.vault]);
    return balance * TO_WAD - ledger;
  }
}

// ---------------------------------------------------------------- round trip

describe("e2e: deposit, open, funding, close, withdraw, keeper payout", () => {
  let h: Harness;
  let trader: WalletClient;
  let keeper: WalletClient;
  let settler: WalletClient;
  before(async () => {
    h = await Harness.create();
    trader = h.wallet(1);
    keeper = h.wallet(2);
    settler = h.wallet(3);
  });
  after(async () => {
    await h.connection.close();
  });

  const DEPOSIT = 10_000n * USDC;
  const SIZE = 10n * WAD;
  let accountId: number;
  let opened: Awaited<ReturnType<Harness["marketOrder"]>>["change"];
  let closed: Awaited<ReturnType<Harness["marketOrder"]>>["change"];

  it("deposits USDC into a new account", async () => {
    accountId = await h.deposit(trader, DEPOSIT);
    assert.equal(accountId, 1);
    const account = await h.d.contracts.engine.read.getAccount([accountId]);
    assert.equal(account.collateral, DEPOSIT * TO_WAD);
    assert.equal(account.owner, getAddress(trader.account.address));
  });

  it("opens 10 ETH long at the first round after the order, cost = size * price", async () => {
    const { change } = await h.marketOrder(trader, keeper, SIZE, 3100n * WAD, false, 3000n);
    opened = change;
    const price = 3000n * WAD;
    const notional = mulDivUp(SIZE, price, WAD);
    // Skew grows from 0 to 10: impact = notional * (0 + 10) / (2 * S); taker fee on all of it.
    const impact = mulDivUp(notional, SIZE, 2n * eth.config.skewScale);
    const fee = mulDivUp(notional, eth.config.takerFee, WAD);
    assert.equal(change.accountId, accountId);
    assert.equal(change.price, price);
    assert.equal(change.newSize, SIZE);
    assert.equal(change.newCost, 30_000n * WAD);
    assert.equal(change.impactUsd, impact);
    assert.equal(impact, 15n * WAD / 100n); // 0.15 USD
    assert.equal(change.feeUsd, fee);
    assert.equal(fee, 15n * WAD);
    assert.equal(change.fillPrice, price + mulDivUp(impact, WAD, SIZE));
    assert.equal(change.realizedPnl, 0n);
    assert.equal(change.fundingPaid, 0n);
    assert.equal(change.borrowingPaid, 0n);
    assert.equal(change.collateral, DEPOSIT * TO_WAD - fee - impact);

    const position = await h.d.contracts.engine.read.getPosition([accountId, ETH]);
    assert.equal(position.size, SIZE);
    assert.equal(position.cost, mulDivCeil(SIZE, price, WAD));
    // SPEC 9.9: right after its fill a position shows no profit at the index.
    const [health] = await h.d.contracts.liquidator.read.accountHealth([accountId]);
    assert.equal(health.positivePnl, 0n);
    assert.equal(health.equity, change.collateral);
  });

  it("settles funding after 8 hours at a moved price (FundingSettled)", async () => {
    await h.nextTxAfter(3600n);
    await h.postPrice(3300n);
    const stateBefore = await h.d.contracts.governance.read.marketState([ETH]);
    await h.connection.networkHelpers.time.increase(8 * 3600);
    await h.postPrice(3300n); // fresh: the heartbeat is one hour

    const s = await h.as(settler);
    const receipt = await h.send(s.engine.write.settleFunding([ETH]));
    const [settled] = parseEventLogs({ abi: s.engine.abi, logs: receipt.logs, eventName: "FundingSettled" });
    assert.ok(settled !== undefined);
    const block = await h.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    assert.equal(settled.args.marketId, ETH);
    assert.ok(settled.args.elapsed >= 8n * 3600n);
    // The average rate mixes the flat interest rate (skew 0 before the open) and premium + interest after it.
    const premium = mulDivFloor(SIZE, WAD, eth.config.skewScale);
    assert.ok(settled.args.averageRate >= eth.config.interestRate);
    assert.ok(settled.args.averageRate <= eth.config.interestRate + premium);
    // Accrued from the open to now at the latest round's price, with the skew of 10 ETH.
    const dt = block.timestamp - stateBefore.lastAccrual;
    const stateAfter = await h.d.contracts.governance.read.marketState([ETH]);
    assert.equal(stateAfter.cumFunding - stateBefore.cumFunding, fundingPerUnit(SIZE, 3300n * WAD, dt));
    assert.equal(stateAfter.cumBorrow - stateBefore.cumBorrow, borrowPerUnit(SIZE, 3300n * WAD, dt));
    assert.equal(settled.args.cumFunding, stateAfter.cumFunding);
    await assert.rejects(s.engine.write.settleFunding([ETH]), /FundingNotDue/);
  });

  it("closes with a reduce-only order: realized PnL, maker fee, funding and borrowing owed", async () => {
    const snap = await h.d.contracts.engine.read.getPosition([accountId, ETH]);
    const { change, receipt } = await h.marketOrder(trader, keeper, -SIZE, 0n, true, 3300n);
    closed = change;
    const price = 3300n * WAD;
    const state = await h.d.contracts.governance.read.marketState([ETH]);
    const block = await h.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    assert.equal(state.lastAccrual, block.timestamp);

    assert.equal(change.newSize, 0n);
    assert.equal(change.newCost, 0n);
    assert.equal(change.realizedPnl, mulDivFloor(SIZE, price, WAD) - 30_000n * WAD); // +3,000
    assert.equal(change.impactUsd, 0n, "shrinking the skew fills at the index");
    assert.equal(change.feeUsd, mulDivUp(mulDivUp(SIZE, price, WAD), eth.config.makerFee, WAD)); // 6.6
    // SPEC 5: a position owes size * (cumFunding - snapshot), rounded against it.
    assert.equal(change.fundingPaid, mulDivCeil(SIZE, state.cumFunding - snap.fundingSnap, WAD));
    assert.equal(change.borrowingPaid, mulDivUp(SIZE, state.cumBorrow - BigInt(snap.borrowSnap), WAD));
    assert.ok(change.fundingPaid > 0n, "longs pay while the skew is long");
    assert.ok(change.borrowingPaid > 0n);
    assert.equal((await h.d.contracts.engine.read.getPosition([accountId, ETH])).size, 0n);
  });

  it("leaves collateral = deposit + realized PnL - fees - impact - funding - borrowing, to the wei", async () => {
    const expected =
      DEPOSIT * TO_WAD +
      opened.realizedPnl +
      closed.realizedPnl -
      (opened.feeUsd + closed.feeUsd) -
      (opened.impactUsd + closed.impactUsd) -
      (opened.fundingPaid + closed.fundingPaid) -
      (opened.borrowingPaid + closed.borrowingPaid);
    const account = await h.d.contracts.engine.read.getAccount([accountId]);
    assert.equal(account.collateral, expected);
    assert.equal(closed.collateral, expected);
    assert.equal(account.reservedUnits, 0n, "both orders released their reservations");
    assert.equal(account.marketMask, 0n);
    assert.ok((await h.ledgerSurplus([keeper.account.address])) >= 0n);
  });

  it("withdraws everything it can: collateral rounded down to USDC units", async () => {
    const t = await h.as(trader);
    const collateral = (await t.engine.read.getAccount([accountId])).collateral;
    const amount = collateral / TO_WAD;
    const before = await t.usdc.read.balanceOf([trader.account.address]);
    await h.send(t.engine.write.withdraw([0, amount, trader.account.address]));
    assert.equal(await t.usdc.read.balanceOf([trader.account.address]), before + amount);
    const left = (await t.engine.read.getAccount([accountId])).collateral;
    assert.equal(left, collateral - amount * TO_WAD);
    assert.ok(left >= 0n && left < TO_WAD, "only dust below one USDC unit stays");
    await assert.rejects(t.engine.write.withdraw([0, 1n, trader.account.address]), /WithdrawExceedsCollateral/);
    assert.ok((await h.ledgerSurplus([keeper.account.address])) >= 0n);
  });

  it("pays the keeper both execution fees as native credits, which it claims", async () => {
    const k = await h.as(keeper);
    const credits = await k.orderBook.read.nativeCredits([keeper.account.address]);
    assert.equal(credits, 2n * MIN_FEE);
    const before = await h.publicClient.getBalance({ address: keeper.account.address });
    const receipt = await h.send(k.orderBook.write.claimNativeCredits([keeper.account.address]));
    const after = await h.publicClient.getBalance({ address: keeper.account.address });
    assert.equal(after, before + credits - receipt.gasUsed * receipt.effectiveGasPrice);
    assert.equal(await k.orderBook.read.nativeCredits([keeper.account.address]), 0n);
    await assert.rejects(k.orderBook.write.claimNativeCredits([keeper.account.address]), /NothingToClaim/);
  });
});

// ---------------------------------------------------------------- liquidation

describe("e2e: liquidation after a 50% crash", () => {
  const SIZE = 10n * WAD;
  const CRASH = 1500n;

  async function openAndCrash(h: Harness, deposit: bigint) {
    const trader = h.wallet(1);
    const keeper = h.wallet(2);
    const accountId = await h.deposit(trader, deposit);
    const { change } = await h.marketOrder(trader, keeper, SIZE, 3100n * WAD, false, 3000n);
    await h.nextTxAfter(60n);
    await h.postPrice(CRASH);
    const [health, liquidatable] = await h.d.contracts.liquidator.read.accountHealth([accountId]);
    assert.equal(liquidatable, true, `E ${health.equity} < MM ${health.maintenanceMargin}`);
    return { accountId, opened: change };
  }

  async function liquidate(h: Harness, liquidatorWallet: WalletClient, accountId: number) {
    const l = await h.as(liquidatorWallet);
    const receipt = await h.send(l.liquidator.write.liquidate([accountId]));
    const [close] = parseEventLogs({ abi: l.engine.abi, logs: receipt.logs, eventName: "PositionChanged" });
    const [liquidated] = parseEventLogs({ abi: l.engine.abi, logs: receipt.logs, eventName: "Liquidated" });
    const badDebt = parseEventLogs({ abi: l.engine.abi, logs: receipt.logs, eventName: "BadDebt" });
    assert.ok(close !== undefined && liquidated !== undefined);
    return { close: close.args, liquidated: liquidated.args, badDebt: badDebt[0]?.args };
  }

  const g = defaultParameters.global;
  const notional = mulDivUp(SIZE, CRASH * WAD, WAD);
  const liquidationFee = mulDivUp(notional, eth.config.liquidationFee, WAD); // 75 USD
  const reward = min(max(mulDivDown(liquidationFee, g.keeperRewardShare, WAD), g.keeperRewardFloor), g.keeperRewardCap);

  it("with equity left: fee from the account, keeper credited, the rest stays the trader's", async () => {
    const h = await Harness.create();
    try {
      // 15,200 USDC behind 30,000 of ETH: at 1,500 equity is ~185 < MM ~219, still positive.
      const { accountId } = await openAndCrash(h, 15_200n * USDC);
      const keeper = h.wallet(4);
      const insuranceBefore = await h.d.contracts.engine.read.insuranceFund();
      const { close, liquidated, badDebt } = await liquidate(h, keeper, accountId);

      assert.equal(close.newSize, 0n);
      assert.equal(close.price, CRASH * WAD);
      assert.equal(close.realizedPnl, -15_000n * WAD);
      assert.equal(badDebt, undefined);
      assert.equal(liquidated.accountId, accountId);
      assert.equal(liquidated.liquidator, getAddress(keeper.account.address));
      assert.equal(liquidated.notionalUsd, notional);
      assert.equal(liquidated.feeUsd, liquidationFee);
      assert.equal(liquidated.keeperReward, reward);
      assert.equal(reward, 15n * WAD);
      assert.equal(liquidated.rewardFromInsurance, 0n);
      assert.equal(liquidated.remainingCollateral, close.collateral - liquidationFee);
      assert.ok(liquidated.remainingCollateral > 0n);

      const engine = h.d.contracts.engine;
      assert.equal(await engine.read.keeperCredits([keeper.account.address]), reward);
      // Insurance: its share of the close's maker fee, plus the liquidation fee less the reward.
      const closeFeeShare = mulDivDown(close.feeUsd, g.insuranceFeeShare, WAD);
      assert.equal(await engine.read.insuranceFund(), insuranceBefore + closeFeeShare + liquidationFee - reward);
      const account = await engine.read.getAccount([accountId]);
      assert.equal(account.collateral, liquidated.remainingCollateral);
      assert.equal(account.marketMask, 0n);
      const [, stillLiquidatable] = await h.d.contracts.liquidator.read.accountHealth([accountId]);
      assert.equal(stillLiquidatable, false);

      // Keeper claims its USDC credit; the trader withdraws what is left.
      const k = await h.as(keeper);
      await h.send(k.governance.write.claimKeeperCredits([keeper.account.address]));
      assert.equal(await k.usdc.read.balanceOf([keeper.account.address]), reward / TO_WAD);
      const t = await h.as(h.wallet(1));
      const amount = liquidated.remainingCollateral / TO_WAD;
      await h.send(t.engine.write.withdraw([0, amount, h.wallet(1).account.address]));
      assert.equal(await t.usdc.read.balanceOf([h.wallet(1).account.address]), amount);
      assert.ok((await h.ledgerSurplus([keeper.account.address, h.wallet(2).account.address])) >= 0n);
    } finally {
      await h.connection.close();
    }
  });

  it("underwater (30x) with an empty insurance fund: bad debt to the pool, keeper reward from insurance credits", async () => {
    // The local deployment seeds the insurance fund; this case needs it empty.
    const h = await Harness.create({ parameters: { ...defaultParameters, mocks: { ...defaultParameters.mocks, insuranceSeedUsdc: 0n } } });
    try {
      const { accountId } = await openAndCrash(h, 1_100n * USDC);
      const keeper = h.wallet(4);
      const engine = h.d.contracts.engine;
      const { close, liquidated, badDebt } = await liquidate(h, keeper, accountId);

      assert.ok(close.collateral < 0n, "the close left a debt");
      assert.equal(liquidated.feeUsd, 0n, "the fee comes only from positive equity");
      assert.ok(liquidated.keeperReward > 0n);
      assert.equal(liquidated.rewardFromInsurance, liquidated.keeperReward);
      assert.ok(liquidated.keeperReward <= reward);
      assert.equal(liquidated.remainingCollateral, 0n);
      assert.equal(await engine.read.keeperCredits([keeper.account.address]), liquidated.keeperReward);
      assert.ok(badDebt !== undefined);
      assert.equal(badDebt.accountId, accountId);
      assert.equal(badDebt.shortfall, -close.collateral);
      assert.equal(badDebt.fromInsurance, 0n, "the reward emptied the insurance fund; the pool takes the shortfall");
      const account = await engine.read.getAccount([accountId]);
      assert.equal(account.collateral, 0n);
      assert.equal(await engine.read.totalDebt(), 0n);
      assert.ok((await h.ledgerSurplus([keeper.account.address, h.wallet(2).account.address])) >= 0n);
    } finally {
      await h.connection.close();
    }
  });
});
