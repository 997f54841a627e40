/**
 * Simulated traders and liquidity providers for the local exchange.
 *
 * Each actor is an ordinary user of the SDK: its own key, a viem wallet client on the exchange's
 * HTTP endpoint, and `createAeonClient`. Traders deposit, open market orders long and short with
 * random leverage (some high enough that a crash liquidates them), reduce and close, and place
 * limit, stop and take-profit orders; LPs request deposits and redemptions and claim them. A
 * refused action (margin, skew bound, slippage...) is part of trading: it is logged and the actor
 * carries on. Nothing here executes orders, settles funding or liquidates: that is the keepers'.
 */
import { type Address, type Chain, type PublicClient, type Transport, createWalletClient, parseAbi } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  type AeonAccount,
  type AeonClient,
  type AeonDeployment,
  type AeonMarket,
  AeonError,
  WAD,
  abs,
  createAeonClient,
  formatSize,
  mulDivDown,
} from "../../sdk/src/index.js";
import { sleep } from "../keeper/runtime.js";
import { uniformGenerator } from "./prices.js";

const USDC_UNIT = 10n ** 6n;

/** Where actors send their transactions and how they report. */
export interface ActorEnvironment {
  readonly publicClient: PublicClient;
  readonly chain: Chain;
  readonly transport: Transport;
  readonly deployment: AeonDeployment;
  /** Bounds how many actor actions run at once, so that the price clock and keepers keep their pace. */
  readonly limiter: Limiter;
  readonly stats: ActorStats;
  /** One line for the activity feed. */
  readonly log: (line: string) => void;
}

/** What the actors did, for the view and the summary. */
export interface ActorStats {
  /** Transactions the actors got mined. */
  actions: number;
  /** Actions the protocol refused, by error name ("InsufficientMargin"...). */
  readonly refusals: Map<string, number>;
}

export function createActorStats(): ActorStats {
  return { actions: 0, refusals: new Map() };
}

/** A simulated user: a name and a key. */
export interface ActorIdentity {
  readonly name: string;
  readonly privateKey: `0x${string}`;
}

/** A counting semaphore: at most `capacity` tasks run at once; the others wait in order. */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.capacity) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** The mock token's open mint: the simulated users' faucet. */
const mockUsdcAbi = parseAbi(["function mint(address to, uint256 amount)"]);

interface ActorClient {
  readonly aeon: AeonClient;
  readonly address: Address;
  /** Makes sure the wallet holds `amount` token units, minting mock USDC when it does not (long runs outlast any grant). */
  ensureTokens(amount: bigint): Promise<void>;
}

function clientFor(env: ActorEnvironment, identity: ActorIdentity): ActorClient {
  const account = privateKeyToAccount(identity.privateKey);
  const wallet = createWalletClient({ account, chain: env.chain, transport: env.transport });
  const aeon = createAeonClient({ publicClient: env.publicClient, wallet, deployment: env.deployment });
  return {
    aeon,
    address: account.address,
    async ensureTokens(amount) {
      const { balance } = await aeon.getTokenBalance(account.address);
      if (balance >= amount) return;
      const hash = await wallet.writeContract({
        address: env.deployment.addresses.usdc,
        abi: mockUsdcAbi,
        functionName: "mint",
        args: [account.address, amount * 10n],
      });
      await env.publicClient.waitForTransactionReceipt({ hash });
    },
  };
}

/** A short reason for a refused action: the protocol error's message, or the first line of any other error. */
export function describeRefusal(error: unknown): { name: string; message: string } {
  if (error instanceof AeonError) return { name: error.errorName, message: error.shortMessage };
  const text = error instanceof Error ? error.message : String(error);
  return { name: error instanceof Error ? error.name : "Error", message: text.split("\n")[0] ?? text };
}

/** Runs one action; a refusal is counted and logged, never thrown (the actor acts again later). */
async function attempt(env: ActorEnvironment, who: string, what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
    env.stats.actions++;
    env.log(`${who} ${what}`);
  } catch (error) {
    const { name, message } = describeRefusal(error);
    env.stats.refusals.set(name, (env.stats.refusals.get(name) ?? 0) + 1);
    env.log(`${who} ${what}: refused (${message})`);
  }
}

/**
 * An actor's life: it starts at a random moment (like real users), then acts and thinks in turn
 * until the signal aborts. A failed step (the node busy or shutting down) is logged and retried
 * at the next turn.
 */
async function actLoop(
  env: ActorEnvironment,
  who: string,
  thinkMs: readonly [number, number],
  between: (lo: number, hi: number) => number,
  signal: AbortSignal,
  step: () => Promise<void>,
): Promise<void> {
  await sleep(between(0, thinkMs[1]), signal);
  while (!signal.aborted) {
    await env.limiter.run(async () => {
      if (signal.aborted) return;
      try {
        await step();
      } catch (error) {
        env.log(`${who}: ${describeRefusal(error).message}`);
      }
    });
    await sleep(between(thinkMs[0], thinkMs[1]), signal);
  }
}

