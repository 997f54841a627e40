/**
 * Writes, one action each. Every write is simulated first (a revert throws `AeonError` before
 * anything is signed), then sent with the client's signer; it resolves to `{ hash, receipt,
 * events }` with the protocol's events decoded.
 */
import { type Address, type Hex, parseSignature } from "viem";
import { engineAbi, erc20PermitAbi, liquidityPoolAbi, orderBookAbi } from "./abis.js";
import type { AeonBaseClient } from "./client.js";
import { ORDER_TYPES, type OrderTypeName, estimateExecutionFee, resolveMarketId } from "./reads.js";
import { type WriteResult, requireSigner, sendContractWrite } from "./transactions.js";

// ---------------------------------------------------------------- collateral

/** Parameters of `deposit`. Amounts in settlement-token units (USDC: 6 decimals). */
export interface DepositParameters {
  readonly amount: bigint;
  readonly subaccount?: number;
  /** The account's owner; default the signer (anyone can deposit for anyone). */
  readonly owner?: Address;
  /**
   * How the vault gets its allowance: "approve" sends an approval first when the allowance is
   * short, "permit" signs an EIP-2612 permit instead (one transaction), "auto" (default) permits
   * when the token supports it.
   */
  readonly authorization?: "auto" | "approve" | "permit";
}

/** The deposit's result; `approval` when an approval was sent first. */
export interface DepositResult extends WriteResult {
  readonly approval: WriteResult | undefined;
  /** The credited account (created by the first deposit). */
  readonly accountId: number;
}

/** Deposits collateral: approve-then-deposit, or one `depositWithPermit` when the token supports EIP-2612. */
export async function deposit(client: AeonBaseClient, parameters: DepositParameters): Promise<DepositResult> {
  const authorization = parameters.authorization ?? "auto";
  if (authorization === "permit" || (authorization === "auto" && (await supportsPermit(client)))) {
    return depositWithPermit(client, parameters);
  }
  const signer = requireSigner(client);
  const owner = parameters.owner ?? (await signer.getAddress());
  const approval = await ensureAllowance(client, parameters.amount);
  const result = await sendContractWrite(client, {
    address: client.deployment.addresses.clearingEngine,
    abi: engineAbi,
    functionName: "deposit",
    args: [owner, parameters.subaccount ?? 0, parameters.amount],
  });
  return { ...result, approval, accountId: depositedAccount(result) };
}

/** Deposits with an EIP-2612 permit signed by the signer (typed data), in one transaction. */
export async function depositWithPermit(
  client: AeonBaseClient,
  parameters: Omit<DepositParameters, "authorization"> & { readonly deadline?: bigint },
): Promise<DepositResult> {
  const signer = requireSigner(client);
  const owner = parameters.owner ?? (await signer.getAddress());
  const { deadline, v, r, s } = await signPermit(client, parameters.amount, parameters.deadline);
  const result = await sendContractWrite(client, {
    address: client.deployment.addresses.clearingEngine,
    abi: engineAbi,
    functionName: "depositWithPermit",
    args: [owner, parameters.subaccount ?? 0, parameters.amount, deadline, v, r, s],
  });
  return { ...result, approval: undefined, accountId: depositedAccount(result) };
}

/** Withdraws collateral (token units) of one of the signer's subaccounts, to `to` (default the signer). */
export async function withdraw(
  client: AeonBaseClient,
  parameters: { readonly amount: bigint; readonly subaccount?: number; readonly to?: Address },
): Promise<WriteResult> {
  const to = parameters.to ?? (await requireSigner(client).getAddress());
  return sendContractWrite(client, {
    address: client.deployment.addresses.clearingEngine,
    abi: engineAbi,
    functionName: "withdraw",
    args: [parameters.subaccount ?? 0, parameters.amount, to],
  });
}

/** Approves the vault for `amount` token units when the signer's allowance is below it; returns the approval, if any. */
export async function ensureAllowance(client: AeonBaseClient, amount: bigint): Promise<WriteResult | undefined> {
  const { usdc, vault } = client.deployment.addresses;
  const owner = await requireSigner(client).getAddress();
  const allowance = await client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "allowance", args: [owner, vault] });
  if (allowance >= amount) return undefined;
  return sendContractWrite(client, { address: usdc, abi: erc20PermitAbi, functionName: "approve", args: [vault, amount] });
}

