/**
 * What the local exchange reports, read from the chain and independent of the keepers' own
 * statistics: activity counted from the protocol's events, the liquidation watch behind
 * `missedLiquidations`, and the final summary.
 */
import { type Address, type PublicClient, parseEventLogs } from "viem";
import { type AeonEvent, type AeonPool, aeonEventAbi, engineAbi } from "../../sdk/src/index.js";

const WAD_NUMBER = 1e18;

/** WAD to a decimal number (display and summary: USD amounts keep 18 decimals' worth of sense in a double). */
export function wadToNumber(value: bigint): number {
  // Split to keep precision above 2^53 wei.
  const whole = value / 10n ** 18n;
  const fraction = value % 10n ** 18n;
  return Number(whole) + Number(fraction) / WAD_NUMBER;
}

// ---------------------------------------------------------------- events

/** Activity counted from events since the exchange started. */
export interface ActivityCounts {
  ordersCreated: number;
  ordersExecuted: number;
  ordersCancelled: number;
  ordersTriggered: number;
  fundingSettlements: number;
  liquidations: number;
  /** Sum of `BadDebt.shortfall` (WAD USD). */
  badDebt: bigint;
  epochsSettled: number;
}

export interface EventCounter {
  readonly counts: ActivityCounts;
  /** Reads the logs mined since the last poll (through `toBlock`, default the latest) and counts them; returns the new events. */
  poll(toBlock?: bigint): Promise<readonly AeonEvent[]>;
}

/** Counts the engine's, order book's and pool's events from `fromBlock` on. */
export function createEventCounter(publicClient: PublicClient, contracts: readonly Address[], fromBlock: bigint): EventCounter {
  const counts: ActivityCounts = {
    ordersCreated: 0,
    ordersExecuted: 0,
    ordersCancelled: 0,
    ordersTriggered: 0,
    fundingSettlements: 0,
    liquidations: 0,
    badDebt: 0n,
    epochsSettled: 0,
  };
  let next = fromBlock;
  // Polls do not overlap: a slow one would otherwise count a range twice.
  let running: Promise<readonly AeonEvent[]> = Promise.resolve([]);

  async function pollOnce(toBlock: bigint | undefined): Promise<readonly AeonEvent[]> {
    const latest = toBlock ?? (await publicClient.getBlockNumber());
    if (latest < next) return [];
    const logs = await publicClient.getLogs({ address: [...contracts], fromBlock: next, toBlock: latest });
    next = latest + 1n;
    const events = parseEventLogs({ abi: aeonEventAbi, logs, strict: true }) as AeonEvent[];
    for (const event of events) count(event);
    return events;
  }

  function count(event: AeonEvent): void {
    switch (event.eventName) {
      case "OrderCreated":
        counts.ordersCreated++;
        break;
      case "OrderExecuted":
        counts.ordersExecuted++;
        break;
      case "OrderCancelled":
        counts.ordersCancelled++;
        break;
      case "OrderTriggered":
        counts.ordersTriggered++;
        break;
      case "FundingSettled":
        counts.fundingSettlements++;
        break;
      case "Liquidated":
        counts.liquidations++;
        break;
      case "BadDebt":
        counts.badDebt += event.args.shortfall;
        break;
      case "EpochSettled":
        counts.epochsSettled++;
        break;
      default:
        break;
    }
  }

  return {
    counts,
    poll(toBlock) {
      running = running.then(
        () => pollOnce(toBlock),
        () => pollOnce(toBlock),
      );
      return running;
    },
  };
}

// ---------------------------------------------------------------- liquidation watch

/**
 * After each price update, reads every watched account's liquidatable flag at that update's
 * block. An account that is still liquidatable at `missedAfter` consecutive checks (by default
 * 3: when it became so and after two more price updates) counts once as a missed liquidation;
 * its streak ends when it is healthy (or liquidated) again.
 */
export interface LiquidationWatch {
  /** Accounts liquidatable at the last check. */
  readonly liquidatableNow: number;
  /** Streaks of more than two price updates. */
  readonly missed: number;
  /** The longest streak seen, in checks. */
  readonly longestStreak: number;
  /** Accounts of the missed streaks, for the log. */
  readonly missedAccounts: ReadonlySet<number>;
  check(accountIds: readonly number[], blockNumber: bigint): Promise<{ newlyMissed: readonly number[] }>;
}

/**
 * The streak bookkeeping of the watch, apart from the chain: `observe` takes one check's flags and
 * returns the accounts whose streak just reached `missedAfter`.
 */
