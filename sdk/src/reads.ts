/**
 * Reads: markets, accounts with their derived figures, pending orders, the pool. Raw data comes
 * from `AeonLens` in one call; the derived numbers follow the engine's formulas and rounding.
 */
import { type Address, type ContractFunctionReturnType, maxUint256 } from "viem";
import { engineAbi, erc20PermitAbi, lensAbi, liquidityPoolAbi, orderBookAbi } from "./abis.js";
import type { AeonBaseClient } from "./client.js";
import { isContractRevert } from "./errors.js";
import {
  type LiquidationPriceInput,
  RESERVATION_UNIT,
  WAD,
  abs,
  accruedOnPosition,
  fundingRate,
  liquidationPrice,
  max,
  min,
  movedAgainst,
  mulDivDown,
  mulDivFloor,
  mulDivUp,
} from "./math.js";
import type { Account, GlobalConfig } from "./types.js";

/** `AeonLens.MarketView`, as the lens returns it. */
export type LensMarket = ContractFunctionReturnType<typeof lensAbi, "view", "market">;
/** `AeonLens.AccountView`, as the lens returns it. */
export type LensAccount = ContractFunctionReturnType<typeof lensAbi, "view", "accountOf">;
/** `EngineBase.Account`, as stored: the reservation in `RESERVATION_UNIT`s. */
export type StoredAccount = LensAccount["account"];
/** `OrderBook.Order`, as stored. */
export type RawOrder = LensAccount["pendingOrders"][number];

/** Chainlink price status (`ChainlinkLib.Status`). */
export const PriceStatus = { Valid: 0, NotPositive: 1, OutOfBounds: 2, Stale: 3, SequencerDown: 4, SequencerGrace: 5 } as const;

/** A market: the lens view plus its symbol, skew and whether its price is valid now. */
export interface AeonMarket extends LensMarket {
  /** The deployment's symbol for this market id, if listed there. */
  readonly symbol: string | undefined;
  /** Long minus short open interest (WAD base units). */
  readonly skew: bigint;
  /** The feed's latest round is valid and the market is open. */
  readonly priceValid: boolean;
  /** Premium K / S (WAD, rounded toward minus infinity), as the funding rate uses it. */
  readonly premium: bigint;
  /** The perpetual's mark price, index * (1 + K / S) (SPEC section 4), rounded toward minus infinity. */
  readonly markPrice: bigint;
  /** Seconds until `settleFunding` can be called for the current interval (0 when it is due). */
  readonly secondsToNextSettlement: bigint;
}

/** A position with its derived figures (USD in WAD). */
export interface AeonPosition {
  readonly marketId: number;
  readonly symbol: string | undefined;
  /** Signed base units (WAD): long > 0. */
  readonly size: bigint;
  /** Signed cost basis: size * entry price. */
  readonly cost: bigint;
  /** |cost| / |size|, rounded down. */
  readonly entryPrice: bigint;
  /** The price the engine values the position at now (moved against it by the gap buffer when the feed is not valid). */
  readonly markPrice: bigint;
  /** |size| * markPrice, rounded up. */
  readonly notional: bigint;
  /** size * markPrice - cost (before funding and borrowing). */
  readonly unrealizedPnl: bigint;
  /** Funding owed since the position's snapshot (negative: the position receives). */
  readonly accruedFunding: bigint;
  /** Borrowing fee owed since the position's snapshot. */
  readonly accruedBorrowing: bigint;
  /** unrealizedPnl - accruedFunding - accruedBorrowing: what the position adds to equity. */
  readonly pnl: bigint;
  /** Index of the margin tier fixed when the position opened or last grew. */
  readonly tier: number;
  /**
   * The price of this market (a multiple of the 8-decimal feed tick, 1e10) at which the account
   * is still healthy, one tick past which it is liquidatable, other markets at their latest
   * prices, valued at the read block's time (`math.liquidationPrice`). Undefined when none.
   */
  readonly liquidationPrice: bigint | undefined;
}

