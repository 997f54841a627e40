/**
 * Aeon's keepers: the order executor, the funding settler and the liquidator, in one loop that
 * shares a key (one nonce manager), a view of the chain and a checkpoint file.
 *
 * Each tick: scan the protocol's events since the last processed block (to track accounts and
 * conditional orders), read every market once through the lens, then
 * - liquidations: refresh the accounts the events touched, recompute every tracked account's
 *   health with the SDK's math at the latest prices, liquidate the unhealthy ones in batches,
 *   largest shortfall first;
 * - orders: execute each market's queue from its head as soon as the orders' fill rounds exist
 *   (expired orders are popped the same way), trigger conditional orders whose latest round meets
 *   the trigger, and settle the LP epoch once its cutoff's first rounds exist;
 * - funding: settle every market whose interval has elapsed.
 * Every write is simulated first: work someone else already did (an executed order, a settled
 * market) fails the simulation with the protocol's error and is skipped, never retried blindly.
 */
import {
  type Abi,
  type Address,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  createPublicClient,
  parseEventLogs,
} from "viem";
import {
  type Account,
  type AeonBaseClient,
  type AeonDeployment,
  type AeonEvent,
  type AeonMarket,
  type ContractWrite,
  type GlobalConfig,
  type PositionEntry,
  type RoundProof,
  type WriteResult,
  AeonError,
  accountHealth,
  aeonEventAbi,
  engineAbi,
  findFirstRoundAfter,
  getLatestRound,
  getMarkets,
  lensAbi,
  liquidityPoolAbi,
  orderBookAbi,
  sendContractWrite,
  toAccount,
  toGlobalConfig,
} from "../../sdk/src/index.js";
import {
  DEFAULT_RETRY_POLICY,
  KeeperSigner,
  type Logger,
  Metrics,
  type RetryPolicy,
  errorMessage,
  readCheckpoint,
  retryingTransport,
  silentLogger,
  sleep,
  writeCheckpoint,
} from "./runtime.js";

export type KeeperJob = "orders" | "funding" | "liquidations";
export const KEEPER_JOBS: readonly KeeperJob[] = ["orders", "funding", "liquidations"];

export interface KeeperOptions {
  /** The node; every request goes through bounded retries with backoff. */
  readonly transport: Transport;
  /** The key the keeper sends with (one process per key: the keeper owns its nonce). */
  readonly account: LocalAccount;
  readonly deployment: AeonDeployment;
  readonly jobs: readonly KeeperJob[];
  /** Blocks a write waits for, and how far behind the head events are processed. Default 1. */
  readonly confirmations?: number;
  /** Pause between ticks. Default 1,000 ms. */
  readonly pollIntervalMs?: number;
  /** Where the tracked accounts, conditional orders and last processed block are kept across restarts. */
  readonly checkpointFile?: string;
  readonly logger?: Logger;
  /** Default: a fresh registry (serve it with `metrics.serve(port)`). */
  readonly metrics?: Metrics;
  readonly retry?: RetryPolicy;
  /** Orders per `executeOrders` call. Default 16. */
  readonly orderBatchSize?: number;
  /** Accounts per `liquidateBatch` call. Default 25. */
  readonly liquidationBatchSize?: number;
  /** Blocks per `eth_getLogs` request. Default 2,000. */
  readonly logBlockRange?: bigint;
}

/** What a keeper has done, from its own receipts. */
export interface KeeperStats {
  readonly ordersExecuted: number;
  readonly ordersCancelled: number;
  readonly ordersExpired: number;
  readonly ordersTriggered: number;
  readonly epochsSettled: number;
  readonly fundingSettlements: number;
  readonly liquidations: number;
  readonly transactions: number;
  readonly skipped: number;
  readonly errors: number;
  readonly trackedAccounts: number;
  readonly lastProcessedBlock: bigint;
}

export interface Keeper {
  readonly address: Address;
  readonly metrics: Metrics;
  /** Counters so far. */
  stats(): KeeperStats;
  /** One pass over every job (errors are logged and counted, not thrown). */
  tick(): Promise<void>;
  /** Ticks until `stop()` or `signal` aborts; then finishes the write in flight and saves the checkpoint. */
  run(signal?: AbortSignal): Promise<void>;
  /** Stops starting work, waits for the write in flight and the loop to end. */
  stop(): Promise<void>;
}

