/**
 * Deploys the whole Aeon protocol with the parameters of `scripts/parameters.ts`.
 *
 * Library: `deployAeon(viem, options)` (used by the tests).
 * CLI:     `npx hardhat run scripts/deploy.ts --network <name>` writes `deployments/<name>.json`.
 *          On a local chain (chain id 31337) it deploys mock USDC and mock feeds; on Arbitrum One
 *          and Base it uses the presets of `scripts/networks.ts` (real USDC, Chainlink feeds and
 *          sequencer feed, parameters fitted to the feeds); AEON_USDC, AEON_FEED_<SYMBOL> and
 *          AEON_SEQUENCER_FEED override them, and other networks must set them.
 *
 * Order (the Solidity fixture's): vault, Governance, Liquidator and PoolValuation modules,
 * clearing engine, vault operator role for the engine, global config, order book, liquidity pool
 * (and its operator role), modules (order book and pool), markets with their tiers, per-market
 * order bounds, the pool's first epoch, the read-only lens. With mocks, the admin seeds the pool
 * through that epoch.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Address, Hash } from "viem";
import type {
  ConstructorArgs,
  ContractReturnType,
  HardhatViemHelpers,
  PublicClient,
  WalletClient,
} from "@nomicfoundation/hardhat-viem/types";
import type { StringWithArtifactContractNamesAutocompletion } from "hardhat/types/artifacts";
import {
  type AeonParameters,
  type MarketConfig,
  type MarketSymbol,
  defaultParameters,
  toJsonValue,
} from "./parameters.js";
import { parametersFor, presetFor } from "./networks.js";

/** Addresses that exist before the deployment (real networks). Omit to deploy mocks. */
export interface ExternalDependencies {
  readonly usdc: Address;
  readonly feeds: Readonly<Record<MarketSymbol, Address>>;
  /** The L2 sequencer-uptime feed and its grace period (seconds); omit on an L1. */
  readonly sequencer?: { readonly feed: Address; readonly gracePeriod: number };
}

export interface DeployAeonOptions {
  /** Deploys and receives every admin role. Default: the first wallet client. */
  readonly admin?: WalletClient;
  /** Default: `defaultParameters` (the SPEC defaults). */
  readonly parameters?: AeonParameters;
  /** Existing USDC and Chainlink feeds. Omitted: mock USDC and mock feeds are deployed. */
  readonly external?: ExternalDependencies;
  /**
   * Deposits `parameters.mocks.poolSeedUsdc` into the pool through its first epoch so that
   * positions can open (the reserve check needs a positive pool value). Only with mocks (it moves
   * the local chain's time forward). Default: true with mocks.
   */
  readonly seedPool?: boolean;
}

export interface AeonContracts {
  readonly vault: ContractReturnType<"Vault">;
  readonly engine: ContractReturnType<"ClearingEngine">;
  /** The engine's address with the Governance module's ABI (the engine delegatecalls it). */
  readonly governance: ContractReturnType<"Governance">;
  /** The engine's address with the Liquidator module's ABI (the engine delegatecalls it). */
  readonly liquidator: ContractReturnType<"Liquidator">;
  readonly governanceModule: ContractReturnType<"Governance">;
  readonly liquidatorModule: ContractReturnType<"Liquidator">;
  readonly orderBook: ContractReturnType<"OrderBook">;
  readonly pool: ContractReturnType<"LiquidityPool">;
  readonly lens: ContractReturnType<"AeonLens">;
}

/** Local networks only. */
export interface AeonMocks {
  readonly usdc: ContractReturnType<"MockUSDC">;
  readonly feeds: Readonly<Record<MarketSymbol, ContractReturnType<"MockAggregator">>>;
}

export interface AeonAddresses {
  readonly usdc: Address;
  readonly vault: Address;
  readonly clearingEngine: Address;
  readonly governanceModule: Address;
  readonly liquidatorModule: Address;
  readonly poolValuationModule: Address;
  readonly orderBook: Address;
  readonly lens: Address;
  /** Until LiquidityPool exists: the admin, which stands in for the pool. */
  readonly liquidityPool: Address;
  readonly feeds: Readonly<Record<MarketSymbol, Address>>;
}

