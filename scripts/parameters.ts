/**
 * Aeon's deployment parameters: the SPEC defaults, in one object.
 *
 * This is the single TypeScript source of truth for what a deployment sets (the Solidity test
 * fixture `test/solidity/utils/EngineFixture.sol` keeps its own copy). Every value is in the
 * unit the contracts take: WAD (18 decimals) for prices, USD amounts and fractions, seconds for
 * durations, wei for native fees, the feed's decimals for mock answers.
 *
 * The struct types come from the compiled ABIs (run `npx hardhat build` first), so a changed
 * contract struct shows up here as a type error instead of a failed deployment.
 */
import type { ArtifactMap } from "hardhat/types/artifacts";
import type { ContractConstructorArgs, ContractFunctionArgs } from "viem";

type GovernanceAbi = ArtifactMap["Governance"]["abi"];
type OrderBookAbi = ArtifactMap["OrderBook"]["abi"];
type LiquidityPoolAbi = ArtifactMap["LiquidityPool"]["abi"];

/** `EngineBase.GlobalConfig`. */
export type GlobalConfig = ContractFunctionArgs<GovernanceAbi, "nonpayable", "setGlobalConfig">[0];
/** `EngineBase.MarketConfig`, feed address included. */
export type MarketConfig = ContractFunctionArgs<GovernanceAbi, "nonpayable", "listMarket">[0];
/** `EngineBase.MarginTier`. */
export type MarginTier = ContractFunctionArgs<GovernanceAbi, "nonpayable", "listMarket">[1][number];
/** `OrderBook.OrderConfig`. */
export type OrderConfig = ContractConstructorArgs<OrderBookAbi>[1];
/** `OrderBook.MarketOrderConfig`. */
export type MarketOrderConfig = ContractFunctionArgs<OrderBookAbi, "nonpayable", "setMarketOrderConfig">[1];

/** `LiquidityPool.PoolConfig`. */
export type PoolConfig = ContractConstructorArgs<LiquidityPoolAbi>[2];

/** The symbols of the markets listed at deployment, in market-id order. */
export type MarketSymbol = "ETH" | "BTC";

/** One market: its engine config (without the feed address, which the deployment supplies). */
export interface MarketParameters {
  readonly symbol: MarketSymbol;
  /** Description of the mock feed deployed on local networks ("ETH / USD"). */
  readonly feedDescription: string;
  /** First answer of the mock feed on local networks, in the feed's decimals. */
  readonly mockInitialAnswer: bigint;
  readonly config: Omit<MarketConfig, "feed"> & { readonly feed: Omit<MarketConfig["feed"], "aggregator"> };
  readonly tiers: readonly MarginTier[];
  readonly orderBounds: MarketOrderConfig;
}

export interface AeonParameters {
  readonly global: GlobalConfig;
  readonly orderConfig: OrderConfig;
  readonly poolConfig: PoolConfig;
  /** Listed in this order: the index is the market id. */
  readonly markets: readonly MarketParameters[];
  /** Local networks only. */
  readonly mocks: {
    /** Settlement-token units the admin deposits into the pool through its first epoch. */
    readonly poolSeedUsdc: bigint;
    /**
     * Settlement-token units the admin puts in the insurance fund. Sized by `npm run stress`: a
     * one-hour keeper outage during a 20% drop, or a 3-hour oracle stall that resumes 15% lower,
     * leaves bad debt of the order of the affected traders' collateral; 10% of the pool seed
     * covers both scenarios' crowd with room to spare.
     */
    readonly insuranceSeedUsdc: bigint;
  };
}

const WAD = 10n ** 18n;

/** Parts per WAD from a decimal string, exactly: `wad("0.0005")` = 5e14. */
export function wad(value: string): bigint {
  const [whole = "0", fraction = ""] = value.split(".");
  if (fraction.length > 18) throw new Error(`wad: more than 18 decimals in ${value}`);
  return BigInt(whole) * WAD + BigInt(fraction.padEnd(18, "0"));
}