// ---------------------------------------------------------------- traders

/** Leverage a trader picks when it opens: mostly moderate, some high (a 50% crash liquidates them all). */
const LEVERAGE_CHOICES = [2, 3, 3, 5, 5, 5, 8, 10, 10, 15, 20, 25, 30] as const;
/** Slippage bound of market orders: a 30-minute step of a crash moves the index by about 2%. */
const MARKET_SLIPPAGE = 0.03;
/** Orders per account are capped at 8; a trader cancels a waiting conditional order above this. */
const MAX_OWN_PENDING = 5;

export interface TraderOptions {
  /** Seeds the trader's choices. */
  readonly seed: number;
  /** Real milliseconds between actions: uniform in [min, max]. */
  readonly thinkMs: readonly [number, number];
}

/** A trader's loop, until the signal aborts. */
export async function runTrader(env: ActorEnvironment, identity: ActorIdentity, options: TraderOptions, signal: AbortSignal): Promise<void> {
  const { aeon, address, ensureTokens } = clientFor(env, identity);
  const random = uniformGenerator(options.seed);
  const between = (lo: number, hi: number): number => lo + (hi - lo) * random();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const who = identity.name;
  await actLoop(env, who, options.thinkMs, between, signal, traderStep);

  async function traderStep(): Promise<void> {
    const [account, markets] = await Promise.all([aeon.getAccount(address), aeon.getMarkets()]);
    const free = freeMargin(account);
    if (!account.exists || (free < 100n * WAD && random() < 0.5)) {
      const amount = BigInt(Math.round(between(2_000, 25_000))) * USDC_UNIT;
      await ensureTokens(amount);
      await attempt(env, who, `deposits ${amount / USDC_UNIT} USDC`, () => aeon.deposit({ amount }));
      return;
    }
    const waiting = account.pendingOrders.filter((o) => !o.queued);
    if (account.pendingOrders.length >= MAX_OWN_PENDING && waiting.length > 0) {
      const stale = waiting.reduce((a, b) => (a.createdAt <= b.createdAt ? a : b));
      await attempt(env, who, `cancels ${stale.orderType} order`, () => aeon.cancelOrder(stale.orderKey));
      return;
    }
    const roll = random();
    const position = account.positions.length > 0 ? pick(account.positions) : undefined;
    if (position !== undefined && roll < 0.18) {
      const market = marketOf(markets, position.marketId);
      await marketOrder(market, -position.size, true, "closes");
    } else if (position !== undefined && roll < 0.28) {
      const market = marketOf(markets, position.marketId);
      await marketOrder(market, -position.size / 2n, true, "reduces");
    } else if (position !== undefined && roll < 0.4) {
      await protect(marketOf(markets, position.marketId), position.size);
    } else if (roll < 0.52) {
      await limitEntry(pick(markets), free);
    } else if (roll < 0.85) {
      await open(pick(markets), free);
    }
    // Otherwise the trader watches the market this time.
  }

  async function open(market: AeonMarket, free: bigint): Promise<void> {
    if (!market.priceValid || free <= 20n * WAD) return;
    const leverage = pick(LEVERAGE_CHOICES);
    // Margin for this position: part of what is free, the rest stays for fees, the buffer and later trades.
    const margin = (free * BigInt(Math.round(between(0.3, 0.8) * 1000))) / 1000n;
    const notional = margin * BigInt(leverage);
    const size = mulDivDown(notional, WAD, market.price);
    // Slightly more longs than shorts, as on most crypto venues: funding is mostly positive.
    const sign = random() < 0.55 ? 1n : -1n;
    await marketOrder(market, sign * size, false, `opens ${leverage}x`);
  }

  async function marketOrder(market: AeonMarket, sizeDelta: bigint, reduceOnly: boolean, verb: string): Promise<void> {
    if (sizeDelta === 0n) return;
    const acceptablePrice = withSlippage(market.price, sizeDelta > 0n ? MARKET_SLIPPAGE : -MARKET_SLIPPAGE);
    await attempt(env, who, `${verb} ${describeSize(sizeDelta, market)}`, () =>
      aeon.createOrder({ market: market.marketId, sizeDelta, acceptablePrice, reduceOnly }),
    );
  }

  /** A limit order to enter below the index (buy) or above it (sell). */
  async function limitEntry(market: AeonMarket, free: bigint): Promise<void> {
    if (!market.priceValid || free <= 20n * WAD) return;
    const buy = random() < 0.55;
    const distance = between(0.005, 0.03);
    const triggerPrice = withSlippage(market.price, buy ? -distance : distance);
    const notional = (free / 2n) * BigInt(pick([2, 3, 5, 10]));
    const sizeDelta = (buy ? 1n : -1n) * mulDivDown(notional, WAD, triggerPrice);
    const acceptablePrice = withSlippage(triggerPrice, buy ? 0.01 : -0.01);
    await attempt(env, who, `places a limit ${buy ? "buy" : "sell"} of ${formatSize(abs(sizeDelta))} ${market.symbol ?? ""} at ${dollars(triggerPrice)}`, () =>
      aeon.createOrder({ market: market.marketId, type: "limit", sizeDelta, triggerPrice, acceptablePrice }),
    );
  }

  /** A stop-loss or a take-profit on a position (reduce-only). */
  async function protect(market: AeonMarket, size: bigint): Promise<void> {
    if (!market.priceValid) return;
    const long = size > 0n;
    const takeProfit = random() < 0.5;
    const distance = between(0.02, 0.08);
    // A long takes profit above and stops below; a short the reverse.
    const triggerPrice = withSlippage(market.price, long === takeProfit ? distance : -distance);
    const acceptablePrice = withSlippage(triggerPrice, long ? -0.05 : 0.05);
    const type = takeProfit ? "takeProfit" : "stop";
    await attempt(env, who, `sets a ${takeProfit ? "take-profit" : "stop"} at ${dollars(triggerPrice)} on ${describeSize(size, market)}`, () =>
      aeon.createOrder({ market: market.marketId, type, sizeDelta: -size, triggerPrice, acceptablePrice, reduceOnly: true }),
    );
  }
}

