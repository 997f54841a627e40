/**
 * Subscriptions to one account's events (viem `watchContractEvent`, filtered on the indexed
 * account id): positions, collateral, orders and liquidations.
 */
import type { Log } from "viem";
import { engineAbi, orderBookAbi } from "./abis.js";
import type { AeonBaseClient } from "./client.js";
import type { AeonEvent } from "./transactions.js";

/** One decoded event of a given name, with its log fields. */
export type AeonEventOf<N extends AeonEvent["eventName"]> = Extract<AeonEvent, { eventName: N }>;

/** Callbacks of `watchAccount`; each receives the decoded event. */
export interface WatchAccountHandlers {
  readonly onPositionChanged?: (event: AeonEventOf<"PositionChanged">) => void;
  readonly onCollateralDeposited?: (event: AeonEventOf<"CollateralDeposited">) => void;
  readonly onCollateralWithdrawn?: (event: AeonEventOf<"CollateralWithdrawn">) => void;
  readonly onLiquidated?: (event: AeonEventOf<"Liquidated">) => void;
  readonly onOrderCreated?: (event: AeonEventOf<"OrderCreated">) => void;
  readonly onOrderExecuted?: (event: AeonEventOf<"OrderExecuted">) => void;
  readonly onOrderCancelled?: (event: AeonEventOf<"OrderCancelled">) => void;
  /** Errors of the underlying filters or polling. */
  readonly onError?: (error: Error) => void;
}

/** Options of `watchAccount`. */
export interface WatchAccountOptions {
  /** Polling interval in ms (HTTP transports poll; default: the public client's). */
  readonly pollingInterval?: number;
}

/**
 * Calls the handlers for every new event of `accountId` until the returned function is called.
 * @returns unsubscribe: stops every underlying watcher
 */
export function watchAccount(
  client: AeonBaseClient,
  accountId: number,
  handlers: WatchAccountHandlers,
  options: WatchAccountOptions = {},
): () => void {
  const { clearingEngine, orderBook } = client.deployment.addresses;
  const publicClient = client.publicClient;
  const common = { onError: handlers.onError, pollingInterval: options.pollingInterval, strict: true } as const;
  const deliver =
    <N extends AeonEvent["eventName"]>(handler: ((event: AeonEventOf<N>) => void) | undefined) =>
    (logs: readonly Log[]) => {
      if (handler === undefined) return;
      for (const log of logs) handler(log as unknown as AeonEventOf<N>);
    };
  const stops: (() => void)[] = [];

  if (handlers.onPositionChanged !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: clearingEngine, abi: engineAbi, eventName: "PositionChanged", args: { accountId }, ...common,
        onLogs: deliver<"PositionChanged">(handlers.onPositionChanged),
      }),
    );
  }
  if (handlers.onCollateralDeposited !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: clearingEngine, abi: engineAbi, eventName: "CollateralDeposited", args: { accountId }, ...common,
        onLogs: deliver<"CollateralDeposited">(handlers.onCollateralDeposited),
      }),
    );
  }
  if (handlers.onCollateralWithdrawn !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: clearingEngine, abi: engineAbi, eventName: "CollateralWithdrawn", args: { accountId }, ...common,
        onLogs: deliver<"CollateralWithdrawn">(handlers.onCollateralWithdrawn),
      }),
    );
  }
  if (handlers.onLiquidated !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: clearingEngine, abi: engineAbi, eventName: "Liquidated", args: { accountId }, ...common,
        onLogs: deliver<"Liquidated">(handlers.onLiquidated),
      }),
    );
  }
  if (handlers.onOrderCreated !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: orderBook, abi: orderBookAbi, eventName: "OrderCreated", args: { accountId }, ...common,
        onLogs: deliver<"OrderCreated">(handlers.onOrderCreated),
      }),
    );
  }
  if (handlers.onOrderExecuted !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: orderBook, abi: orderBookAbi, eventName: "OrderExecuted", args: { accountId }, ...common,
        onLogs: deliver<"OrderExecuted">(handlers.onOrderExecuted),
      }),
    );
  }
  if (handlers.onOrderCancelled !== undefined) {
    stops.push(
      publicClient.watchContractEvent({
        address: orderBook, abi: orderBookAbi, eventName: "OrderCancelled", args: { accountId }, ...common,
        onLogs: deliver<"OrderCancelled">(handlers.onOrderCancelled),
      }),
    );
  }
  return () => {
    for (const stop of stops.splice(0)) stop();
  };
}