export interface AeonDeployment {
  readonly chainId: number;
  /** Block of the first deployment transaction (where indexers start). */
  readonly deploymentBlock: bigint;
  readonly admin: Address;
  readonly contracts: AeonContracts;
  readonly mocks: AeonMocks | undefined;
  readonly addresses: AeonAddresses;
  /** Market id of each symbol. */
  readonly marketIds: Readonly<Record<MarketSymbol, number>>;
  readonly parameters: AeonParameters;
}

/** Deploys and wires the protocol; resolves once every transaction has succeeded. */
export async function deployAeon(viem: HardhatViemHelpers, options: DeployAeonOptions = {}): Promise<AeonDeployment> {
  const parameters = options.parameters ?? defaultParameters;
  const publicClient = await viem.getPublicClient();
  const admin = options.admin ?? (await firstWallet(viem));
  const adminAddress = admin.account.address;
  const client = { public: publicClient, wallet: admin };
  let firstBlock: bigint | undefined;

  async function confirm(what: string, hash: Hash): Promise<void> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`deployAeon: ${what} reverted (tx ${hash})`);
    firstBlock ??= receipt.blockNumber;
  }

  async function deploy<Name extends StringWithArtifactContractNamesAutocompletion>(
    name: Name,
    args: ConstructorArgs<Name>,
  ): Promise<ContractReturnType<Name>> {
    const { contract, deploymentTransaction } = await viem.sendDeploymentTransaction(name, args, { client });
    await confirm(`deploy ${name}`, deploymentTransaction.hash);
    return contract;
  }

  // Mocks (local networks) or the existing token and feeds.
  let mocks: AeonMocks | undefined;
  let usdcAddress: Address;
  let feedAddresses: Record<MarketSymbol, Address>;
  if (options.external === undefined) {
    const usdc = await deploy("MockUSDC", []);
    const feeds: Partial<Record<MarketSymbol, ContractReturnType<"MockAggregator">>> = {};
    for (const market of parameters.markets) {
      const feed = await deploy("MockAggregator", [market.config.feed.decimals, market.feedDescription]);
      await confirm(`${market.symbol} feed setPrice`, await feed.write.setPrice([market.mockInitialAnswer]));
      feeds[market.symbol] = feed;
    }
    const completeFeeds = requireAllMarkets(parameters, feeds);
    mocks = { usdc, feeds: completeFeeds };
    usdcAddress = usdc.address;
    feedAddresses = mapMarkets(parameters, (symbol) => completeFeeds[symbol].address);
  } else {
    usdcAddress = options.external.usdc;
    feedAddresses = { ...options.external.feeds };
  }

  // Core.
  const vault = await deploy("Vault", [usdcAddress, adminAddress]);
  const governanceModule = await deploy("Governance", [vault.address]);
  const liquidatorModule = await deploy("Liquidator", [vault.address]);
  const poolValuationModule = await deploy("PoolValuation", [vault.address]);
  const engine = await deploy("ClearingEngine", [
    vault.address,
    adminAddress,
    governanceModule.address,
    liquidatorModule.address,
    poolValuationModule.address,
  ]);
  const governance = await viem.getContractAt("Governance", engine.address, { client });
  const liquidator = await viem.getContractAt("Liquidator", engine.address, { client });

  const operatorRole = await vault.read.OPERATOR_ROLE();
  await confirm("vault.grantRole(OPERATOR, engine)", await vault.write.grantRole([operatorRole, engine.address]));
  await confirm("setGlobalConfig", await governance.write.setGlobalConfig([parameters.global]));
  const sequencer = options.external?.sequencer;
  if (sequencer !== undefined) {
    await confirm("setSequencer", await governance.write.setSequencer([sequencer.feed, sequencer.gracePeriod]));
  }

  const orderBook = await deploy("OrderBook", [engine.address, parameters.orderConfig]);
  const pool = await deploy("LiquidityPool", [engine.address, vault.address, parameters.poolConfig]);
  await confirm("vault.grantRole(OPERATOR, pool)", await vault.write.grantRole([operatorRole, pool.address]));
  await confirm("setModules", await governance.write.setModules([orderBook.address, pool.address]));

  // Markets, in parameter order: the index is the market id.
  const marketIds: Partial<Record<MarketSymbol, number>> = {};
  for (const market of parameters.markets) {
    const config: MarketConfig = {
      ...market.config,
      feed: { ...market.config.feed, aggregator: feedAddresses[market.symbol] },
    };
    const marketId = await engine.read.marketCount();
    await confirm(`listMarket ${market.symbol}`, await governance.write.listMarket([config, market.tiers]));
    await confirm(
      `setMarketOrderConfig ${market.symbol}`,
      await orderBook.write.setMarketOrderConfig([marketId, market.orderBounds]),
    );
    marketIds[market.symbol] = marketId;
  }
  await confirm("pool.start", await pool.write.start());
  const lens = await deploy("AeonLens", [engine.address, orderBook.address]);

  if (mocks !== undefined && (options.seedPool ?? true) && parameters.mocks.poolSeedUsdc > 0n) {
    await seedPool({ viem, parameters, mocks, pool, vault, adminAddress, confirm });
  }
  if (mocks !== undefined && parameters.mocks.insuranceSeedUsdc > 0n) {
    const amount = parameters.mocks.insuranceSeedUsdc;
    await confirm("mint insurance seed", await mocks.usdc.write.mint([adminAddress, amount]));
    await confirm("approve insurance seed", await mocks.usdc.write.approve([vault.address, amount]));
    await confirm("fundInsurance", await governance.write.fundInsurance([amount]));
  }

  if (firstBlock === undefined) throw new Error("deployAeon: no transaction was sent");
  return {
    chainId: await publicClient.getChainId(),
    deploymentBlock: firstBlock,
    admin: adminAddress,
    contracts: { vault, engine, governance, liquidator, governanceModule, liquidatorModule, orderBook, pool, lens },
    mocks,
    addresses: {
      usdc: usdcAddress,
      vault: vault.address,
      clearingEngine: engine.address,
      governanceModule: governanceModule.address,
      liquidatorModule: liquidatorModule.address,
      poolValuationModule: poolValuationModule.address,
      orderBook: orderBook.address,
      liquidityPool: pool.address,
      lens: lens.address,
      feeds: feedAddresses,
    },
    marketIds: requireAllMarkets(parameters, marketIds),
    parameters,
  };
}

