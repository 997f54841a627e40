/**
 * Trade previews from chain state: reads, at one block, everything the engine reads for a fill
 * and runs the math module's `previewTrade` (the single off-chain copy of the contract math).
 */
import type { Address } from "viem";
import { engineAbi, lensAbi, orderBookAbi } from "./abis.js";
import type { AeonBaseClient } from "./client.js";
import { type AeonDecodedError, describeAeonError } from "./errors.js";
import { type TradePreview, orderReservation, previewTrade as previewTradeMath } from "./math.js";
import { NO_PRICE_BOUND, type ReadOptions, resolveMarketId, toAccount, toGlobalConfig } from "./reads.js";
import type { Account, MarketEntry, MarketPrice, PositionEntry } from "./types.js";

/** Parameters of `previewTrade`. Prices and sizes in WAD. */
export interface PreviewTradeParameters extends ReadOptions {
  readonly owner: Address;
  readonly subaccount?: number;
  /** Market id or deployment symbol ("ETH"). */
  readonly market: number | string;
  /** Signed base units: > 0 buys, < 0 sells. */
  readonly sizeDelta: bigint;
  /** Default: no bound (`NO_PRICE_BOUND` for a buy, 0 for a sell). */
  readonly acceptablePrice?: bigint;
  readonly reduceOnly?: boolean;
  /**
   * Index price of the fill; default the market's latest price. When given, the preview assumes
   * a valid round at this price is the market's latest (as when a keeper posts the fill round).
   */
  readonly price?: bigint;
  /** block.timestamp of the fill; default the read block's timestamp. */
  readonly timestamp?: bigint;
}

/** The math preview of a fill, with the order's reservation and the error's human message. */
export interface AeonTradePreview extends TradePreview {
  readonly accountId: number;
  readonly marketId: number;
  /** Index price the preview fills at. */
  readonly price: bigint;
  /** block.timestamp the preview values at. */
  readonly timestamp: bigint;
  readonly blockNumber: bigint;
  /** Margin `createOrder` reserves for the order (WAD); 0 when creation would refuse it (`reservationError`). */
  readonly reservation: bigint;
  /** `NotionalTooSmall` when `createOrder` would refuse the order's size. */
  readonly reservationError: { readonly name: "NotionalTooSmall"; readonly args: readonly [bigint, bigint] } | undefined;
  /** The engine error's message (numbers formatted) and hint, as `AeonError` words it; undefined when accepted. */
  readonly errorMessage: { readonly message: string; readonly hint: string | undefined } | undefined;
}

/**
 * Previews a market order of `(owner, subaccount)`: fill price, impact, fees (maker/taker, and
 * LP/insurance/treasury), funding and borrowing per interval after it, collateral, margin and
 * liquidation price after it, and whether the engine fills it or the exact error it raises.
 * Every input is read at one block: the account, its positions, every market's stored (not
 * accrued) state, config and tiers, latest prices and validity, the global config, the pool's
 * ledger, `openingPaused` and the order's reservation inputs.
 */
export async function previewTrade(client: AeonBaseClient, parameters: PreviewTradeParameters): Promise<AeonTradePreview> {
  const { clearingEngine: engine, lens, orderBook } = client.deployment.addresses;
  const read = client.publicClient;
  const marketId = resolveMarketId(client, parameters.market);
  const blockNumber = parameters.blockNumber ?? (await read.getBlockNumber());
  const at = { blockNumber } as const;
  const [block, views, accountView, global, poolCash, totalDebt, openingPaused, orderConfig, marketOrderConfig] = await Promise.all([
    read.getBlock(at),
    read.readContract({ address: lens, abi: lensAbi, functionName: "markets", ...at }),
    read.readContract({ address: lens, abi: lensAbi, functionName: "accountOf", args: [parameters.owner, parameters.subaccount ?? 0], ...at }),
    read.readContract({ address: engine, abi: engineAbi, functionName: "globalConfig", ...at }),
    read.readContract({ address: engine, abi: engineAbi, functionName: "poolCash", ...at }),
    read.readContract({ address: engine, abi: engineAbi, functionName: "totalDebt", ...at }),
    read.readContract({ address: engine, abi: engineAbi, functionName: "openingPaused", ...at }),
    read.readContract({ address: orderBook, abi: orderBookAbi, functionName: "orderConfig", ...at }),
    read.readContract({ address: orderBook, abi: orderBookAbi, functionName: "marketOrderConfig", args: [marketId], ...at }),
  ]);
  const states = await Promise.all(
    views.map((v) => read.readContract({ address: engine, abi: engineAbi, functionName: "marketState", args: [v.marketId], ...at })),
  );
  const view = views[marketId];
  if (view === undefined) throw new Error(`Unknown market ${marketId}: the engine lists ${views.length} markets`);

  const markets: MarketEntry[] = views.map((v, i) => ({ config: v.config, state: states[i] ?? v.state }));
  const tiers = views.map((v) => v.tiers);
  const price = parameters.price ?? view.price;
  const prices: MarketPrice[] = views.map((v) =>
    v.marketId === marketId && parameters.price !== undefined ? { price, valid: true } : { price: v.price, valid: v.status === 0 },
  );
  const globalConfig = toGlobalConfig(global);
  const sizeDelta = parameters.sizeDelta;
  const reduceOnly = parameters.reduceOnly ?? false;
  const [, , marginBuffer] = orderConfig;
  const [, minNotionalUsd] = marketOrderConfig;
  const reserved = orderReservation({
    sizeDelta,
    reduceOnly,
    indexPrice: view.price,
    config: view.config,
    tiers: view.tiers,
    state: markets[marketId]?.state ?? view.state,
    marginBuffer,
    minNotionalUsd,
  });
  const reservation = reserved.ok ? reserved.wad : 0n;
  const stored = toAccount(accountView.account);
  // The fill releases the order's reservation, which its creation added.
  const account: Account = { ...stored, reservedMargin: stored.reservedMargin + reservation };
  const positions: PositionEntry[] = accountView.positions.map((p) => ({ marketId: p.marketId, position: p.position }));
  const timestamp = parameters.timestamp ?? block.timestamp;
  const preview = previewTradeMath({
    accountId: accountView.accountId,
    account,
    positions,
    marketId,
    sizeDelta,
    price,
    acceptablePrice: parameters.acceptablePrice ?? (sizeDelta > 0n ? NO_PRICE_BOUND : 0n),
    reduceOnly,
    reservation,
    markets,
    tiers,
    prices,
    globalConfig,
    pool: { poolCash, totalDebt },
    openingPaused,
    now: timestamp,
  });
  return {
    ...preview,
    accountId: accountView.accountId,
    marketId,
    price,
    timestamp,
    blockNumber,
    reservation,
    reservationError: reserved.ok ? undefined : reserved.error,
    errorMessage: preview.error === undefined ? undefined : describeAeonError({ errorName: preview.error.name, args: preview.error.args } as AeonDecodedError),
  };
}