/** Whether the settlement token supports EIP-2612 permits (it answers `nonces` and `DOMAIN_SEPARATOR`). */
export async function supportsPermit(client: AeonBaseClient): Promise<boolean> {
  const { usdc } = client.deployment.addresses;
  try {
    await Promise.all([
      client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "DOMAIN_SEPARATOR" }),
      client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "nonces", args: [usdc] }),
    ]);
    return true;
  } catch {
    return false;
  }
}

/** Signs an EIP-2612 permit of `amount` token units for the vault (domain read from the token's ERC-5267 `eip712Domain`). */
export async function signPermit(
  client: AeonBaseClient,
  amount: bigint,
  deadline?: bigint,
): Promise<{ readonly deadline: bigint; readonly v: number; readonly r: Hex; readonly s: Hex }> {
  const signer = requireSigner(client);
  const owner = await signer.getAddress();
  const { usdc, vault } = client.deployment.addresses;
  const [[, name, version, chainId, verifyingContract], nonce, block] = await Promise.all([
    client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "eip712Domain" }),
    client.publicClient.readContract({ address: usdc, abi: erc20PermitAbi, functionName: "nonces", args: [owner] }),
    client.publicClient.getBlock(),
  ]);
  const until = deadline ?? block.timestamp + 3600n;
  const signature = await signer.signTypedData({
    domain: { name, version, chainId, verifyingContract },
    types: {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    message: { owner, spender: vault, value: amount, nonce, deadline: until },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { deadline: until, v: v === undefined ? yParity + 27 : Number(v), r, s };
}

function depositedAccount(result: WriteResult): number {
  const event = result.events.find((e) => e.eventName === "CollateralDeposited");
  return event?.eventName === "CollateralDeposited" ? event.args.accountId : 0;
}

// ---------------------------------------------------------------- orders

/** Parameters of `createOrder`. Prices and sizes in WAD. */
export interface CreateOrderParameters {
  /** Market id or deployment symbol ("ETH"). */
  readonly market: number | string;
  readonly subaccount?: number;
  /** Default "market". Limit, stop and take-profit orders wait for their trigger. */
  readonly type?: OrderTypeName;
  /** Signed base units: > 0 buys, < 0 sells. */
  readonly sizeDelta: bigint;
  /** Worst average fill price: a buy's maximum, a sell's minimum (`NO_PRICE_BOUND` for none on a buy, 0 on a sell). */
  readonly acceptablePrice: bigint;
  /** Required for limit, stop and take-profit orders; ignored (0) for market orders. */
  readonly triggerPrice?: bigint;
  readonly reduceOnly?: boolean;
  /** Native wei; default `estimateExecutionFee` (the market's minimum, or the gas estimate if larger). */
  readonly executionFee?: bigint;
}

/** The created order's key, with the write's result. */
export interface CreateOrderResult extends WriteResult {
  readonly orderKey: bigint;
  readonly executionFee: bigint;
}

/** Creates an order, paying its execution fee in the native token. */
export async function createOrder(client: AeonBaseClient, parameters: CreateOrderParameters): Promise<CreateOrderResult> {
  const marketId = resolveMarketId(client, parameters.market);
  const type = parameters.type ?? "market";
  const executionFee = parameters.executionFee ?? (await estimateExecutionFee(client, marketId));
  const result = await sendContractWrite(client, {
    address: client.deployment.addresses.orderBook,
    abi: orderBookAbi,
    functionName: "createOrder",
    args: [
      {
        subaccount: parameters.subaccount ?? 0,
        marketId,
        orderType: ORDER_TYPES[type],
        reduceOnly: parameters.reduceOnly ?? type === "takeProfit",
        sizeDelta: parameters.sizeDelta,
        triggerPrice: type === "market" ? 0n : (parameters.triggerPrice ?? 0n),
        acceptablePrice: parameters.acceptablePrice,
      },
    ],
    value: executionFee,
  });
  const created = result.events.find((e) => e.eventName === "OrderCreated");
  const orderKey = created?.eventName === "OrderCreated" ? created.args.orderKey : 0n;
  return { ...result, orderKey, executionFee };
}

/** Cancels one of the signer's untriggered conditional orders (queued orders fill or expire). */
export async function cancelOrder(client: AeonBaseClient, orderKey: bigint): Promise<WriteResult> {
  return sendContractWrite(client, { address: client.deployment.addresses.orderBook, abi: orderBookAbi, functionName: "cancelOrder", args: [orderKey] });
}

/** Triggers a conditional order with the latest round (the triggerer earns part of its fee). */
export async function triggerOrder(client: AeonBaseClient, conditionalKey: bigint): Promise<WriteResult> {
  return sendContractWrite(client, { address: client.deployment.addresses.orderBook, abi: orderBookAbi, functionName: "triggerOrder", args: [conditionalKey] });
}

/**
 * Executes the head of a market's queue with its fill round: the first round after the order's
 * creation, and that round's predecessor (the order's anchor round when nothing came in between).
 */
export async function executeOrder(
  client: AeonBaseClient,
  parameters: { readonly market: number | string; readonly fillRoundId: bigint; readonly previousRoundId: bigint },
): Promise<WriteResult> {
  return sendContractWrite(client, {
    address: client.deployment.addresses.orderBook,
    abi: orderBookAbi,
    functionName: "executeOrder",
    args: [resolveMarketId(client, parameters.market), parameters.fillRoundId, parameters.previousRoundId],
  });
}

/** Executes a batch from the head of a market's queue, one (fill, previous) round pair per order. */
export async function executeOrders(
  client: AeonBaseClient,
  parameters: { readonly market: number | string; readonly fillRoundIds: readonly bigint[]; readonly previousRoundIds: readonly bigint[] },
): Promise<WriteResult> {
  return sendContractWrite(client, {
    address: client.deployment.addresses.orderBook,
    abi: orderBookAbi,
    functionName: "executeOrders",
    args: [resolveMarketId(client, parameters.market), parameters.fillRoundIds, parameters.previousRoundIds],
  });
}

// ---------------------------------------------------------------- keepers

/** Settles a market's funding (permissionless, once per funding interval). */
export async function settleFunding(client: AeonBaseClient, market: number | string): Promise<WriteResult> {
  return sendContractWrite(client, {
    address: client.deployment.addresses.clearingEngine,
    abi: engineAbi,
    functionName: "settleFunding",
    args: [resolveMarketId(client, market)],
  });
}

/** Liquidates an account below maintenance; the reward is credited to the signer. */
export async function liquidate(client: AeonBaseClient, accountId: number): Promise<WriteResult> {
  return sendContractWrite(client, { address: client.deployment.addresses.clearingEngine, abi: engineAbi, functionName: "liquidate", args: [accountId] });
}

/**
 * Liquidates every liquidatable account of the list, skipping healthy ones.
 *
 * The gas limit is set explicitly: the contract swallows any failure of an account's liquidation,
 * out-of-gas included, so a node's estimate (the least gas that does not revert) would be the
 * gas of a batch that liquidates nothing. The limit is the sum of each liquidatable account's own
 * `liquidate` estimate, with a margin for the self-calls' 63/64 gas rule.
 */
export async function liquidateBatch(
  client: AeonBaseClient,
  accountIds: readonly number[],
): Promise<WriteResult & { readonly liquidated: number }> {
  const account = await requireSigner(client).getAddress();
  const engine = client.deployment.addresses.clearingEngine;
  let gas = 100_000n + 30_000n * BigInt(accountIds.length);
  for (const accountId of accountIds) {
    try {
      gas += await client.publicClient.estimateContractGas({ address: engine, abi: engineAbi, functionName: "liquidate", args: [accountId], account });
    } catch {
      // Not liquidatable now: the batch skips it for little gas.
    }
  }
  const result = await sendContractWrite(client, {
    address: engine,
    abi: engineAbi,
    functionName: "liquidateBatch",
    args: [accountIds],
    gas: (gas * 5n) / 4n,
  });
  return { ...result, liquidated: result.events.filter((e) => e.eventName === "Liquidated").length };
}

/** Withdraws the signer's native credits (execution fees and refunds) from the order book. */
export async function claimNativeCredits(client: AeonBaseClient, parameters: { readonly to?: Address } = {}): Promise<WriteResult> {
  const to = parameters.to ?? (await requireSigner(client).getAddress());
  return sendContractWrite(client, { address: client.deployment.addresses.orderBook, abi: orderBookAbi, functionName: "claimNativeCredits", args: [to] });
}

/** Withdraws the signer's keeper rewards (liquidations) from the engine, in the settlement token. */
export async function claimKeeperCredits(client: AeonBaseClient, parameters: { readonly to?: Address } = {}): Promise<WriteResult> {
  const to = parameters.to ?? (await requireSigner(client).getAddress());
  return sendContractWrite(client, { address: client.deployment.addresses.clearingEngine, abi: engineAbi, functionName: "claimKeeperCredits", args: [to] });
}

// ---------------------------------------------------------------- liquidity pool

/** Requests an LP deposit of `assets` token units (approving the vault first when needed); settles at the epoch's price. */
export async function requestLpDeposit(
  client: AeonBaseClient,
  parameters: { readonly assets: bigint; readonly controller?: Address; readonly owner?: Address },
): Promise<WriteResult & { readonly approval: WriteResult | undefined }> {
  const signer = await requireSigner(client).getAddress();
  const approval = await ensureAllowance(client, parameters.assets);
  const result = await sendContractWrite(client, {
    address: client.deployment.addresses.liquidityPool,
    abi: liquidityPoolAbi,
    functionName: "requestDeposit",
    args: [parameters.assets, parameters.controller ?? signer, parameters.owner ?? signer],
  });
  return { ...result, approval };
}

/** Requests a redemption of `shares`; the assets are claimable once the epoch settles. */
export async function requestLpRedeem(
  client: AeonBaseClient,
  parameters: { readonly shares: bigint; readonly controller?: Address; readonly owner?: Address },
): Promise<WriteResult> {
  const signer = await requireSigner(client).getAddress();
  return sendContractWrite(client, {
    address: client.deployment.addresses.liquidityPool,
    abi: liquidityPoolAbi,
    functionName: "requestRedeem",
    args: [parameters.shares, parameters.controller ?? signer, parameters.owner ?? signer],
  });
}

/** Claims the shares of settled deposit requests (default: everything claimable). */
export async function claimLpShares(
  client: AeonBaseClient,
  parameters: { readonly assets?: bigint; readonly receiver?: Address; readonly controller?: Address } = {},
): Promise<WriteResult> {
  const signer = await requireSigner(client).getAddress();
  const controller = parameters.controller ?? signer;
  const pool = client.deployment.addresses.liquidityPool;
  const assets =
    parameters.assets ??
    (await client.publicClient.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "claimableDepositRequest", args: [0n, controller] }));
  return sendContractWrite(client, { address: pool, abi: liquidityPoolAbi, functionName: "deposit", args: [assets, parameters.receiver ?? signer, controller] });
}

/** Claims the assets of settled redeem requests (default: everything claimable). */
export async function claimLpAssets(
  client: AeonBaseClient,
  parameters: { readonly shares?: bigint; readonly receiver?: Address; readonly controller?: Address } = {},
): Promise<WriteResult> {
  const signer = await requireSigner(client).getAddress();
  const controller = parameters.controller ?? signer;
  const pool = client.deployment.addresses.liquidityPool;
  const shares =
    parameters.shares ??
    (await client.publicClient.readContract({ address: pool, abi: liquidityPoolAbi, functionName: "claimableRedeemRequest", args: [0n, controller] }));
  return sendContractWrite(client, { address: pool, abi: liquidityPoolAbi, functionName: "redeem", args: [shares, parameters.receiver ?? signer, controller] });
}
