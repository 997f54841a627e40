/**
 * The SDK's chain-reading preview and liquidation price, through the public API only, on the
 * in-process network: `aeon.previewTrade` against the executed `PositionChanged` to the wei, a
 * rejected preview against the order book's cancel, and `getAccount`'s liquidation price against
 * the lens's liquidatable flag at it and one feed tick past it.
 *
 * The network allows blocks with the same timestamp, so a round can be posted at the very time a
 * read valued the account at.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { PublicClient, WalletClient } from "@nomicfoundation/hardhat-viem/types";
import { type Address, numberToHex } from "viem";
import { type AeonDeployment as ScriptDeployment, deployAeon, deploymentRecord } from "../../scripts/deploy.js";
import {
  type AeonClient,
  type AeonEvent,
  FEED_TICK_8_DECIMALS,
  WAD,
  createAeonClient,
  decodeAeonError,
  describeAeonError,
  loadDeployment,
} from "../../sdk/src/index.js";

const USDC = 10n ** 6n;
const TO_FEED = 10n ** 10n; // WAD price -> 8-decimal answer

function eventOf<N extends AeonEvent["eventName"]>(events: readonly AeonEvent[], name: N): Extract<AeonEvent, { eventName: N }> {
  const event = events.find((e) => e.eventName === name);
  assert.ok(event !== undefined, `no ${name} event among ${events.map((e) => e.eventName).join(", ")}`);
  return event as Extract<AeonEvent, { eventName: N }>;
}

describe("sdk previewTrade and liquidation price against the chain", () => {
  let connection: NetworkConnection;
  let d: ScriptDeployment;
  let publicClient: PublicClient;
  let wallets: readonly WalletClient[];
  let alice: AeonClient;
  let bob: AeonClient;
  let keeper: AeonClient;
  let aliceAddress: Address;
  let bobAddress: Address;

  before(async () => {
    connection = await network.create({ network: "hardhat", override: { allowBlocksWithSameTimestamp: true } });
    d = await deployAeon(connection.viem);
    publicClient = await connection.viem.getPublicClient();
    wallets = await connection.viem.getWalletClients();
    const deployment = loadDeployment(JSON.parse(JSON.stringify(deploymentRecord("hardhat", d))));
    const client = (i: number) => createAeonClient({ publicClient, wallet: wallets[i]!, deployment });
    [alice, bob, keeper] = [client(1), client(2), client(3)];
    aliceAddress = wallets[1]!.account.address;
    bobAddress = wallets[2]!.account.address;
    const usdc = d.mocks!.usdc;
    await publicClient.waitForTransactionReceipt({ hash: await usdc.write.mint([aliceAddress, 10_000n * USDC]) });
    await publicClient.waitForTransactionReceipt({ hash: await usdc.write.mint([bobAddress, 1_000n * USDC]) });
    await alice.deposit({ amount: 10_000n * USDC, authorization: "approve" });
    await bob.deposit({ amount: 1_000n * USDC, authorization: "approve" });
  });
  after(async () => {
    await connection.close();
  });

  async function latestTime(): Promise<bigint> {
    return (await publicClient.getBlock()).timestamp;
  }
  /** The next block is mined at `t` (equal to the latest block's time allowed). */
  async function at(t: bigint): Promise<void> {
    await connection.provider.request({ method: "evm_setNextBlockTimestamp", params: [numberToHex(t)] });
  }
  /** Posts an ETH round at `price` (WAD) at time `t`; returns the round id. */
  async function post(price: bigint, t: bigint): Promise<bigint> {
    await at(t);
    const feed = d.mocks!.feeds.ETH;
    await publicClient.waitForTransactionReceipt({ hash: await feed.write.setPrice([price / TO_FEED]) });
    const [roundId] = await feed.read.latestRoundData();
    return roundId;
  }
  /** Creates the market order at `t0 + 1`, posts the fill round at `price` at `t0 + 2`, executes at `t0 + 3`. */
  async function createAndExecute(trader: AeonClient, owner: Address, sizeDelta: bigint, price: bigint, t0: bigint) {
    await at(t0 + 1n);
    await trader.createOrder({ market: "ETH", sizeDelta, acceptablePrice: sizeDelta > 0n ? 2n ** 256n - 1n : 0n });
    const [pending] = await trader.getPendingOrders(owner);
    assert.ok(pending !== undefined);
    const fillRoundId = await post(price, t0 + 2n);
    await at(t0 + 3n);
    return keeper.executeOrder({ market: "ETH", fillRoundId, previousRoundId: pending.anchorRoundId });
  }

  it("previews an open to the wei of the executed PositionChanged", async () => {
    const market = await alice.getMarket("ETH");
    assert.equal(market.price, 3000n * WAD);
    const preview = await alice.previewTrade({ owner: aliceAddress, market: "ETH", sizeDelta: 10n * WAD });
    assert.equal(preview.accepted, true);
    assert.equal(preview.error, undefined);
    assert.equal(preview.errorMessage, undefined);
    assert.equal(preview.reservationError, undefined);
    assert.equal(preview.price, 3000n * WAD);
    // 10 ETH against a flat market: all taker, impact on the growing skew.
    assert.equal(preview.makerFeeUsd, 0n);
    assert.equal(preview.takerFeeUsd, 15n * WAD);
    assert.equal(preview.feeShares.lp + preview.feeShares.insurance + preview.feeShares.treasury, preview.feeUsd);
    assert.equal(preview.newSize, 10n * WAD);
    assert.equal(preview.newCost, 30_000n * WAD);
    assert.ok(preview.liquidationPriceAfter !== undefined && preview.liquidationPriceAfter < 3000n * WAD);

    const executed = await createAndExecute(alice, aliceAddress, 10n * WAD, market.price, await latestTime());
    const change = eventOf(executed.events, "PositionChanged").args;
    assert.equal(change.accountId, preview.accountId);
    assert.equal(change.price, preview.price);
    assert.equal(change.fillPrice, preview.fillPrice);
    assert.equal(change.feeUsd, preview.feeUsd);
    assert.equal(change.impactUsd, preview.impactUsd);
    assert.equal(change.realizedPnl, preview.realizedPnl);
    assert.equal(change.fundingPaid, preview.fundingPaid);
    assert.equal(change.borrowingPaid, preview.borrowingPaid);
    assert.equal(change.newSize, preview.newSize);
    assert.equal(change.newCost, preview.newCost);
    assert.equal(change.collateral, preview.collateralAfter);
    assert.equal(change.collateral, 10_000n * WAD - preview.feeUsd - preview.impactUsd);
  });

  it("gives each position of getAccount its liquidation price: healthy at it, liquidatable one tick below", async () => {
    const account = await alice.getAccount(aliceAddress);
    const [position] = account.positions;
    assert.ok(position !== undefined && position.liquidationPrice !== undefined);
    const liq = position.liquidationPrice;
    assert.equal(liq % FEED_TICK_8_DECIMALS, 0n);
    const t = await latestTime();
    const snapshot = await connection.networkHelpers.takeSnapshot();
    await post(liq, t);
    const atLiq = await alice.getAccount(aliceAddress);
    assert.equal(atLiq.liquidatable, false);
    assert.ok(atLiq.equity >= atLiq.maintenanceMargin);
    await snapshot.restore();
    await post(liq - FEED_TICK_8_DECIMALS, t);
    const past = await alice.getAccount(aliceAddress);
    assert.equal(past.liquidatable, true);
    assert.ok(past.equity < past.maintenanceMargin);
    await snapshot.restore();
  });

  it("previews InsufficientMargin for an order whose fill the price move breaks; the order book cancels it with that error", async () => {
    const t0 = await latestTime();
    const opened = await createAndExecute(bob, bobAddress, 5n * WAD, 3000n * WAD, t0);
    eventOf(opened.events, "PositionChanged");

    // A second 5 ETH long passes creation at 3,000; filled at 2,950 its margin falls short.
    const t1 = await latestTime();
    const fillPrice = 2950n * WAD;
    const preview = await bob.previewTrade({ owner: bobAddress, market: "ETH", sizeDelta: 5n * WAD, price: fillPrice, timestamp: t1 + 3n });
    assert.equal(preview.accepted, false);
    assert.ok(preview.error !== undefined && preview.error.name === "InsufficientMargin");
    const [equity, required] = preview.error.args;
    assert.ok(equity < required);
    assert.equal(required, preview.healthAfter.initialMargin);
    assert.ok(preview.reservation > 0n);
    assert.deepEqual(preview.errorMessage, describeAeonError({ errorName: "InsufficientMargin", args: [equity, required] }));

    const executed = await createAndExecute(bob, bobAddress, 5n * WAD, fillPrice, t1);
    assert.equal(executed.events.some((e) => e.eventName === "PositionChanged"), false);
    const cancelled = eventOf(executed.events, "OrderCancelled").args;
    const decoded = decodeAeonError(cancelled.engineError);
    assert.ok(decoded !== undefined);
    assert.equal(decoded.errorName, "InsufficientMargin");
    assert.deepEqual(decoded.args, [equity, required]);
    assert.equal(decoded.shortMessage, preview.errorMessage?.message);
  });
});
