/**
 * The local exchange's clock: simulated time runs `speed` times faster than real time. Each
 * update moves the chain's time forward by one step and posts a new round on every mock feed
 * with the price path's value at that time.
 *
 * A step is fixed in simulated seconds, so the posted prices are the same on any machine; when
 * the machine cannot keep up, updates come later and the simulation runs slower instead of
 * skipping time (a skipped stretch would let rounds go stale and orders expire).
 */
import { type Address, type PublicClient, type TestClient, type WalletClient, parseAbi } from "viem";
import type { PricePath } from "./prices.js";
import { sleep } from "../keeper/runtime.js";

/** `MockAggregator.setPrice`: a new round observed now. */
const mockAggregatorAbi = parseAbi(["function setPrice(int256 answer) returns (uint80 roundId)"]);

/** A mock feed driven by the clock. */
export interface ClockFeed {
  readonly symbol: string;
  readonly address: Address;
  /** The feed's answer decimals (8 for USD feeds). */
  readonly decimals: number;
  readonly path: PricePath;
}

/** One price update: a round on every feed at one simulated time. */
export interface PriceUpdate {
  /** 1 for the first update. */
  readonly index: number;
  /** Simulated seconds since the start. */
  readonly simulatedSeconds: number;
  /** The block of the update's last round: read state "right after the update" there. */
  readonly blockNumber: bigint;
  readonly prices: Readonly<Record<string, number>>;
}

export interface PriceClockOptions {
  readonly publicClient: PublicClient;
  readonly testClient: TestClient;
  /** Posts the rounds (the mock feeds let anyone post; the deployer does here). */
  readonly poster: WalletClient;
  readonly feeds: readonly ClockFeed[];
  /** Simulated seconds per real second. */
  readonly speed: number;
  /** Simulated seconds between updates. */
  readonly stepSeconds: number;
  /** Chain time (unix seconds) at simulated time 0. */
  readonly startTime: bigint;
  /** Called after each update, before the next one is scheduled (the liquidation watch). */
  readonly onUpdate: (update: PriceUpdate) => Promise<void>;
}

export interface PriceClock {
  /** Updates so far. */
  readonly updates: number;
  readonly simulatedSeconds: number;
  /** The latest posted price of each feed. */
  readonly prices: Readonly<Record<string, number>>;
  /** Posts updates until the signal aborts; rejects on a failed update (the exchange cannot go on without prices). */
  run(signal: AbortSignal): Promise<void>;
}

/** Digits of a price kept in a feed answer: a double is exact to about 15 significant digits. */
const ANSWER_PRECISION = 6;

/** A price as a feed answer: `price * 10^decimals`, rounded to 6 decimals of the price. */
export function toAnswer(price: number, decimals: number): bigint {
  if (decimals <= ANSWER_PRECISION) return BigInt(Math.round(price * 10 ** decimals));
  return BigInt(Math.round(price * 10 ** ANSWER_PRECISION)) * 10n ** BigInt(decimals - ANSWER_PRECISION);
}

export function createPriceClock(options: PriceClockOptions): PriceClock {
  const prices: Record<string, number> = {};
  for (const feed of options.feeds) prices[feed.symbol] = feed.path(0);
  let updates = 0;
  let simulatedSeconds = 0;
  const realIntervalMs = (options.stepSeconds / options.speed) * 1000;

  async function post(index: number): Promise<PriceUpdate> {
    const at = index * options.stepSeconds;
    const target = options.startTime + BigInt(at);
    const latest = await options.publicClient.getBlock();
    // Another user's transaction may already sit at a later second (each block adds one).
    const timestamp = target > latest.timestamp ? target : latest.timestamp + 1n;
    await options.testClient.setNextBlockTimestamp({ timestamp });
    let blockNumber = latest.number;
    const posted: Record<string, number> = {};
    for (const feed of options.feeds) {
      const price = feed.path(at);
      const hash = await options.poster.writeContract({
        address: feed.address,
        abi: mockAggregatorAbi,
        functionName: "setPrice",
        args: [toAnswer(price, feed.decimals)],
        account: options.poster.account ?? null,
        chain: options.poster.chain,
      });
      const receipt = await options.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`price clock: ${feed.symbol} setPrice reverted (tx ${hash})`);
      blockNumber = receipt.blockNumber;
      posted[feed.symbol] = price;
    }
    return { index, simulatedSeconds: at, blockNumber, prices: posted };
  }

  return {
    get updates() {
      return updates;
    },
    get simulatedSeconds() {
      return simulatedSeconds;
    },
    prices,
    async run(signal) {
      let due = performance.now() + realIntervalMs;
      while (!signal.aborted) {
        await sleep(Math.max(0, due - performance.now()), signal);
        if (signal.aborted) break;
        const update = await post(updates + 1);
        updates = update.index;
        simulatedSeconds = update.simulatedSeconds;
        Object.assign(prices, update.prices);
        await options.onUpdate(update);
        // Behind schedule: the next update waits a full interval rather than bunching up, so
        // that keepers always get the same real time between two updates.
        due = Math.max(due + realIntervalMs, performance.now() + realIntervalMs / 2);
      }
    },
  };
}