/** A pending order, decoded from its packed storage. */
export interface AeonOrder {
  readonly orderKey: bigint;
  readonly accountId: number;
  readonly marketId: number;
  readonly orderType: OrderTypeName;
  readonly reduceOnly: boolean;
  readonly sizeDelta: bigint;
  readonly triggerPrice: bigint;
  readonly acceptablePrice: bigint;
  readonly createdAt: number;
  readonly anchorRoundId: bigint;
  /** Native wei paid for execution. */
  readonly executionFee: bigint;
  /** Margin reserved (WAD USD). */
  readonly reservation: bigint;
  /** In its market's queue (market orders, and conditional orders once triggered). */
  readonly queued: boolean;
  /** Orders ahead of it in the queue (seq - head); undefined for untriggered orders. */
  readonly queuePosition: bigint | undefined;
}

/** An account with every figure a trader looks at. USD values in WAD. */
export interface AeonAccount {
  /** 0 when `(owner, subaccount)` has no account yet. */
  readonly accountId: number;
  readonly exists: boolean;
  readonly owner: Address;
  readonly subaccount: number;
  /** Signed: negative is a debt to the pool. */
  readonly collateral: bigint;
  readonly reservedMargin: bigint;
  /** collateral + PnL at the index - accrued funding and borrowing. */
  readonly equity: bigint;
  readonly positivePnl: bigint;
  readonly initialMargin: bigint;
  /** Includes the keeper reward floor when the account holds a position. */
  readonly maintenanceMargin: bigint;
  readonly pricesValid: boolean;
  /** What `withdraw` accepts now (WAD, and in token units rounded down). */
  readonly withdrawable: bigint;
  readonly withdrawableTokenUnits: bigint;
  /** equity / maintenanceMargin (WAD); below 1e18 the account is liquidatable. Undefined without a requirement. */
  readonly healthRatio: bigint | undefined;
  readonly liquidatable: boolean;
  readonly positions: readonly AeonPosition[];
  readonly pendingOrders: readonly AeonOrder[];
  /** The lens view the figures were derived from. */
  readonly raw: LensAccount;
}

/** Names of `OrderBook.OrderType`. */
export type OrderTypeName = "market" | "limit" | "stop" | "takeProfit";
/** `OrderBook.OrderType` values by name. */
export const ORDER_TYPES: Readonly<Record<OrderTypeName, number>> = { market: 0, limit: 1, stop: 2, takeProfit: 3 };
const ORDER_TYPE_NAMES: readonly OrderTypeName[] = ["market", "limit", "stop", "takeProfit"];

const QUEUED_FLAG = 1n << 72n;
const SEQ_MASK = (1n << 64n) - 1n;
const GWEI = 10n ** 9n;

// ---------------------------------------------------------------- markets

/** Options of reads that can be pinned to a block (one consistent snapshot across several calls). */
export interface ReadOptions {
  /** Read the state as of this block; default the latest. */
  readonly blockNumber?: bigint;
}

/** Every listed market, accrued to now. */
export async function getMarkets(client: AeonBaseClient, options: ReadOptions = {}): Promise<AeonMarket[]> {
  const blockNumber = options.blockNumber ?? (await client.publicClient.getBlockNumber());
  const [views, block] = await Promise.all([
    client.publicClient.readContract({
      address: client.deployment.addresses.lens,
      abi: lensAbi,
      functionName: "markets",
      blockNumber,
    }),
    client.publicClient.getBlock({ blockNumber }),
  ]);
  return views.map((view) => toMarket(client, view, block.timestamp));
}

/** One market, by id or deployment symbol ("ETH"). */
export async function getMarket(client: AeonBaseClient, market: number | string, options: ReadOptions = {}): Promise<AeonMarket> {
  const blockNumber = options.blockNumber ?? (await client.publicClient.getBlockNumber());
  const [view, block] = await Promise.all([
    client.publicClient.readContract({
      address: client.deployment.addresses.lens,
      abi: lensAbi,
      functionName: "market",
      args: [resolveMarketId(client, market)],
      blockNumber,
    }),
    client.publicClient.getBlock({ blockNumber }),
  ]);
  return toMarket(client, view, block.timestamp);
}

