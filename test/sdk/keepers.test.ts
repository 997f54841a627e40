/**
 * The SDK's liquidation and pool actions on the in-process network: a crash makes an account
 * liquidatable in the account view, `liquidateBatch` closes it and credits the keeper, who claims;
 * an LP deposit request shows as pending in the pool view.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { getAddress } from "viem";
import { type AeonDeployment as ScriptDeployment, deployAeon, deploymentRecord } from "../../scripts/deploy.js";
import { type AeonClient, type AeonEvent, WAD, createAeonClient, loadDeployment } from "../../sdk/src/index.js";

const USDC = 10n ** 6n;
const FEED_UNIT = 10n ** 8n;

function eventOf<N extends AeonEvent["eventName"]>(events: readonly AeonEvent[], name: N): Extract<AeonEvent, { eventName: N }> {
  const event = events.find((e) => e.eventName === name);
  assert.ok(event !== undefined, `no ${name} event among ${events.map((e) => e.eventName).join(", ")}`);
  return event as Extract<AeonEvent, { eventName: N }>;
}

describe("sdk keepers and pool", () => {
  let connection: NetworkConnection;
  let d: ScriptDeployment;
  let client: (index: number) => Promise<{ aeon: AeonClient; address: `0x${string}` }>;

  async function postPrice(dollars: bigint): Promise<bigint> {
    assert.ok(d.mocks !== undefined);
    const { time } = connection.networkHelpers;
    await time.setNextBlockTimestamp(BigInt(await time.latest()) + 1n);
    const publicClient = await connection.viem.getPublicClient();
    await publicClient.waitForTransactionReceipt({ hash: await d.mocks.feeds.ETH.write.setPrice([dollars * FEED_UNIT]) });
    const [roundId] = await d.mocks.feeds.ETH.read.latestRoundData();
    return roundId;
  }

  before(async () => {
    connection = await network.create("hardhat");
    d = await deployAeon(connection.viem);
    const deployment = loadDeployment(JSON.parse(JSON.stringify(deploymentRecord("hardhat", d))));
    const publicClient = await connection.viem.getPublicClient();
    const wallets = await connection.viem.getWalletClients();
    client = async (index) => {
      const wallet = wallets[index];
      assert.ok(wallet !== undefined && d.mocks !== undefined);
      const address = getAddress(wallet.account.address);
      await publicClient.waitForTransactionReceipt({ hash: await d.mocks.usdc.write.mint([address, 20_000n * USDC]) });
      return { aeon: createAeonClient({ publicClient, wallet, deployment }), address };
    };
  });
  after(async () => {
    await connection.close();
  });

  it("shows a crashed account as liquidatable; liquidateBatch closes it and the keeper claims its reward", async () => {
    const trader = await client(1);
    const keeper = await client(2);
    const { accountId } = await trader.aeon.deposit({ amount: 15_200n * USDC });
    const created = await trader.aeon.createOrder({ market: "ETH", sizeDelta: 10n * WAD, acceptablePrice: 3100n * WAD });
    const [order] = await trader.aeon.getPendingOrders(trader.address);
    assert.ok(order !== undefined && order.orderKey === created.orderKey);
    await keeper.aeon.executeOrder({ market: "ETH", fillRoundId: await postPrice(3000n), previousRoundId: order.anchorRoundId });

    await postPrice(1500n);
    const account = await trader.aeon.getAccount(trader.address);
    assert.equal(account.liquidatable, true);
    assert.ok(account.healthRatio !== undefined && account.healthRatio < WAD);
    assert.ok(account.equity < BigInt(account.maintenanceMargin));
    assert.equal(account.withdrawable, 0n);

    const result = await keeper.aeon.liquidateBatch([accountId, 999]);
    assert.equal(result.liquidated, 1, "the explicit gas limit lets the batch's self-call liquidate");
    const liquidated = eventOf(result.events, "Liquidated");
    assert.equal(liquidated.args.accountId, accountId);
    assert.equal(liquidated.args.liquidator, keeper.address);
    eventOf(result.events, "PositionChanged");
    const after = await trader.aeon.getAccount(trader.address);
    assert.equal(after.liquidatable, false);
    assert.deepEqual(after.positions, []);

    const credits = await keeper.aeon.getKeeperCredits(keeper.address);
    assert.equal(credits.usd, liquidated.args.keeperReward);
    const claim = await keeper.aeon.claimKeeperCredits();
    const claimed = eventOf(claim.events, "KeeperCreditsClaimed");
    assert.equal(claimed.args.keeper, keeper.address);
    assert.equal((await keeper.aeon.getTokenBalance(keeper.address)).balance, 20_000n * USDC + liquidated.args.keeperReward / 10n ** 12n);
  });

  it("requests an LP deposit and shows it pending in the pool view", async () => {
    const lp = await client(5);
    const before = await lp.aeon.getPool(lp.address);
    assert.ok(before.totalSupply > 0n, "the deployment seeded the pool");
    assert.ok(before.sharePrice > 0n);
    assert.ok(before.lp !== undefined && before.lp.pendingDeposit === 0n);
    const result = await lp.aeon.requestLpDeposit({ assets: 1_000n * USDC });
    assert.ok(result.approval !== undefined);
    const request = eventOf(result.events, "DepositRequest");
    assert.equal(request.args.controller, lp.address);
    const pool = await lp.aeon.getPool(lp.address);
    assert.equal(pool.lp?.pendingDeposit, 1_000n * USDC);
    assert.equal(pool.lp?.claimableDeposit, 0n);
    assert.ok(pool.epochCutoff > 0n);
  });
});