/** What the account can still commit: equity without unrealized profit, less initial margin and reservations. */
function freeMargin(account: AeonAccount): bigint {
  if (!account.exists) return 0n;
  const free = account.equity - account.positivePnl - account.initialMargin - account.reservedMargin;
  return free > 0n ? free : 0n;
}

function marketOf(markets: readonly AeonMarket[], marketId: number): AeonMarket {
  const market = markets.find((m) => m.marketId === marketId);
  if (market === undefined) throw new Error(`market ${marketId} is not listed`);
  return market;
}

/** `price * (1 + fraction)`, in WAD. */
function withSlippage(price: bigint, fraction: number): bigint {
  return (price * BigInt(Math.round((1 + fraction) * 1_000_000))) / 1_000_000n;
}

function describeSize(size: bigint, market: AeonMarket): string {
  return `${size > 0n ? "long" : "short"} ${formatSize(abs(size))} ${market.symbol ?? `#${market.marketId}`}`;
}

function dollars(price: bigint): string {
  return `$${(Number(price / 10n ** 14n) / 10_000).toFixed(2)}`;
}

// ---------------------------------------------------------------- liquidity providers

export interface LpOptions {
  readonly seed: number;
  readonly thinkMs: readonly [number, number];
}

/**
 * An LP's loop: claims what a settled epoch made claimable, otherwise requests a deposit (or,
 * holding shares, sometimes a redemption of part of them). Requests settle at the epoch's price.
 */
export async function runLiquidityProvider(env: ActorEnvironment, identity: ActorIdentity, options: LpOptions, signal: AbortSignal): Promise<void> {
  const { aeon, address, ensureTokens } = clientFor(env, identity);
  const random = uniformGenerator(options.seed);
  const between = (lo: number, hi: number): number => lo + (hi - lo) * random();
  const who = identity.name;
  await actLoop(env, who, options.thinkMs, between, signal, lpStep);

  async function lpStep(): Promise<void> {
    const { lp } = await aeon.getPool(address);
    if (lp === undefined) return;
    if (lp.claimableDeposit > 0n) {
      await attempt(env, who, `claims shares for ${lp.claimableDeposit / USDC_UNIT} USDC`, () => aeon.claimLpShares());
    } else if (lp.claimableRedeem > 0n) {
      await attempt(env, who, "claims a redemption", () => aeon.claimLpAssets());
    } else if (lp.pendingDeposit === 0n && lp.pendingRedeem === 0n) {
      if (lp.shares === 0n || random() < 0.6) {
        const assets = BigInt(Math.round(between(20_000, 250_000))) * USDC_UNIT;
        await ensureTokens(assets);
        await attempt(env, who, `requests an LP deposit of ${assets / USDC_UNIT} USDC`, () => aeon.requestLpDeposit({ assets }));
      } else {
        const shares = (lp.shares * BigInt(Math.round(between(0.1, 0.5) * 1000))) / 1000n;
        await attempt(env, who, `requests a redemption of ${(Number(shares / 10n ** 12n) / 1e6).toFixed(0)} shares`, () =>
          aeon.requestLpRedeem({ shares }),
        );
      }
    }
  }
}