/** A market id from an id or a deployment symbol. */
export function resolveMarketId(client: AeonBaseClient, market: number | string): number {
  if (typeof market === "number") return market;
  const id = client.deployment.marketIds[market];
  if (id === undefined) throw new Error(`Unknown market ${market}: the deployment lists ${Object.keys(client.deployment.marketIds).join(", ")}`);
  return id;
}

function toMarket(client: AeonBaseClient, view: LensMarket, now: bigint): AeonMarket {
  const skew = view.state.longSize - view.state.shortSize;
  const { premium } = fundingRate(skew, view.config);
  return {
    ...view,
    symbol: symbolOf(client, view.marketId),
    skew,
    priceValid: view.status === PriceStatus.Valid && !view.config.closed,
    premium,
    markPrice: mulDivFloor(view.price, WAD + premium, WAD),
    secondsToNextSettlement: max(view.nextFundingSettlement - now, 0n),
  };
}

function symbolOf(client: AeonBaseClient, marketId: number): string | undefined {
  return Object.entries(client.deployment.marketIds).find(([, id]) => id === marketId)?.[0];
}

// ---------------------------------------------------------------- accounts

/**
 * The account `(owner, subaccount)` with positions, requirements, withdrawable amount and orders.
 * Every call reads the same block, so the derived figures add up to the engine's.
 */
export async function getAccount(client: AeonBaseClient, owner: Address, subaccount = 0, options: ReadOptions = {}): Promise<AeonAccount> {
  const { lens, clearingEngine, usdc } = client.deployment.addresses;
  const read = client.publicClient;
  const blockNumber = options.blockNumber ?? (await read.getBlockNumber());
  const [raw, markets, global, decimals, block] = await Promise.all([
    read.readContract({ address: lens, abi: lensAbi, functionName: "accountOf", args: [owner, subaccount], blockNumber }),
    getMarkets(client, { blockNumber }),
    read.readContract({ address: clearingEngine, abi: engineAbi, functionName: "globalConfig", blockNumber }),
    read.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "decimals", blockNumber }),
    read.getBlock({ blockNumber }),
  ]);
  // The engine accrues each market from its stored state at the price it values it at: the
  // liquidation price needs the stored states, not the lens's (accrued at the latest price).
  const states = await Promise.all(
    markets.map((m) => read.readContract({ address: clearingEngine, abi: engineAbi, functionName: "marketState", args: [m.marketId], blockNumber })),
  );
  const [, , minCollateral] = global;
  const valuation: Omit<LiquidationPriceInput, "marketId"> = {
    account: toAccount(raw.account),
    positions: raw.positions,
    markets: markets.map((m, i) => ({ config: m.config, state: states[i] ?? m.state })),
    globalConfig: toGlobalConfig(global),
    tiers: markets.map((m) => m.tiers),
    prices: markets.map((m) => ({ price: m.price, valid: m.status === PriceStatus.Valid })),
    now: block.timestamp,
  };
  const positions = raw.positions.map((p) => toPosition(markets, p, liquidationPrice({ ...valuation, marketId: p.marketId })));
  const { health } = raw;
  const account = toAccount(raw.account);
  const withdrawable = withdrawableWad(account, health, minCollateral);
  const unit = 10n ** BigInt(18 - decimals);
  return {
    accountId: raw.accountId,
    exists: raw.accountId !== 0,
    owner,
    subaccount,
    collateral: account.collateral,
    reservedMargin: account.reservedMargin,
    equity: health.equity,
    positivePnl: health.positivePnl,
    initialMargin: health.initialMargin,
    maintenanceMargin: health.maintenanceMargin,
    pricesValid: health.pricesValid,
    withdrawable,
    withdrawableTokenUnits: withdrawable / unit,
    healthRatio: health.maintenanceMargin === 0n ? undefined : mulDivTowardZero(health.equity, WAD, health.maintenanceMargin),
    liquidatable: raw.liquidatable,
    positions,
    pendingOrders: toOrders(raw, markets),
    raw,
  };
}