export function createStreakCounter(missedAfter: number): {
  readonly missed: () => number;
  /** The most consecutive checks any account was liquidatable at: how close the keepers came to a miss. */
  readonly longest: () => number;
  observe(flags: ReadonlyMap<number, boolean>): number[];
} {
  const streaks = new Map<number, number>();
  let missed = 0;
  let longest = 0;
  return {
    missed: () => missed,
    longest: () => longest,
    observe(flags) {
      const newlyMissed: number[] = [];
      for (const [accountId, liquidatable] of flags) {
        if (!liquidatable) {
          streaks.delete(accountId);
          continue;
        }
        const streak = (streaks.get(accountId) ?? 0) + 1;
        streaks.set(accountId, streak);
        longest = Math.max(longest, streak);
        if (streak === missedAfter) {
          missed++;
          newlyMissed.push(accountId);
        }
      }
      // An account missing from a check (not watched any more) ends its streak.
      for (const accountId of streaks.keys()) if (!flags.has(accountId)) streaks.delete(accountId);
      return newlyMissed;
    },
  };
}

export function createLiquidationWatch(publicClient: PublicClient, engine: Address, missedAfter = 3): LiquidationWatch {
  const streaks = createStreakCounter(missedAfter);
  const missedAccounts = new Set<number>();
  let liquidatableNow = 0;
  return {
    get liquidatableNow() {
      return liquidatableNow;
    },
    get missed() {
      return streaks.missed();
    },
    get longestStreak() {
      return streaks.longest();
    },
    missedAccounts,
    async check(accountIds, blockNumber) {
      const flags = await Promise.all(
        accountIds.map(async (accountId) => {
          const [, liquidatable] = await publicClient.readContract({
            address: engine,
            abi: engineAbi,
            functionName: "accountHealth",
            args: [accountId],
            blockNumber,
          });
          return [accountId, liquidatable] as const;
        }),
      );
      liquidatableNow = flags.filter(([, liquidatable]) => liquidatable).length;
      const newlyMissed = streaks.observe(new Map(flags));
      for (const accountId of newlyMissed) missedAccounts.add(accountId);
      return { newlyMissed };
    },
  };
}

// ---------------------------------------------------------------- summary

/** The `--json` summary. USD amounts are decimal numbers. */
export interface ExchangeSummary {
  readonly ordersExecuted: number;
  readonly fundingSettlements: number;
  readonly liquidations: number;
  readonly badDebtUsd: number;
  readonly poolValueUsd: number;
  readonly insuranceFundUsd: number;
  readonly missedLiquidations: number;
  /** The most price updates in a row an account was seen liquidatable at (1: always liquidated before the next update). */
  readonly longestLiquidatableStreak: number;
  readonly ordersCreated: number;
  readonly ordersCancelled: number;
  readonly ordersTriggered: number;
  readonly epochsSettled: number;
  readonly sharePriceUsd: number;
  readonly priceUpdates: number;
  readonly simulatedHours: number;
  readonly realSeconds: number;
  readonly scenario: string;
  readonly seed: number;
  readonly speed: number;
  /** The keeper jobs that ran. */
  readonly keepers: readonly string[];
  /** Each keeper's own counters, by job (the fields above come from the chain's events instead). */
  readonly keeperStats: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly traderActions: number;
  readonly refusals: Readonly<Record<string, number>>;
  readonly finalPrices: Readonly<Record<string, number>>;
}

export interface SummaryInput {
  readonly counts: ActivityCounts;
  readonly pool: AeonPool;
  readonly missedLiquidations: number;
  readonly longestLiquidatableStreak: number;
  readonly priceUpdates: number;
  readonly simulatedSeconds: number;
  readonly realSeconds: number;
  readonly scenario: string;
  readonly seed: number;
  readonly speed: number;
  readonly keepers: readonly string[];
  readonly keeperStats: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly traderActions: number;
  readonly refusals: ReadonlyMap<string, number>;
  readonly finalPrices: Readonly<Record<string, number>>;
}

export function buildSummary(input: SummaryInput): ExchangeSummary {
  const { counts, pool } = input;
  return {
    ordersExecuted: counts.ordersExecuted,
    fundingSettlements: counts.fundingSettlements,
    liquidations: counts.liquidations,
    badDebtUsd: wadToNumber(counts.badDebt),
    // The pool's net value: cash and receivables less what it owes traders (their PnL).
    poolValueUsd: wadToNumber(pool.baseValue - pool.tradersPnl),
    insuranceFundUsd: wadToNumber(pool.insuranceFund),
    missedLiquidations: input.missedLiquidations,
    longestLiquidatableStreak: input.longestLiquidatableStreak,
    ordersCreated: counts.ordersCreated,
    ordersCancelled: counts.ordersCancelled,
    ordersTriggered: counts.ordersTriggered,
    epochsSettled: counts.epochsSettled,
    sharePriceUsd: Number(pool.sharePrice) / 1e6,
    priceUpdates: input.priceUpdates,
    simulatedHours: round(input.simulatedSeconds / 3600, 2),
    realSeconds: round(input.realSeconds, 1),
    scenario: input.scenario,
    seed: input.seed,
    speed: input.speed,
    keepers: input.keepers,
    keeperStats: input.keeperStats,
    traderActions: input.traderActions,
    refusals: Object.fromEntries(input.refusals),
    finalPrices: input.finalPrices,
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