const HOUR = 3600;

/** Feed, curve, fees, funding and borrowing shared by both markets (SPEC sections 3, 4, 5). */
function marketConfig(skewScale: bigint): MarketParameters["config"] {
  return {
    feed: {
      decimals: 8,
      heartbeat: HOUR,
      minPrice: wad("1"),
      maxPrice: wad("1000000"),
    },
    skewScale,
    maxOpenInterestUsd: wad("50000000"),
    kMax: wad("0.005"),
    takerFee: wad("0.0005"),
    makerFee: wad("0.0002"),
    // mmr >= liquidationFee + 2 * deviation + gapBuffer + kMax = 0.5% + 0.1% + 0.3% + 0.5% = 1.4%
    liquidationFee: wad("0.005"),
    deviation: wad("0.0005"),
    gapBuffer: wad("0.003"),
    fundingInterval: 8 * HOUR,
    interestRate: wad("0.0001"),
    fundingCap: wad("0.0075"),
    borrowFloor: wad("0.02"),
    borrowKink: wad("0.8"),
    borrowKinkRate: wad("0.1"),
    borrowMaxRate: wad("1"),
    closed: false,
  };
}

/** 35x up to 10M of open interest, then 20x, then 10x (mmr = imr / 2). */
const defaultTiers: readonly MarginTier[] = [
  { maxOpenInterestUsd: wad("10000000"), imr: wad("0.028572"), mmr: wad("0.014286") },
  { maxOpenInterestUsd: wad("30000000"), imr: wad("0.05"), mmr: wad("0.025") },
  { maxOpenInterestUsd: 2n ** 128n - 1n, imr: wad("0.1"), mmr: wad("0.05") },
];

const defaultOrderBounds: MarketOrderConfig = {
  minExecutionFee: 10n ** 14n, // 0.0001 native: covers a keeper's execution gas
  minNotionalUsd: wad("10"),
  maxSize: wad("1000000"),
};

/** The SPEC defaults. */
export const defaultParameters: AeonParameters = {
  global: {
    keeperRewardFloor: wad("5"),
    keeperRewardCap: wad("500"),
    minCollateral: wad("10"),
    keeperRewardShare: wad("0.2"),
    maxPnlFactor: wad("0.9"),
    lossHaircut: wad("0.5"),
    reserveFactor: wad("0.8"),
    lpFeeShare: wad("0.7"),
    insuranceFeeShare: wad("0.2"),
  },
  orderConfig: {
    maxOrderAge: HOUR,
    lateDelay: 60,
    marginBuffer: wad("0.01"),
    penaltyRate: wad("0.0005"),
    triggerRewardShare: wad("0.2"),
    expiryRewardShare: wad("0.1"),
  },
  poolConfig: {
    epochLength: HOUR,
    epochPriceWait: 15 * 60,
    depositFee: wad("0.001"),
    redeemFee: wad("0.001"),
    minDeposit: 10n ** 6n,
  },
  markets: [
    {
      symbol: "ETH",
      feedDescription: "ETH / USD",
      mockInitialAnswer: 3000n * 10n ** 8n,
      config: marketConfig(wad("1000000")),
      tiers: defaultTiers,
      orderBounds: defaultOrderBounds,
    },
    {
      symbol: "BTC",
      feedDescription: "BTC / USD",
      mockInitialAnswer: 60_000n * 10n ** 8n,
      config: marketConfig(wad("50000")),
      tiers: defaultTiers,
      orderBounds: defaultOrderBounds,
    },
  ],
  mocks: {
    poolSeedUsdc: 10_000_000n * 10n ** 6n,
    insuranceSeedUsdc: 1_000_000n * 10n ** 6n,
  },
};

/** JSON form: bigints as decimal strings, everything else as is. */
export function toJsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString(10);
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toJsonValue(inner)]));
  }
  return value;
}