/** The pending orders of `(owner, subaccount)`, with their place in the queue. */
export async function getPendingOrders(client: AeonBaseClient, owner: Address, subaccount = 0, options: ReadOptions = {}): Promise<AeonOrder[]> {
  const { lens } = client.deployment.addresses;
  const blockNumber = options.blockNumber ?? (await client.publicClient.getBlockNumber());
  const [raw, markets] = await Promise.all([
    client.publicClient.readContract({ address: lens, abi: lensAbi, functionName: "accountOf", args: [owner, subaccount], blockNumber }),
    getMarkets(client, { blockNumber }),
  ]);
  return toOrders(raw, markets);
}

/** The account id of `(owner, subaccount)`; 0 when it does not exist. */
export async function getAccountId(client: AeonBaseClient, owner: Address, subaccount = 0): Promise<number> {
  return client.publicClient.readContract({
    address: client.deployment.addresses.clearingEngine,
    abi: engineAbi,
    functionName: "accountIdOf",
    args: [owner, subaccount],
  });
}

/** Settlement-token balance and the vault's allowance of `owner`, in token units. */
export async function getTokenBalance(client: AeonBaseClient, owner: Address): Promise<{ balance: bigint; allowance: bigint }> {
  const { usdc, vault } = client.deployment.addresses;
  const [balance, allowance] = await Promise.all([
    client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "balanceOf", args: [owner] }),
    client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "allowance", args: [owner, vault] }),
  ]);
  return { balance, allowance };
}

/** Credits a keeper can claim: native wei from the order book, USD (WAD) from the engine. */
export async function getKeeperCredits(client: AeonBaseClient, keeper: Address): Promise<{ native: bigint; usd: bigint }> {
  const { orderBook, clearingEngine } = client.deployment.addresses;
  const [native, usd] = await Promise.all([
    client.publicClient.readContract({ address: orderBook, abi: orderBookAbi, functionName: "nativeCredits", args: [keeper] }),
    client.publicClient.readContract({ address: clearingEngine, abi: engineAbi, functionName: "keeperCredits", args: [keeper] }),
  ]);
  return { native, usd };
}

function toPosition(markets: readonly AeonMarket[], view: LensAccount["positions"][number], liquidationPriceOf: bigint | undefined): AeonPosition {
  const market = markets.find((m) => m.marketId === view.marketId);
  if (market === undefined) throw new Error(`Position in market ${view.marketId}, which the lens did not return`);
  const { size, cost, tier } = view.position;
  const markPrice = market.priceValid ? market.price : movedAgainst(market.price, market.config.gapBuffer, size);
  const { fundingOwed: funding, borrowOwed: borrowing } = accruedOnPosition(view.position, market.state.cumFunding, market.state.cumBorrow);
  const unrealizedPnl = mulDivFloor(size, markPrice, WAD) - cost;
  return {
    marketId: view.marketId,
    symbol: market.symbol,
    size,
    cost,
    entryPrice: size === 0n ? 0n : mulDivDown(abs(cost), WAD, abs(size)),
    markPrice,
    notional: mulDivUp(abs(size), markPrice, WAD),
    unrealizedPnl,
    accruedFunding: funding,
    accruedBorrowing: borrowing,
    pnl: unrealizedPnl - funding - borrowing,
    tier,
    liquidationPrice: liquidationPriceOf,
  };
}

function toOrders(raw: LensAccount, markets: readonly AeonMarket[]): AeonOrder[] {
  return raw.pendingOrders.map((order, i) => {
    const orderKey = raw.pendingOrderKeys[i] ?? 0n;
    const queued = (orderKey & QUEUED_FLAG) !== 0n;
    const head = markets.find((m) => m.marketId === order.marketId)?.queueHead;
    return {
      orderKey,
      accountId: order.accountId,
      marketId: order.marketId,
      orderType: ORDER_TYPE_NAMES[order.flags & 3] ?? "market",
      reduceOnly: (order.flags & 4) !== 0,
      sizeDelta: order.sizeDelta,
      triggerPrice: order.triggerPrice,
      acceptablePrice: order.acceptablePrice,
      createdAt: order.createdAt,
      anchorRoundId: order.anchorRoundId,
      executionFee: BigInt(order.executionFeeGwei) * GWEI,
      reservation: BigInt(order.reservation) * RESERVATION_UNIT,
      queued,
      queuePosition: queued && head !== undefined ? (orderKey & SEQ_MASK) - head : undefined,
    };
  });
}