interface SeedContext {
  readonly viem: HardhatViemHelpers;
  readonly parameters: AeonParameters;
  readonly mocks: AeonMocks;
  readonly pool: ContractReturnType<"LiquidityPool">;
  readonly vault: ContractReturnType<"Vault">;
  readonly adminAddress: Address;
  readonly confirm: (what: string, hash: Hash) => Promise<void>;
}

/**
 * Seeds a local pool the way any LP enters: a deposit request, the epoch's cutoff (time is moved
 * forward on the local chain), a round on every mock feed after it, settlement with those rounds,
 * and the claim. Positions need a positive pool value to open (the reserve check).
 */
async function seedPool(ctx: SeedContext): Promise<void> {
  const { viem, parameters, mocks, pool, vault, adminAddress, confirm } = ctx;
  const amount = parameters.mocks.poolSeedUsdc;
  await confirm("mint pool seed", await mocks.usdc.write.mint([adminAddress, amount]));
  await confirm("approve pool seed", await mocks.usdc.write.approve([vault.address, amount]));
  await confirm("requestDeposit", await pool.write.requestDeposit([amount, adminAddress, adminAddress]));
  const testClient = await viem.getTestClient();
  await testClient.increaseTime({ seconds: Number(parameters.poolConfig.epochLength) + 1 });
  await testClient.mine({ blocks: 1 });
  const rounds: bigint[] = [];
  const previous: bigint[] = [];
  for (const market of parameters.markets) {
    const feed = mocks.feeds[market.symbol];
    const [latest] = await feed.read.latestRoundData();
    await confirm(`post round ${market.symbol}`, await feed.write.setPrice([market.mockInitialAnswer]));
    const [posted] = await feed.read.latestRoundData();
    previous.push(latest);
    rounds.push(posted);
  }
  await confirm("settleEpoch", await pool.write.settleEpoch([rounds, previous]));
  const claimable = await pool.read.claimableDepositRequest([0n, adminAddress]);
  await confirm("claim pool shares", await pool.write.deposit([claimable, adminAddress, adminAddress]));
}

