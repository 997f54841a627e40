/**
 * deployAeon on the in-process network: wiring, parameters, and the 24 KiB code-size limit.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { getAddress, getContractAddress, type Address, type Hex } from "viem";
import { type AeonDeployment, deployAeon } from "../scripts/deploy.js";
import { defaultParameters } from "../scripts/parameters.js";

/** EIP-170: the largest runtime code a chain accepts. */
const MAX_CODE_SIZE = 24_576;

/** Init code that returns `size` zero bytes as runtime code: PUSH2 size, PUSH1 0, RETURN. */
function initCodeReturning(size: number): Hex {
  return `0x61${size.toString(16).padStart(4, "0")}6000f3`;
}

function codeSize(code: Hex | undefined): number {
  return code === undefined ? 0 : (code.length - 2) / 2;
}

describe("deployAeon", () => {
  let connection: NetworkConnection;
  let d: AeonDeployment;

  before(async () => {
    // The configured in-process network, which enforces the deploy limit (allowUnlimitedContractSize: false).
    connection = await network.create("hardhat");
    d = await deployAeon(connection.viem);
  });

  after(async () => {
    await connection.close();
  });

  it("grants the roles: engine is the vault's operator, admin holds the admin roles", async () => {
    const { vault, engine } = d.contracts;
    const operator = await vault.read.OPERATOR_ROLE();
    const defaultAdmin = await vault.read.DEFAULT_ADMIN_ROLE();
    assert.equal(await vault.read.hasRole([operator, engine.address]), true);
    assert.equal(await vault.read.hasRole([operator, d.admin]), false, "the pool stand-in is no operator");
    assert.equal(await vault.read.hasRole([defaultAdmin, d.admin]), true);
    for (const role of [defaultAdmin, await engine.read.RISK_ROLE(), await engine.read.GUARDIAN_ROLE()]) {
      assert.equal(await engine.read.hasRole([role, d.admin]), true);
    }
  });

  it("wires the modules, the order book and the pool", async () => {
    const { vault, engine, orderBook, pool, governanceModule, liquidatorModule } = d.contracts;
    assert.equal(await engine.read.vault(), vault.address);
    assert.equal(await engine.read.governance(), governanceModule.address);
    assert.equal(await engine.read.liquidator(), liquidatorModule.address);
    assert.equal(await engine.read.orderBook(), orderBook.address);
    assert.equal(await engine.read.liquidityPool(), getAddress(d.addresses.liquidityPool));
    assert.equal(getAddress(d.addresses.liquidityPool), pool.address);
    assert.equal(await engine.read.poolValuation(), getAddress(d.addresses.poolValuationModule));
    assert.equal(await pool.read.engine(), engine.address);
    assert.equal(await vault.read.hasRole([await vault.read.OPERATOR_ROLE(), pool.address]), true);
    assert.equal(await pool.read.currentEpoch(), 2n, "the first epoch settled with the seed");
    assert.equal(await orderBook.read.engine(), engine.address);
    assert.equal(await vault.read.token(), d.addresses.usdc);
    assert.equal(await governanceModule.read.vault(), vault.address);
    assert.equal(await liquidatorModule.read.vault(), vault.address);
    assert.equal(await engine.read.openingPaused(), false);
  });

  it("sets the global and order-book configs to the parameters", async () => {
    const g = defaultParameters.global;
    assert.deepEqual(await d.contracts.engine.read.globalConfig(), [
      g.keeperRewardFloor,
      g.minCollateral,
      g.reserveFactor,
      g.lpFeeShare,
      g.insuranceFeeShare,
      g.maxPnlFactor,
      g.keeperRewardCap,
      g.keeperRewardShare,
      g.lossHaircut,
    ]);
    const o = defaultParameters.orderConfig;
    assert.deepEqual(await d.contracts.orderBook.read.orderConfig(), [
      o.maxOrderAge,
      o.lateDelay,
      o.marginBuffer,
      o.penaltyRate,
      o.triggerRewardShare,
      o.expiryRewardShare,
    ]);
  });

  it("lists ETH and BTC with their config, tiers and order bounds on their mock feeds", async () => {
    const { engine, governance, orderBook } = d.contracts;
    assert.equal(await engine.read.marketCount(), defaultParameters.markets.length);
    assert.deepEqual(d.marketIds, { ETH: 0, BTC: 1 });
    for (const market of defaultParameters.markets) {
      const id: number = d.marketIds[market.symbol];
      const feed: Address = d.addresses.feeds[market.symbol];
      assert.deepEqual(await engine.read.marketConfig([id]), {
        ...market.config,
        feed: { ...market.config.feed, aggregator: feed },
      });
      assert.deepEqual(await governance.read.marginTiers([id]), market.tiers);
      const b = market.orderBounds;
      assert.deepEqual(await orderBook.read.marketOrderConfig([id]), [b.minExecutionFee, b.minNotionalUsd, b.maxSize]);
      const state = await governance.read.marketState([id]);
      assert.equal(state.lastPrice, market.mockInitialAnswer * 10n ** 10n, "listed at the mock's first answer");
    }
    assert.equal(defaultParameters.markets[0]?.config.skewScale, 1_000_000n * 10n ** 18n);
    assert.equal(defaultParameters.markets[1]?.config.skewScale, 50_000n * 10n ** 18n);
  });

  it("seeds the pool through its first epoch and the insurance fund: pool cash, the fund, the vault's tokens, the admin's shares", async () => {
    const seed = defaultParameters.mocks.poolSeedUsdc;
    const insurance = defaultParameters.mocks.insuranceSeedUsdc;
    assert.ok(d.mocks !== undefined && insurance > 0n);
    assert.equal(await d.contracts.engine.read.poolCash(), seed * 10n ** 12n);
    assert.equal(await d.contracts.engine.read.insuranceFund(), insurance * 10n ** 12n);
    assert.equal(await d.mocks.usdc.read.balanceOf([d.addresses.vault]), seed + insurance);
    // First depositor: one share per dollar after the 0.1% deposit fee (virtual share and asset 1:1).
    const net = seed * 10n ** 12n - (seed * 10n ** 12n * defaultParameters.poolConfig.depositFee) / 10n ** 18n;
    assert.equal(await d.contracts.pool.read.balanceOf([d.admin]), net);
  });

  it("records the chain and the deployment block", async () => {
    const publicClient = await connection.viem.getPublicClient();
    assert.equal(d.chainId, 31337);
    assert.ok(d.deploymentBlock >= 1n && d.deploymentBlock <= (await publicClient.getBlockNumber()));
    assert.equal(codeSize(await publicClient.getCode({ address: d.addresses.usdc, blockNumber: d.deploymentBlock - 1n })), 0);
  });

  it("keeps every deployed contract's runtime code within 24,576 bytes", async () => {
    const publicClient = await connection.viem.getPublicClient();
    const { feeds, ...contracts } = d.addresses;
    const all: Record<string, Address> = { ...contracts, feedETH: feeds.ETH, feedBTC: feeds.BTC };
    const sizes: Record<string, number> = {};
    for (const [name, address] of Object.entries(all)) {
      sizes[name] = codeSize(await publicClient.getCode({ address }));
      assert.ok(sizes[name] > 0, `${name} has code`);
      assert.ok(sizes[name] <= MAX_CODE_SIZE, `${name}: ${sizes[name]} bytes > ${MAX_CODE_SIZE}`);
    }
    // The engine is the one close to the limit; print the headroom for whoever grows it next.
    console.log(`      runtime sizes (bytes): ${JSON.stringify(sizes)}`);
  });

  it("refuses to deploy runtime code above 24,576 bytes (deploy-time check)", async () => {
    const publicClient = await connection.viem.getPublicClient();
    const [wallet] = await connection.viem.getWalletClients();
    assert.ok(wallet !== undefined);

    const atLimit = await wallet.deployContract({ abi: [], bytecode: initCodeReturning(MAX_CODE_SIZE), gas: 10_000_000n });
    const ok = await publicClient.waitForTransactionReceipt({ hash: atLimit });
    assert.equal(ok.status, "success");
    assert.ok(ok.contractAddress != null);
    assert.equal(codeSize(await publicClient.getCode({ address: ok.contractAddress })), MAX_CODE_SIZE);

    const nonce = await publicClient.getTransactionCount({ address: wallet.account.address });
    await assert.rejects(
      wallet.deployContract({ abi: [], bytecode: initCodeReturning(MAX_CODE_SIZE + 1), gas: 10_000_000n }),
      // EDR: "Transaction reverted: trying to deploy a contract whose code is too large".
      /code is too large/,
    );
    const wouldBe = getContractAddress({ from: wallet.account.address, nonce: BigInt(nonce) });
    assert.equal(codeSize(await publicClient.getCode({ address: wouldBe })), 0);
  });
});