/**
 * What `withdraw` accepts: the collateral, kept at the minimum while a position is open, and the
 * margin check `E - w - positivePnl >= max(IM, MM) + reserved` (SPEC section 3).
 */
function withdrawableWad(account: Account, health: LensAccount["health"], minCollateral: bigint): bigint {
  if (account.collateral <= 0n) return 0n;
  const hasPositions = account.marketMask !== 0n;
  if (!hasPositions && account.reservedMargin === 0n) return account.collateral;
  if (!health.pricesValid) return 0n;
  const required = max(health.initialMargin, health.maintenanceMargin) + account.reservedMargin;
  let w = health.equity - health.positivePnl - required;
  if (hasPositions) w = min(w, account.collateral - minCollateral);
  return max(0n, min(w, account.collateral));
}

// ---------------------------------------------------------------- pool

/** The pool's value, share price and insurance fund, and an address's LP requests when given. */
export interface AeonPool {
  /** Cash and receivables without traders' PnL (WAD USD). */
  readonly baseValue: bigint;
  /** Traders' net PnL at the last valid prices (WAD USD): positive is a liability of the pool. */
  readonly tradersPnl: bigint;
  /** Live value for depositors, token units (`totalAssets`). */
  readonly totalAssets: bigint;
  /** LP shares outstanding. */
  readonly totalSupply: bigint;
  /** Token units one whole share (1e18) is worth now (indicative: requests settle at the epoch price). */
  readonly sharePrice: bigint;
  readonly insuranceFund: bigint;
  readonly currentEpoch: bigint;
  /** Unix time of the current epoch's cutoff: requests made before it join this epoch. */
  readonly epochCutoff: bigint;
  /** The requests of `lp`, when one was given. Deposits in token units, redemptions in shares. */
  readonly lp:
    | {
        readonly address: Address;
        readonly shares: bigint;
        readonly pendingDeposit: bigint;
        readonly claimableDeposit: bigint;
        readonly pendingRedeem: bigint;
        readonly claimableRedeem: bigint;
      }
    | undefined;
}

/** The pool, and `lp`'s pending and claimable requests when given. */
export async function getPool(client: AeonBaseClient, lp?: Address): Promise<AeonPool> {
  const { liquidityPool: pool, clearingEngine: engine } = client.deployment.addresses;
  const read = client.publicClient;
  const [[baseValue, tradersPnl], totalAssets, totalSupply, sharePrice, insuranceFund, currentEpoch] = await Promise.all([
    read.readContract({ address: engine, abi: engineAbi, functionName: "poolValue" }),
    read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "totalAssets" }),
    read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "totalSupply" }),
    read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "convertToAssets", args: [WAD] }),
    read.readContract({ address: engine, abi: engineAbi, functionName: "insuranceFund" }),
    read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "currentEpoch" }),
  ]);
  const [epochCutoff] = await read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "epochs", args: [currentEpoch] });
  let lpView: AeonPool["lp"];
  if (lp !== undefined) {
    const [shares, pendingDeposit, claimableDeposit, pendingRedeem, claimableRedeem] = await Promise.all([
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "balanceOf", args: [lp] }),
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "pendingDepositRequest", args: [0n, lp] }),
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "claimableDepositRequest", args: [0n, lp] }),
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "pendingRedeemRequest", args: [0n, lp] }),
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "claimableRedeemRequest", args: [0n, lp] }),
    ]);
    lpView = { address: lp, shares, pendingDeposit, claimableDeposit, pendingRedeem, claimableRedeem };
  }
  return { baseValue, tradersPnl, totalAssets, totalSupply, sharePrice, insuranceFund, currentEpoch, epochCutoff: BigInt(epochCutoff), lp: lpView };
}

// ---------------------------------------------------------------- fees

/**
 * The execution fee `createOrder` pays: the market's minimum, or `gasPrice * client.executionGas`
 * when larger, rounded up to whole gwei (the order book stores fees in gwei).
 */
