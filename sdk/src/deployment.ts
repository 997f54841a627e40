/**
 * Where the protocol lives on a chain: the content of `deployments/<network>.json`, validated.
 */
import { type Address, getAddress, isAddress } from "viem";

/** Contract addresses of one deployment. */
export interface AeonAddresses {
  /** The settlement token (USDC). */
  readonly usdc: Address;
  /** The collateral vault: the spender of every token approval and permit. */
  readonly vault: Address;
  /** The clearing engine; its Governance, Liquidator and PoolValuation modules run on this address. */
  readonly clearingEngine: Address;
  readonly orderBook: Address;
  readonly liquidityPool: Address;
  /** Read-only views (`AeonLens`). */
  readonly lens: Address;
  /** Chainlink feed of each market, by symbol. */
  readonly feeds: Readonly<Record<string, Address>>;
}

/** A deployment as the SDK needs it. */
export interface AeonDeployment {
  /** Network name the record was written for ("hardhat", "arbitrumOne"...). */
  readonly network: string;
  readonly chainId: number;
  /** Block of the first deployment transaction: where event scans start. */
  readonly deploymentBlock: bigint;
  readonly addresses: AeonAddresses;
  /** Market id of each symbol ("ETH" → 0). */
  readonly marketIds: Readonly<Record<string, number>>;
}

/** A deployment record that does not have the expected shape. */
export class AeonDeploymentError extends Error {
  override readonly name = "AeonDeploymentError";
  /** The path of the offending field ("addresses.vault"). */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(
      `Invalid deployment record: ${field} ${problem}.\n` +
        "Pass the JSON written by `npx hardhat run scripts/deploy.ts --network <name>` (deployments/<name>.json).",
    );
    this.field = field;
  }
}

const REQUIRED_ADDRESSES = ["usdc", "vault", "clearingEngine", "orderBook", "liquidityPool", "lens"] as const;

/**
 * Validates a parsed `deployments/<network>.json` (the output of `deploymentRecord`) and returns
 * it typed, addresses checksummed and the deployment block as a bigint.
 * @throws AeonDeploymentError naming the first field that is missing or malformed.
 */
export function loadDeployment(json: unknown): AeonDeployment {
  const root = record(json, "deployment");
  const network = root["network"];
  if (typeof network !== "string" || network === "") throw new AeonDeploymentError("network", "must be a network name");
  const chainId = root["chainId"];
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new AeonDeploymentError("chainId", `must be a positive integer (got ${show(chainId)})`);
  }
  const deploymentBlock = blockNumber(root["deploymentBlock"]);

  const rawAddresses = record(root["addresses"], "addresses");
  const fixed = Object.fromEntries(
    REQUIRED_ADDRESSES.map((key) => [key, address(rawAddresses[key], `addresses.${key}`)]),
  ) as Record<(typeof REQUIRED_ADDRESSES)[number], Address>;
  const rawFeeds = record(rawAddresses["feeds"], "addresses.feeds");
  const feeds: Record<string, Address> = {};
  for (const [symbol, feed] of Object.entries(rawFeeds)) feeds[symbol] = address(feed, `addresses.feeds.${symbol}`);

  const rawMarketIds = record(root["marketIds"], "marketIds");
  const marketIds: Record<string, number> = {};
  for (const [symbol, id] of Object.entries(rawMarketIds)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 255) {
      throw new AeonDeploymentError(`marketIds.${symbol}`, `must be a market id 0..255 (got ${show(id)})`);
    }
    marketIds[symbol] = id;
  }
  if (Object.keys(marketIds).length === 0) throw new AeonDeploymentError("marketIds", "lists no market");

  return { network, chainId, deploymentBlock, addresses: { ...fixed, feeds }, marketIds };
}

/** The id of a market by symbol. @throws AeonDeploymentError when the deployment has no such market. */
export function marketIdOf(deployment: AeonDeployment, symbol: string): number {
  const id = deployment.marketIds[symbol];
  if (id === undefined) {
    throw new AeonDeploymentError(`marketIds.${symbol}`, `is not listed (markets: ${Object.keys(deployment.marketIds).join(", ")})`);
  }
  return id;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new AeonDeploymentError(field, `must be an object (got ${show(value)})`);
  }
  return value as Record<string, unknown>;
}

function address(value: unknown, field: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new AeonDeploymentError(field, `must be a 20-byte hex address (got ${show(value)})`);
  }
  return getAddress(value);
}

function blockNumber(value: unknown): bigint {
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n) return value;
  throw new AeonDeploymentError("deploymentBlock", `must be a block number (got ${show(value)})`);
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "bigint") return `${value}n`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