/** `OrderBook.Order`, as `getOrder` returns it. */
type StoredOrder = ContractFunctionReturnType<typeof orderBookAbi, "view", "getOrder">;

interface TrackedAccount {
  readonly account: Account;
  readonly positions: readonly PositionEntry[];
}

interface ConditionalOrder {
  readonly key: bigint;
  readonly marketId: number;
  readonly orderType: number;
  readonly sizeDelta: bigint;
  readonly triggerPrice: bigint;
  /** Read from the order book the first time it is checked. */
  createdAt?: bigint;
}

interface CheckpointV1 {
  readonly version: 1;
  readonly chainId: number;
  readonly engine: Address;
  readonly lastProcessedBlock: bigint;
  /** That block's hash: a checkpoint from a chain that was reset or reorganized is not resumed. */
  readonly lastProcessedBlockHash: Hex;
  /** The jobs that built it: a liquidator cannot resume a checkpoint that did not track accounts. */
  readonly jobs: readonly KeeperJob[];
  readonly accounts: readonly (readonly [number, TrackedAccount])[];
  /** Accounts whose events were processed but whose state was not re-read yet. */
  readonly dirtyAccounts: readonly number[];
  readonly conditionalOrders: readonly ConditionalOrder[];
}

const QUEUED_FLAG = 1n << 72n;
const STOP_MARKET = 2;
const NO_ROUND_EXPIRY = 24n * 3600n;
const MAX_HOLES_SKIPPED = 32;
const PHASE_SHIFT = 64n;
/**
 * Gas limits of batches: generous bounds (a limit costs nothing beyond the gas used), so a batch
 * needs no node estimate (a binary search of ~16 executions). After a failed batch the keeper lets
 * the node estimate instead, in case a bound turned out short.
 */
const LIQUIDATION_GAS_BASE = 250_000n;
const LIQUIDATION_GAS_PER_POSITION = 150_000n;
const EXECUTION_GAS_PER_ORDER = 500_000n;
const BATCH_GAS_OVERHEAD = 100_000n;
const CancelReason = { Expired: 1 } as const;

const COUNTERS = {
  aeon_keeper_orders_executed_total: "Orders filled by this keeper",
  aeon_keeper_orders_cancelled_total: "Orders this keeper's executions cancelled (slippage, margin, caps, invalid rounds)",
  aeon_keeper_orders_expired_total: "Expired orders this keeper popped",
  aeon_keeper_orders_triggered_total: "Conditional orders this keeper triggered",
  aeon_keeper_epochs_settled_total: "LP epochs this keeper settled",
  aeon_keeper_funding_settlements_total: "Funding settlements this keeper made",
  aeon_keeper_liquidations_total: "Accounts this keeper liquidated",
  aeon_keeper_transactions_total: "Transactions this keeper sent, by job",
  aeon_keeper_skipped_total: "Writes skipped because the simulation showed the work done or not due, by job",
  aeon_keeper_errors_total: "Failures (RPC errors after retries, reverted transactions), by job",
  aeon_keeper_rpc_retries_total: "RPC requests retried, by method",
} as const;
const GAUGES = {
  aeon_keeper_head_block: "Latest block the keeper saw",
  aeon_keeper_lag_blocks: "Blocks between the head and the last block whose events the keeper processed",
  aeon_keeper_tracked_accounts: "Accounts with open positions the liquidator tracks",
  aeon_keeper_liquidatable_accounts: "Tracked accounts below maintenance margin at the last tick",
} as const;

/** Creates a keeper; `run()` starts it. */
export function createKeeper(options: KeeperOptions): Keeper {
  return new AeonKeeper(options);
}

class AeonKeeper implements Keeper {
  readonly address: Address;
  readonly metrics: Metrics;
  readonly #options: KeeperOptions;
  readonly #jobs: ReadonlySet<KeeperJob>;
  readonly #log: Logger;
  readonly #publicClient: PublicClient;
  readonly #signer: KeeperSigner;
  readonly #client: AeonBaseClient;
  readonly #stopping = new AbortController();
  #running: Promise<void> | undefined;
  #loaded = false;