export async function estimateExecutionFee(client: AeonBaseClient, market: number | string): Promise<bigint> {
  const marketId = resolveMarketId(client, market);
  const [[minExecutionFee], gasPrice] = await Promise.all([
    client.publicClient.readContract({
      address: client.deployment.addresses.orderBook,
      abi: orderBookAbi,
      functionName: "marketOrderConfig",
      args: [marketId],
    }),
    client.publicClient.getGasPrice(),
  ]);
  const fee = max(minExecutionFee, gasPrice * client.executionGas);
  return ((fee + GWEI - 1n) / GWEI) * GWEI;
}

/** A stored account (`engine.getAccount`, the lens's `account`) as the math module's `Account`. */
export function toAccount(stored: StoredAccount): Account {
  const { collateral, reservedUnits, owner, subaccount, marketMask } = stored;
  return { collateral, reservedMargin: reservedUnits * RESERVATION_UNIT, owner, subaccount, marketMask };
}

/** `engine.globalConfig()` (a public getter's tuple) as the math module's `GlobalConfig`. */
export function toGlobalConfig(
  tuple: readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint],
): GlobalConfig {
  const [keeperRewardFloor, minCollateral, reserveFactor, lpFeeShare, insuranceFeeShare, maxPnlFactor, keeperRewardCap, keeperRewardShare, lossHaircut] =
    tuple;
  return { keeperRewardFloor, minCollateral, reserveFactor, lpFeeShare, insuranceFeeShare, maxPnlFactor, keeperRewardCap, keeperRewardShare, lossHaircut };
}

/** x * y / d rounded toward zero (a display ratio, not engine math). */
function mulDivTowardZero(x: bigint, y: bigint, d: bigint): bigint {
  return x >= 0n ? mulDivDown(x, y, d) : -mulDivDown(-x, y, d);
}

/** `type(uint256).max`: no acceptable-price bound. */
export const NO_PRICE_BOUND = maxUint256;

// ---------------------------------------------------------------- oracle rounds

const roundOutputs = [
  { name: "roundId", type: "uint80" },
  { name: "answer", type: "int256" },
  { name: "startedAt", type: "uint256" },
  { name: "updatedAt", type: "uint256" },
  { name: "answeredInRound", type: "uint80" },
] as const;

/** The part of Chainlink's `AggregatorV3Interface` that proofs of a fill round read. */
export const aggregatorV3Abi = [
  { type: "function", name: "getRoundData", stateMutability: "view", inputs: [{ name: "roundId", type: "uint80" }], outputs: roundOutputs },
  { type: "function", name: "latestRoundData", stateMutability: "view", inputs: [], outputs: roundOutputs },
] as const;

/** One Chainlink round as a feed reports it (answer in the feed's decimals). */
export interface OracleRound {
  readonly roundId: bigint;
  readonly answer: bigint;
  readonly startedAt: bigint;
  readonly updatedAt: bigint;
}

/** A fill round and the predecessor that proves it first: the pair `executeOrder` and `settleEpoch` take. */
export interface RoundProof {
  readonly round: OracleRound;
  readonly previousRoundId: bigint;
}

const PHASE_SHIFT = 64n;

/** A feed's latest round; undefined when the feed has none (or reverts, e.g. deprecated). */
export async function getLatestRound(client: Pick<AeonBaseClient, "publicClient">, feed: Address): Promise<OracleRound | undefined> {
  return readRound(client, feed, undefined);
}

/**
 * The first round after `anchorRoundId` whose `startedAt` is strictly after `after`, with its
 * predecessor: the fill round of an order (anchor and creation time) or of an LP epoch (anchor and
 * cutoff), as `ChainlinkLib.proveFirstRoundAfter` checks it. Searches the anchor's phase, then the
 * next one when the feed moved on (the predecessor of a phase's first round is the previous
 * phase's last). Binary searches (`startedAt` does not decrease within a phase), so a busy feed
 * costs a few dozen reads, not one per round. Undefined when the round does not exist yet, or the
 * feed is more than one phase past the anchor (no proof spans that).
 */
