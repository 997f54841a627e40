/**
 * Real-network presets: the settlement token and the Chainlink feeds Aeon uses on Arbitrum One
 * and Base, and the per-feed parameters that follow from them (heartbeat, deviation threshold,
 * and margin tiers that satisfy `mmr >= liquidationFee + 2 * deviation + gapBuffer + kMax`).
 *
 * Addresses are Chainlink's proxy addresses (docs.chain.link, "Price Feed Contract Addresses"
 * and "L2 Sequencer Uptime Feeds") and Circle's native USDC. Feed heartbeats and deviation
 * thresholds change over time: check the feed pages before a deployment.
 */
import type { Address } from "viem";
import { type AeonParameters, type MarginTier, type MarketSymbol, defaultParameters, wad } from "./parameters.js";

export interface FeedPreset {
  readonly address: Address;
  /** Seconds between forced updates; the engine's staleness limit adds a margin to it. */
  readonly heartbeat: number;
  /** Deviation threshold that triggers an update (WAD fraction). */
  readonly deviation: bigint;
}

export interface NetworkPreset {
  readonly chainId: number;
  /** Native USDC (6 decimals), the settlement token. */
  readonly usdc: Address;
  readonly feeds: Readonly<Record<MarketSymbol, FeedPreset>>;
  /**
   * USDC / USD. Not read by the contracts yet: USDC is valued at 1 USD; recorded for the
   * collateral-haircut work of SPEC section 8.
   */
  readonly usdcUsdFeed: Address;
  /** L2 sequencer-uptime feed (answer 0: up, 1: down). */
  readonly sequencerUptimeFeed: Address;
  /** Seconds after the sequencer comes back during which prices are not trusted. */
  readonly sequencerGracePeriod: number;
}

export const networkPresets = {
  arbitrumOne: {
    chainId: 42161,
    usdc: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    feeds: {
      ETH: { address: "0x639Fe6ab55C921f74e7fac1ee960C0B6293ba612", heartbeat: 86_400, deviation: wad("0.0005") },
      BTC: { address: "0x6ce185860a4963106506C203335A2910413708e9", heartbeat: 86_400, deviation: wad("0.0005") },
    },
    usdcUsdFeed: "0x50834F3163758fcC1Df9973b6e91f0F0F0434aD3",
    sequencerUptimeFeed: "0xFdB631F5EE196F0ed6FAa767959853A9F217697D",
    sequencerGracePeriod: 3600,
  },
  base: {
    chainId: 8453,
    usdc: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    feeds: {
      ETH: { address: "0x71041dddad3595F9CEd3DcCFBe3D1F4b0a16Bb70", heartbeat: 1_200, deviation: wad("0.0015") },
      BTC: { address: "0x64c911996D3c6aC71f9b455B1E8E7266BcbD848F", heartbeat: 1_200, deviation: wad("0.0015") },
    },
    usdcUsdFeed: "0x7e860098F58bBFC8648a4311b374B1D669a2bc6B",
    sequencerUptimeFeed: "0xBCF85224fc0756B9Fa45aA7892530B47e10b6433",
    sequencerGracePeriod: 3600,
  },
} as const satisfies Record<string, NetworkPreset>;

export type PresetNetwork = keyof typeof networkPresets;

/** The preset of a Hardhat network name, if there is one. */
export function presetFor(networkName: string): NetworkPreset | undefined {
  return Object.hasOwn(networkPresets, networkName) ? networkPresets[networkName as PresetNetwork] : undefined;
}

/**
 * The SPEC defaults adjusted to a network's feeds: the staleness limit is the feed's heartbeat
 * plus 10%, the deviation is the feed's, and each tier's maintenance rate is raised, with the
 * initial rate kept at twice it, until `mmr >= liquidationFee + 2 * deviation + gapBuffer + kMax`.
 */
export function parametersFor(preset: NetworkPreset, base: AeonParameters = defaultParameters): AeonParameters {
  return {
    ...base,
    markets: base.markets.map((market) => {
      const feed = preset.feeds[market.symbol];
      const config = {
        ...market.config,
        feed: { ...market.config.feed, heartbeat: Math.ceil(feed.heartbeat * 1.1) },
        deviation: feed.deviation,
      };
      const floor = config.liquidationFee + 2n * config.deviation + config.gapBuffer + config.kMax;
      const tiers: MarginTier[] = market.tiers.map((tier) =>
        tier.mmr >= floor ? tier : { ...tier, mmr: floor, imr: tier.imr > 2n * floor ? tier.imr : 2n * floor },
      );
      return { ...market, config, tiers };
    }),
  };
}