  #lastProcessedBlock: bigint;
  readonly #accounts = new Map<number, TrackedAccount>();
  readonly #dirtyAccounts = new Set<number>();
  readonly #conditionals = new Map<bigint, ConditionalOrder>();
  readonly #queuedOrders = new Map<bigint, StoredOrder>();
  readonly #fillRounds = new Map<bigint, RoundProof>();
  /** Work items that failed for reasons other than the protocol's answer: retried after a growing pause. */
  readonly #failures = new Map<string, { count: number; retryAtTick: number }>();
  #tickCount = 0;
  #logBlockRange: bigint;
  /** Batch kinds whose gas the node estimates from now on (a fixed bound failed once). */
  readonly #estimateGasFor = new Set<"liquidations" | "orders">();

  constructor(options: KeeperOptions) {
    this.#options = options;
    this.#jobs = new Set(options.jobs);
    this.#log = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics();
    for (const [name, help] of Object.entries(COUNTERS)) this.metrics.counter(name, help);
    for (const [name, help] of Object.entries(GAUGES)) this.metrics.gauge(name, help);
    const pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#publicClient = createPublicClient({
      transport: retryingTransport(options.transport, {
        policy: options.retry ?? DEFAULT_RETRY_POLICY,
        signal: this.#stopping.signal,
        onRetry: (method, error) => {
          this.metrics.inc("aeon_keeper_rpc_retries_total", 1, { method });
          this.#log.debug("rpc retry", { method, error: errorMessage(error) });
        },
      }),
      pollingInterval: Math.min(pollIntervalMs, 1_000),
    });
    this.#signer = new KeeperSigner({ account: options.account, publicClient: this.#publicClient, logger: this.#log });
    this.address = options.account.address;
    this.#client = {
      publicClient: this.#publicClient,
      signer: this.#signer,
      deployment: options.deployment,
      executionGas: 0n,
      confirmations: Math.max(1, options.confirmations ?? 1),
    };
    this.#lastProcessedBlock = options.deployment.deploymentBlock - 1n;
    this.#logBlockRange = options.logBlockRange ?? 2_000n;
  }

  stats(): KeeperStats {
    const m = this.metrics;
    return {
      ordersExecuted: m.value("aeon_keeper_orders_executed_total"),
      ordersCancelled: m.value("aeon_keeper_orders_cancelled_total"),
      ordersExpired: m.value("aeon_keeper_orders_expired_total"),
      ordersTriggered: m.value("aeon_keeper_orders_triggered_total"),
      epochsSettled: m.value("aeon_keeper_epochs_settled_total"),
      fundingSettlements: m.value("aeon_keeper_funding_settlements_total"),
      liquidations: m.value("aeon_keeper_liquidations_total"),
      transactions: m.value("aeon_keeper_transactions_total"),
      skipped: m.value("aeon_keeper_skipped_total"),
      errors: m.value("aeon_keeper_errors_total"),
      trackedAccounts: this.#accounts.size,
      lastProcessedBlock: this.#lastProcessedBlock,
    };
  }

  async run(signal?: AbortSignal): Promise<void> {
    if (this.#running !== undefined) return this.#running;
    signal?.addEventListener("abort", () => this.#stopping.abort(), { once: true });
    if (signal?.aborted === true) this.#stopping.abort();
    this.#running = (async () => {
      this.#log.info("keeper started", { address: this.address, jobs: [...this.#jobs], chainId: this.#options.deployment.chainId });
      while (!this.#stopping.signal.aborted) {
        await this.tick();
        await sleep(this.#options.pollIntervalMs ?? 1_000, this.#stopping.signal);
      }
      await this.#saveCheckpoint().catch((error: unknown) => this.#log.warn("checkpoint not saved", { error: errorMessage(error) }));
      this.#log.info("keeper stopped", { ...this.stats() });
    })();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  async tick(): Promise<void> {
    ++this.#tickCount;
    try {
      await this.#loadCheckpoint();
      const head = await this.#publicClient.getBlockNumber({ cacheTime: 0 });
      this.metrics.set("aeon_keeper_head_block", Number(head));
      try {
        await this.#scanEvents(head);
      } catch (error) {
        // A node that refuses the range: smaller ranges next time; the jobs still run on what is known.
        this.#logBlockRange = this.#logBlockRange > 1n ? this.#logBlockRange / 2n : 1n;
        this.metrics.inc("aeon_keeper_errors_total", 1, { job: "events" });
        this.#log.warn("event scan failed", { fromBlock: this.#lastProcessedBlock + 1n, range: this.#logBlockRange, error: errorMessage(error) });
      }
      const [markets, globalTuple] = await Promise.all([
        getMarkets(this.#client, { blockNumber: head }),
        this.#jobs.has("liquidations")
          ? this.#publicClient.readContract({ address: this.#options.deployment.addresses.clearingEngine, abi: engineAbi, functionName: "globalConfig" })
          : Promise.resolve(undefined),
      ]);
      const block = await this.#publicClient.getBlock({ blockNumber: head });
      const now = block.timestamp;
      if (this.#jobs.has("liquidations") && globalTuple !== undefined) {
        await this.#guard("liquidations", () => this.#liquidate(markets, toGlobalConfig(globalTuple), now));
      }
      if (this.#jobs.has("orders")) {
        for (const market of markets) await this.#guard("orders", () => this.#executeQueue(market, now));
        await this.#guard("orders", () => this.#triggerOrders(markets));
        await this.#guard("orders", () => this.#settleEpoch(markets, now));
      }
      if (this.#jobs.has("funding")) {
        for (const market of markets) {
          if (market.nextFundingSettlement <= now) await this.#guard("funding", () => this.#settleFunding(market));
        }
      }
      if (this.#options.checkpointFile !== undefined) await this.#saveCheckpoint();
    } catch (error) {
      this.metrics.inc("aeon_keeper_errors_total", 1, { job: "tick" });
      this.#log.warn("tick failed", { tick: this.#tickCount, error: errorMessage(error) });
    }
  }

  // -------------------------------------------------------------- events and state

  async #scanEvents(head: bigint): Promise<void> {
    if (!this.#jobs.has("orders") && !this.#jobs.has("liquidations")) return;
    const { clearingEngine, orderBook } = this.#options.deployment.addresses;
    const safe = head - BigInt(this.#client.confirmations - 1);
    const range = this.#logBlockRange;
    while (this.#lastProcessedBlock < safe && !this.#stopping.signal.aborted) {
      const fromBlock = this.#lastProcessedBlock + 1n;
      const toBlock = fromBlock + range - 1n < safe ? fromBlock + range - 1n : safe;
      const logs = await this.#publicClient.getLogs({ address: [clearingEngine, orderBook], fromBlock, toBlock });
      for (const event of parseEventLogs({ abi: aeonEventAbi, logs, strict: true }) as AeonEvent[]) this.#apply(event);
      this.#lastProcessedBlock = toBlock;
    }
    this.metrics.set("aeon_keeper_lag_blocks", Number(head - this.#lastProcessedBlock));
  }

  #apply(event: AeonEvent): void {
    const args = event.args as Record<string, unknown>;
    if (typeof args["accountId"] === "number" && this.#jobs.has("liquidations")) this.#dirtyAccounts.add(args["accountId"]);
    if (event.eventName === "OrderCreated" && (event.args.orderKey & QUEUED_FLAG) === 0n) {
      this.#conditionals.set(event.args.orderKey, {
        key: event.args.orderKey,
        marketId: event.args.marketId,
        orderType: event.args.orderType,
        sizeDelta: event.args.sizeDelta,
        triggerPrice: event.args.triggerPrice,
      });
    } else if (event.eventName === "OrderTriggered") {
      this.#conditionals.delete(event.args.conditionalKey);
    } else if (event.eventName === "OrderCancelled") {
      this.#conditionals.delete(event.args.orderKey);
    }
  }

  /** Re-reads the accounts the events touched (those with positions or a debt stay tracked). */
  async #refreshAccounts(): Promise<void> {
    const ids = [...this.#dirtyAccounts];
    const lens = this.#options.deployment.addresses.lens;
    const concurrency = 8;
    for (let i = 0; i < ids.length && !this.#stopping.signal.aborted; i += concurrency) {
      await Promise.all(
        ids.slice(i, i + concurrency).map(async (accountId) => {
          const view = await this.#publicClient.readContract({ address: lens, abi: lensAbi, functionName: "account", args: [accountId] });
          // An account with no position but a debt is liquidatable too (its debt is written off).
          if (view.account.marketMask === 0n && view.account.collateral >= 0n) this.#accounts.delete(accountId);
          else this.#accounts.set(accountId, { account: toAccount(view.account), positions: view.positions });
          this.#dirtyAccounts.delete(accountId);
        }),
      );
    }
    this.metrics.set("aeon_keeper_tracked_accounts", this.#accounts.size);
  }

  // -------------------------------------------------------------- liquidations

  async #liquidate(markets: readonly AeonMarket[], globalConfig: GlobalConfig, now: bigint): Promise<void> {
    await this.#refreshAccounts();
    // The lens's states are accrued to `now` already: the math's own accrual is then a no-op.
    const entries = markets.map((m) => ({ config: m.config, state: m.state }));
    const tiers = markets.map((m) => m.tiers);
    const prices = markets.map((m) => ({ price: m.price, valid: m.status === 0 }));
    const unhealthy: { accountId: number; shortfall: bigint; positions: number }[] = [];
    for (const [accountId, tracked] of this.#accounts) {
      const health = accountHealth(tracked.account, tracked.positions, entries, globalConfig, tiers, prices, now);
      if (health.liquidatable) {
        unhealthy.push({ accountId, shortfall: health.maintenanceMargin - health.equity, positions: Number(health.positionCount) });
      }
    }
    this.metrics.set("aeon_keeper_liquidatable_accounts", unhealthy.length);
    if (unhealthy.length === 0) return;
    unhealthy.sort((a, b) => (a.shortfall === b.shortfall ? a.accountId - b.accountId : a.shortfall > b.shortfall ? -1 : 1));
    const size = this.#options.liquidationBatchSize ?? 25;
    for (let i = 0; i < unhealthy.length && !this.#stopping.signal.aborted; i += size) {
      const batch = unhealthy.slice(i, i + size);
      const accountIds = batch.map((a) => a.accountId);
      const gas = this.#estimateGasFor.has("liquidations")
        ? undefined
        : batch.reduce((sum, a) => sum + LIQUIDATION_GAS_BASE + LIQUIDATION_GAS_PER_POSITION * BigInt(a.positions), BATCH_GAS_OVERHEAD);
      const result = await this.#write("liquidations", `liquidate:${accountIds[0]}`, {
        address: this.#options.deployment.addresses.clearingEngine,
        abi: engineAbi,
        functionName: "liquidateBatch",
        args: [accountIds],
        ...(gas === undefined ? {} : { gas }),
      });
      // Liquidated or not, re-read them: a skipped account means our copy of it was stale.
      for (const accountId of accountIds) this.#dirtyAccounts.add(accountId);
      if (result === "failed") this.#estimateGasFor.add("liquidations");
      if (typeof result === "string") continue;
      const liquidated = result.events.filter((e) => e.eventName === "Liquidated").length;
      this.metrics.inc("aeon_keeper_liquidations_total", liquidated);
      this.#log.info("liquidated", { accounts: liquidated, of: accountIds.length, hash: result.hash, gasUsed: result.receipt.gasUsed });
    }
  }

  // -------------------------------------------------------------- orders

  /** Executes a market's queue from its head, as far as the orders' fill rounds exist. */
  async #executeQueue(market: AeonMarket, now: bigint): Promise<void> {
    const { queueHead: head, queueTail: tail, marketId } = market;
    if (head >= tail) return;
    const batchSize = this.#options.orderBatchSize ?? 16;
    const fillRoundIds: bigint[] = [];
    const previousRoundIds: bigint[] = [];
    // Liquidations leave holes; each entry of the batch skips at most 32 of them before its order,
    // and an entry that meets a 33rd hole only pops the 32 (its round pair is not read). The
    // batch mirrors that: a pop-only (0, 0) entry for every 33rd consecutive hole.
    let holes = 0;
    let end = head; // the queue position after the batch's last entry
    for (let seq = head; seq < tail && fillRoundIds.length < batchSize; ++seq) {
      const key = QUEUED_FLAG | (BigInt(marketId) << 64n) | seq;
      const order = await this.#queuedOrder(key);
      if (order.accountId === 0) {
        if (++holes > MAX_HOLES_SKIPPED) {
          fillRoundIds.push(0n);
          previousRoundIds.push(0n);
          end = seq;
          holes = 1;
        }
        continue;
      }
      const proof = await this.#fillRound(key, market, order, now);
      if (proof === undefined) break;
      fillRoundIds.push(proof.fillRoundId);
      previousRoundIds.push(proof.previousRoundId);
      holes = 0;
      end = seq + 1n;
    }
    if (fillRoundIds.length === 0) return;
    const result = await this.#write("orders", `execute:${marketId}:${head}`, {
      address: this.#options.deployment.addresses.orderBook,
      abi: orderBookAbi,
      functionName: "executeOrders",
      args: [marketId, fillRoundIds, previousRoundIds],
      ...(this.#estimateGasFor.has("orders") ? {} : { gas: BATCH_GAS_OVERHEAD + EXECUTION_GAS_PER_ORDER * BigInt(fillRoundIds.length) }),
    });
    if (typeof result === "string") {
      // The queue or the rounds moved under us (or the bound was short): read them again next tick.
      this.#forgetQueue(marketId);
      if (result === "failed") this.#estimateGasFor.add("orders");
      return;
    }
    let executed = 0;
    let cancelled = 0;
    let expired = 0;
    for (const event of result.events) {
      if (event.eventName === "OrderExecuted") ++executed;
      if (event.eventName === "OrderCancelled") event.args.reason === CancelReason.Expired ? ++expired : ++cancelled;
    }
    this.metrics.inc("aeon_keeper_orders_executed_total", executed);
    this.metrics.inc("aeon_keeper_orders_cancelled_total", cancelled);
    this.metrics.inc("aeon_keeper_orders_expired_total", expired);
    this.#forgetQueue(marketId, end);
    this.#log.info("orders executed", { market: marketId, executed, cancelled, expired, hash: result.hash, gasUsed: result.receipt.gasUsed });
  }

  async #queuedOrder(key: bigint): Promise<StoredOrder> {
    const cached = this.#queuedOrders.get(key);
    if (cached !== undefined) return cached;
    const order = (await this.#publicClient.readContract({
      address: this.#options.deployment.addresses.orderBook,
      abi: orderBookAbi,
      functionName: "getOrder",
      args: [key],
    })) as StoredOrder;
    // A hole stays a hole; an order stays as it is until it leaves the queue.
    this.#queuedOrders.set(key, order);
    return order;
  }

  /**
   * The (fill, previous) round pair for a queued order: its first round after creation, or
   * (0, 0) when it expired with no round at all; undefined while the fill round does not exist.
   */
  async #fillRound(key: bigint, market: AeonMarket, order: StoredOrder, now: bigint): Promise<{ fillRoundId: bigint; previousRoundId: bigint } | undefined> {
    const known = this.#fillRounds.get(key);
    if (known !== undefined) return { fillRoundId: known.round.roundId, previousRoundId: known.previousRoundId };
    const createdAt = BigInt(order.createdAt);
    const proof = await findFirstRoundAfter(this.#client, market.config.feed.aggregator, order.anchorRoundId, createdAt);
    if (proof !== undefined) {
      this.#fillRounds.set(key, proof);
      return { fillRoundId: proof.round.roundId, previousRoundId: proof.previousRoundId };
    }
    if (now > createdAt + NO_ROUND_EXPIRY) {
      const latest = await getLatestRound(this.#client, market.config.feed.aggregator);
      const phaseSkipped = latest !== undefined && latest.roundId >> PHASE_SHIFT > (order.anchorRoundId >> PHASE_SHIFT) + 1n;
      if (latest === undefined || latest.startedAt <= createdAt || phaseSkipped) return { fillRoundId: 0n, previousRoundId: 0n };
    }
    return undefined;
  }

  #forgetQueue(marketId: number, before?: bigint): void {
    for (const key of this.#queuedOrders.keys()) {
      if (Number((key >> 64n) & 0xffn) !== marketId) continue;
      if (before === undefined || (key & ((1n << 64n) - 1n)) < before) {
        this.#queuedOrders.delete(key);
        this.#fillRounds.delete(key);
      }
    }
  }

  /** Triggers every conditional order whose market's latest valid round, observed after its creation, meets its trigger. */
  async #triggerOrders(markets: readonly AeonMarket[]): Promise<void> {
    if (this.#conditionals.size === 0) return;
    const latestRounds = new Map<number, { startedAt: bigint; price: bigint } | undefined>();
    for (const order of [...this.#conditionals.values()]) {
      if (this.#stopping.signal.aborted) return;
      const market = markets[order.marketId];
      if (market === undefined || market.status !== 0) continue;
      if (!latestRounds.has(order.marketId)) {
        const round = await getLatestRound(this.#client, market.config.feed.aggregator);
        latestRounds.set(order.marketId, round === undefined ? undefined : { startedAt: round.startedAt, price: market.price });
      }
      const latest = latestRounds.get(order.marketId);
      if (latest === undefined) continue;
      const buy = order.sizeDelta > 0n;
      const limitLike = order.orderType !== STOP_MARKET;
      const met = buy === limitLike ? latest.price <= order.triggerPrice : latest.price >= order.triggerPrice;
      if (!met) continue;
      if (order.createdAt === undefined) {
        const stored = (await this.#publicClient.readContract({
          address: this.#options.deployment.addresses.orderBook,
          abi: orderBookAbi,
          functionName: "getOrder",
          args: [order.key],
        })) as StoredOrder;
        if (stored.accountId === 0) {
          this.#conditionals.delete(order.key);
          continue;
        }
        order.createdAt = BigInt(stored.createdAt);
      }
      if (latest.startedAt <= order.createdAt) continue;
      const result = await this.#write("orders", `trigger:${order.key}`, {
        address: this.#options.deployment.addresses.orderBook,
        abi: orderBookAbi,
        functionName: "triggerOrder",
        args: [order.key],
      });
      if (typeof result === "string") continue;
      this.#conditionals.delete(order.key);
      this.metrics.inc("aeon_keeper_orders_triggered_total");
      this.#log.info("order triggered", { orderKey: order.key, market: order.marketId, hash: result.hash });
    }
  }

  /** Settles the LP epoch once its cutoff passed and each market's first round after it exists (or the wait is over). */
  async #settleEpoch(markets: readonly AeonMarket[], now: bigint): Promise<void> {
    const pool = this.#options.deployment.addresses.liquidityPool;
    const read = this.#publicClient;
    const epochId = await read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "currentEpoch" });
    if (epochId === 0n) return;
    const [epoch, next, config] = await Promise.all([
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "epochs", args: [epochId] }),
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "epochs", args: [epochId + 1n] }),
      read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "poolConfig" }),
    ]);
    const [cutoff, , , depositAssets, , redeemShares] = epoch;
    const [, , , nextDeposits, , nextRedeems] = next;
    if (now < cutoff) return;
    // Epochs without requests wait: nobody is owed a price, and settling costs gas.
    if (depositAssets === 0n && redeemShares === 0n && nextDeposits === 0n && nextRedeems === 0n) return;
    const [, epochPriceWait] = config;
    const fillRoundIds: bigint[] = [];
    const previousRoundIds: bigint[] = [];
    for (const market of markets) {
      const anchor = await read.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "anchorRounds", args: [epochId, market.marketId] });
      const proof = await findFirstRoundAfter(this.#client, market.config.feed.aggregator, anchor, cutoff);
      if (proof !== undefined) {
        fillRoundIds.push(proof.round.roundId);
        previousRoundIds.push(proof.previousRoundId);
      } else if (now > cutoff + BigInt(epochPriceWait)) {
        fillRoundIds.push(0n);
        previousRoundIds.push(0n);
      } else {
        return;
      }
    }
    const result = await this.#write("orders", `epoch:${epochId}`, {
      address: pool,
      abi: liquidityPoolAbi,
      functionName: "settleEpoch",
      args: [fillRoundIds, previousRoundIds],
    });
    if (typeof result === "string") return;
    this.metrics.inc("aeon_keeper_epochs_settled_total");
    this.#log.info("epoch settled", { epoch: epochId, hash: result.hash });
  }

  // -------------------------------------------------------------- funding

  async #settleFunding(market: AeonMarket): Promise<void> {
    const result = await this.#write("funding", `funding:${market.marketId}`, {
      address: this.#options.deployment.addresses.clearingEngine,
      abi: engineAbi,
      functionName: "settleFunding",
      args: [market.marketId],
    });
    if (typeof result === "string") return;
    this.metrics.inc("aeon_keeper_funding_settlements_total");
    this.#log.info("funding settled", { market: market.marketId, hash: result.hash });
  }

  // -------------------------------------------------------------- writes

  /**
   * Simulates, sends and waits for one write. Resolves to "skipped" when the work is not to be
   * done (the protocol's error: already done, not due) or the keeper is stopping or the item is
   * pausing, and to "failed" on any other failure (counted; the item pauses for a doubling number
   * of ticks).
   */
  async #write<const abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">>(
    job: KeeperJob,
    item: string,
    call: ContractWrite<abi, fn>,
  ): Promise<WriteResult | "skipped" | "failed"> {
    if (this.#stopping.signal.aborted) return "skipped";
    const failure = this.#failures.get(item);
    // Liquidations never pause: in a crash the next pass must try again at once.
    if (failure !== undefined && failure.retryAtTick > this.#tickCount && job !== "liquidations") return "skipped";
    try {
      const result = await sendContractWrite(this.#client, call);
      this.#failures.delete(item);
      this.metrics.inc("aeon_keeper_transactions_total", 1, { job });
      return result;
    } catch (error) {
      // A starved feed read means the gas limit was short, not that the work is done.
      if (error instanceof AeonError && error.errorName !== "InsufficientGasForFeedCall") {
        this.metrics.inc("aeon_keeper_skipped_total", 1, { job });
        this.#log.debug("skipped", { job, item, reason: error.errorName });
        return "skipped";
      }
      // Whatever happened to the transaction (dropped, never mined, refused), the node's pending
      // count is the truth for the next one: a dropped transaction must not leave a nonce gap.
      this.#signer.resetNonce();
      const count = (failure?.count ?? 0) + 1;
      this.#failures.set(item, { count, retryAtTick: this.#tickCount + Math.min(2 ** (count - 1), 64) });
      this.metrics.inc("aeon_keeper_errors_total", 1, { job });
      this.#log.warn("write failed", { job, item, failures: count, error: errorMessage(error) });
      return "failed";
    }
  }

  async #guard(job: KeeperJob, work: () => Promise<void>): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    try {
      await work();
    } catch (error) {
      this.metrics.inc("aeon_keeper_errors_total", 1, { job });
      this.#log.warn("job failed", { job, error: errorMessage(error) });
    }
  }

  // -------------------------------------------------------------- checkpoint

  async #loadCheckpoint(): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    const file = this.#options.checkpointFile;
    if (file === undefined) return;
    const saved = (await readCheckpoint(file)) as CheckpointV1 | undefined;
    if (saved === undefined) {
      this.#log.info("no checkpoint: scanning from the deployment block", { file, fromBlock: this.#lastProcessedBlock + 1n });
      return;
    }
    const { deployment } = this.#options;
    if (saved.version !== 1 || saved.chainId !== deployment.chainId || saved.engine.toLowerCase() !== deployment.addresses.clearingEngine.toLowerCase()) {
      this.#log.warn("checkpoint is for another deployment: ignored", { file });
      return;
    }
    if (this.#jobs.has("liquidations") && !saved.jobs.includes("liquidations")) {
      this.#log.warn("checkpoint was written without the liquidations job: rescanning from the deployment block", { file });
      return;
    }
    const block = await this.#publicClient.getBlock({ blockNumber: saved.lastProcessedBlock }).catch(() => undefined);
    if (block?.hash !== saved.lastProcessedBlockHash) {
      this.#log.warn("checkpoint does not match this chain (reset or reorganized): rescanning from the deployment block", {
        file,
        block: saved.lastProcessedBlock,
      });
      return;
    }
    this.#lastProcessedBlock = saved.lastProcessedBlock;
    for (const [accountId, tracked] of saved.accounts) this.#accounts.set(accountId, tracked);
    for (const accountId of saved.dirtyAccounts) this.#dirtyAccounts.add(accountId);
    for (const order of saved.conditionalOrders) this.#conditionals.set(order.key, { ...order });
    this.#log.info("resumed from checkpoint", { file, fromBlock: saved.lastProcessedBlock + 1n, accounts: saved.accounts.length });
  }

  async #saveCheckpoint(): Promise<void> {
    const file = this.#options.checkpointFile;
    if (file === undefined || !this.#loaded || this.#lastProcessedBlock < 0n) return;
    const block = await this.#publicClient.getBlock({ blockNumber: this.#lastProcessedBlock });
    if (block.hash === null) return;
    const checkpoint: CheckpointV1 = {
      version: 1,
      chainId: this.#options.deployment.chainId,
      engine: this.#options.deployment.addresses.clearingEngine,
      lastProcessedBlock: this.#lastProcessedBlock,
      lastProcessedBlockHash: block.hash,
      jobs: [...this.#jobs],
      accounts: [...this.#accounts],
      dirtyAccounts: [...this.#dirtyAccounts],
      conditionalOrders: [...this.#conditionals.values()],
    };
    await writeCheckpoint(file, checkpoint);
  }
}