export async function findFirstRoundAfter(
  client: Pick<AeonBaseClient, "publicClient">,
  feed: Address,
  anchorRoundId: bigint,
  after: bigint,
): Promise<RoundProof | undefined> {
  const latest = await readRound(client, feed, undefined);
  if (latest === undefined) return undefined;
  const anchorPhase = anchorRoundId >> PHASE_SHIFT;
  const latestPhase = latest.roundId >> PHASE_SHIFT;
  if (latestPhase !== anchorPhase && latestPhase !== anchorPhase + 1n) return undefined;
  const lastInAnchorPhase = latestPhase === anchorPhase ? roundNumber(latest.roundId) : await lastRoundNumber(client, feed, anchorPhase, roundNumber(anchorRoundId));
  let round = await firstStartedAfter(client, feed, anchorPhase, roundNumber(anchorRoundId) + 1n, lastInAnchorPhase, after);
  let previousRoundId = round === undefined ? 0n : round.roundId - 1n;
  if (round === undefined && latestPhase !== anchorPhase) {
    round = await firstStartedAfter(client, feed, latestPhase, 1n, roundNumber(latest.roundId), after);
    if (round !== undefined) previousRoundId = roundNumber(round.roundId) === 1n ? roundIdOf(anchorPhase, lastInAnchorPhase) : round.roundId - 1n;
  }
  if (round === undefined) return undefined;
  // The proof needs the predecessor at or before `after` (or the anchor itself).
  if (previousRoundId !== anchorRoundId) {
    const previous = await readRound(client, feed, previousRoundId);
    if (previous === undefined || previous.startedAt > after) return undefined;
  }
  return { round, previousRoundId };
}

const ROUND_NUMBER_MASK = (1n << PHASE_SHIFT) - 1n;

function roundNumber(roundId: bigint): bigint {
  return roundId & ROUND_NUMBER_MASK;
}

function roundIdOf(phase: bigint, number: bigint): bigint {
  return (phase << PHASE_SHIFT) | number;
}

/** The first round numbered in [lo, hi] of `phase` with `startedAt > after`; undefined when none. */
async function firstStartedAfter(
  client: Pick<AeonBaseClient, "publicClient">,
  feed: Address,
  phase: bigint,
  lo: bigint,
  hi: bigint,
  after: bigint,
): Promise<OracleRound | undefined> {
  if (lo > hi) return undefined;
  let found = await readRound(client, feed, roundIdOf(phase, hi));
  if (found === undefined || found.startedAt <= after) return undefined;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    const round = await readRound(client, feed, roundIdOf(phase, mid));
    if (round !== undefined && round.startedAt > after) {
      hi = mid;
      found = round;
    } else {
      lo = mid + 1n;
    }
  }
  return found;
}

/** The number of a finished phase's last round, at or after `from` (which exists). */
async function lastRoundNumber(client: Pick<AeonBaseClient, "publicClient">, feed: Address, phase: bigint, from: bigint): Promise<bigint> {
  let known = from;
  let step = 1n;
  while ((await readRound(client, feed, roundIdOf(phase, known + step))) !== undefined) {
    known += step;
    step *= 2n;
  }
  // Round `known` exists, `known + step` does not: bisect between them.
  let missing = known + step;
  while (missing - known > 1n) {
    const mid = (known + missing) / 2n;
    if ((await readRound(client, feed, roundIdOf(phase, mid))) !== undefined) known = mid;
    else missing = mid;
  }
  return known;
}

async function readRound(client: Pick<AeonBaseClient, "publicClient">, feed: Address, roundId: bigint | undefined): Promise<OracleRound | undefined> {
  let raw: readonly [bigint, bigint, bigint, bigint, bigint];
  try {
    raw =
      roundId === undefined
        ? await client.publicClient.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "latestRoundData" })
        : await client.publicClient.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "getRoundData", args: [roundId] });
  } catch (error) {
    // A feed reverts for a round it does not have ("No data present"); a failing transport is not that.
    if (isContractRevert(error)) return undefined;
    throw error;
  }
  const [id, answer, startedAt, updatedAt] = raw;
  // Some aggregators answer an unknown round with zeros instead of reverting, or with another id.
  if (updatedAt === 0n || (roundId !== undefined && id !== roundId)) return undefined;
  return { roundId: id, answer, startedAt, updatedAt };
}