async function firstWallet(viem: HardhatViemHelpers): Promise<WalletClient> {
  const [wallet] = await viem.getWalletClients();
  if (wallet === undefined) throw new Error("deployAeon: the network has no account; pass options.admin");
  return wallet;
}

function mapMarkets<T>(parameters: AeonParameters, f: (symbol: MarketSymbol) => T): Record<MarketSymbol, T> {
  const out: Partial<Record<MarketSymbol, T>> = {};
  for (const market of parameters.markets) out[market.symbol] = f(market.symbol);
  return requireAllMarkets(parameters, out);
}

/** Narrows a per-symbol map once every listed market has an entry. */
function requireAllMarkets<T>(parameters: AeonParameters, map: Partial<Record<MarketSymbol, T>>): Record<MarketSymbol, T> {
  const symbols: readonly MarketSymbol[] = ["ETH", "BTC"];
  for (const symbol of symbols) {
    if (map[symbol] === undefined) {
      throw new Error(`deployAeon: market ${symbol} is missing from parameters.markets (${parameters.markets.length} listed)`);
    }
  }
  return map as Record<MarketSymbol, T>;
}

/** The content of `deployments/<network>.json`. */
export function deploymentRecord(networkName: string, deployment: AeonDeployment): unknown {
  return toJsonValue({
    network: networkName,
    chainId: deployment.chainId,
    deploymentBlock: deployment.deploymentBlock,
    admin: deployment.admin,
    addresses: deployment.addresses,
    marketIds: deployment.marketIds,
    mocks: deployment.mocks !== undefined,
    parameters: deployment.parameters,
  });
}

const LOCAL_CHAIN_ID = 31337;

/**
 * A real network's token, feeds and sequencer: the preset of `scripts/networks.ts` for its name,
 * each address overridable with AEON_USDC, AEON_FEED_<SYMBOL> and AEON_SEQUENCER_FEED; networks
 * without a preset must set them all.
 */
function externalFor(networkName: string): { external: ExternalDependencies; parameters: AeonParameters } {
  const preset = presetFor(networkName);
  const read = (name: string, fallback: Address | undefined): Address => {
    const value = process.env[name] ?? fallback;
    if (value === undefined || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
      throw new Error(`deploy: set ${name} to an address (${networkName} has no preset in scripts/networks.ts)`);
    }
    return value as Address;
  };
  const sequencerFeed = process.env.AEON_SEQUENCER_FEED ?? preset?.sequencerUptimeFeed;
  return {
    external: {
      usdc: read("AEON_USDC", preset?.usdc),
      feeds: { ETH: read("AEON_FEED_ETH", preset?.feeds.ETH.address), BTC: read("AEON_FEED_BTC", preset?.feeds.BTC.address) },
      sequencer:
        sequencerFeed === undefined
          ? undefined
          : { feed: read("AEON_SEQUENCER_FEED", preset?.sequencerUptimeFeed), gracePeriod: preset?.sequencerGracePeriod ?? 3600 },
    },
    parameters: preset === undefined ? defaultParameters : parametersFor(preset),
  };
}

async function main(): Promise<void> {
  const { network } = await import("hardhat");
  const connection = await network.create();
  const publicClient: PublicClient = await connection.viem.getPublicClient();
  const local = (await publicClient.getChainId()) === LOCAL_CHAIN_ID;
  const deployment = await deployAeon(connection.viem, local ? {} : externalFor(connection.networkName));
  const file = path.join("deployments", `${connection.networkName}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(deploymentRecord(connection.networkName, deployment), null, 2)}\n`);
  console.log(`Aeon deployed on ${connection.networkName} (chain ${deployment.chainId}) from block ${deployment.deploymentBlock}`);
  for (const [name, address] of Object.entries(deployment.addresses)) {
    console.log(`  ${name}: ${typeof address === "string" ? address : JSON.stringify(address)}`);
  }
  console.log(`Wrote ${file}`);
  await connection.close();
}

/** True when this file is the script `hardhat run` was given (not when a test imports it). */
function isCliEntry(): boolean {
  const self = fileURLToPath(import.meta.url);
  return process.argv.slice(2).some((arg) => path.resolve(arg) === self);
}

if (isCliEntry()) {
  await main();
}
