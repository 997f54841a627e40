/**
 * The SDK end to end on the in-process network, through its public API only: deposit, open a
 * market order (a keeper, played by the test, posts the fill round and executes it with the SDK),
 * move the price, settle funding, close, withdraw, claim the keeper's fees — once with a viem
 * wallet client, once with an ethers v6 signer. Also: typed revert decoding and subscriptions.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ethers } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { PublicClient, WalletClient } from "@nomicfoundation/hardhat-viem/types";
import { type Address, encodeErrorResult, getAddress } from "viem";
import { type AeonDeployment as ScriptDeployment, deployAeon, deploymentRecord } from "../../scripts/deploy.js";
import { defaultParameters } from "../../scripts/parameters.js";
import {
  type AeonClient,
  AeonDeploymentError,
  AeonError,
  type AeonEvent,
  WAD,
  aeonErrorAbi,
  createAeonClient,
  decodeAeonError,
  describeAeonError,
  describedErrorNames,
  formatUsd,
  loadDeployment,
  watchAccount,
} from "../../sdk/src/index.js";

const USDC = 10n ** 6n;
const TO_WAD = 10n ** 12n;
const FEED_UNIT = 10n ** 8n;
const SIZE = 10n * WAD;
const DEPOSIT = 10_000n * USDC;
const MIN_FEE = defaultParameters.markets[0]!.orderBounds.minExecutionFee;

function eventOf<N extends AeonEvent["eventName"]>(events: readonly AeonEvent[], name: N): Extract<AeonEvent, { eventName: N }> {
  const event = events.find((e) => e.eventName === name);
  assert.ok(event !== undefined, `no ${name} event among ${events.map((e) => e.eventName).join(", ")}`);
  return event as Extract<AeonEvent, { eventName: N }>;
}

class World {
  private constructor(
    readonly connection: NetworkConnection,
    readonly d: ScriptDeployment,
    readonly publicClient: PublicClient,
    readonly wallets: readonly WalletClient[],
  ) {}

  static async create(): Promise<World> {
    const connection = await network.create("hardhat");
    const d = await deployAeon(connection.viem);
    return new World(connection, d, await connection.viem.getPublicClient(), await connection.viem.getWalletClients());
  }

  /** The SDK's deployment, from the JSON record the deploy script writes. */
  get deployment() {
    return loadDeployment(JSON.parse(JSON.stringify(deploymentRecord("hardhat", this.d))));
  }

  wallet(i: number): WalletClient {
    const w = this.wallets[i];
    assert.ok(w !== undefined);
    return w;
  }

  get mocks() {
    assert.ok(this.d.mocks !== undefined);
    return this.d.mocks;
  }

  async mint(to: Address, amount: bigint): Promise<void> {
    await this.publicClient.waitForTransactionReceipt({ hash: await this.mocks.usdc.write.mint([to, amount]) });
  }

  /** The keeper's part: posts the next ETH round `seconds` after the latest block; returns its id. */
  async postPrice(dollars: bigint, seconds = 1n): Promise<bigint> {
    const { time } = this.connection.networkHelpers;
    await time.setNextBlockTimestamp(BigInt(await time.latest()) + seconds);
    const feed = this.mocks.feeds.ETH;
    await this.publicClient.waitForTransactionReceipt({ hash: await feed.write.setPrice([dollars * FEED_UNIT]) });
    const [roundId] = await feed.read.latestRoundData();
    return roundId;
  }

  async usdcBalance(owner: Address): Promise<bigint> {
    return this.mocks.usdc.read.balanceOf([owner]);
  }
}

/**
 * The whole round trip with `trader` (an SDK client over a viem wallet or an ethers signer) and a
 * viem keeper client. `authorization` picks approve-then-deposit or the permit path.
 */
function roundTrip(label: string, setup: () => Promise<{ world: World; trader: AeonClient; traderAddress: Address; keeper: AeonClient; keeperAddress: Address }>, authorization: "approve" | "permit") {
  describe(`sdk client round trip (${label})`, () => {
    let world: World;
    let trader: AeonClient;
    let traderAddress: Address;
    let keeper: AeonClient;
    let keeperAddress: Address;
    let accountId: number;
    let collateralAfterOpen: bigint;
    const feesPaid: bigint[] = [];

    before(async () => {
      ({ world, trader, traderAddress, keeper, keeperAddress } = await setup());
      await world.mint(traderAddress, DEPOSIT);
    });

    /** Creates a market order with the SDK; the keeper posts the fill round and executes it with the SDK. */
    async function fill(sizeDelta: bigint, acceptablePrice: bigint, reduceOnly: boolean, dollars: bigint) {
      const created = await trader.createOrder({ market: "ETH", sizeDelta, acceptablePrice, reduceOnly });
      const event = eventOf(created.events, "OrderCreated");
      assert.equal(event.args.orderKey, created.orderKey);
      assert.equal(event.args.executionFee, created.executionFee);
      assert.ok(created.executionFee >= MIN_FEE);
      feesPaid.push(created.executionFee);
      const [pending] = await trader.getPendingOrders(traderAddress);
      assert.ok(pending !== undefined);
      assert.equal(pending.orderKey, created.orderKey);
      assert.equal(pending.queued, true);
      assert.equal(pending.queuePosition, 0n);
      assert.equal(pending.sizeDelta, sizeDelta);
      assert.equal(pending.executionFee, created.executionFee);

      const fillRoundId = await world.postPrice(dollars);
      const executed = await keeper.executeOrder({ market: "ETH", fillRoundId, previousRoundId: pending.anchorRoundId });
      const done = eventOf(executed.events, "OrderExecuted");
      assert.equal(done.args.orderKey, created.orderKey);
      assert.equal(done.args.executor, keeperAddress);
      assert.equal(done.args.price, dollars * WAD);
      const change = eventOf(executed.events, "PositionChanged");
      assert.equal(change.args.accountId, accountId);
      assert.equal(change.args.sizeDelta, sizeDelta);
      assert.deepEqual(await trader.getPendingOrders(traderAddress), []);
      return change.args;
    }

    it(`deposits (${authorization}) and shows the new account`, async () => {
      const result = await trader.deposit({ amount: DEPOSIT, authorization });
      if (authorization === "approve") {
        assert.ok(result.approval !== undefined, "an approval was sent first");
        eventOf(result.approval.events, "Approval");
      } else {
        assert.equal(result.approval, undefined, "the permit replaced the approval");
      }
      const deposited = eventOf(result.events, "CollateralDeposited");
      assert.equal(deposited.args.amountWad, DEPOSIT * TO_WAD);
      accountId = result.accountId;
      assert.ok(accountId > 0);
      assert.equal(await world.usdcBalance(traderAddress), 0n);

      const account = await trader.getAccount(traderAddress);
      assert.equal(account.accountId, accountId);
      assert.equal(account.exists, true);
      assert.equal(account.collateral, DEPOSIT * TO_WAD);
      assert.equal(account.equity, DEPOSIT * TO_WAD);
      assert.equal(account.withdrawable, DEPOSIT * TO_WAD);
      assert.equal(account.withdrawableTokenUnits, DEPOSIT);
      assert.equal(account.healthRatio, undefined);
      assert.equal(account.liquidatable, false);
      assert.deepEqual(account.positions, []);
    });

    it("opens 10 ETH long at 3,000 through a keeper-executed market order", async () => {
      const change = await fill(SIZE, 3100n * WAD, false, 3000n);
      assert.equal(change.newSize, SIZE);
      assert.equal(change.newCost, 30_000n * WAD);
      collateralAfterOpen = change.collateral;

      const account = await trader.getAccount(traderAddress);
      const [position] = account.positions;
      assert.ok(position !== undefined);
      assert.equal(position.symbol, "ETH");
      assert.equal(position.size, SIZE);
      assert.equal(position.entryPrice, 3000n * WAD);
      assert.equal(position.markPrice, 3000n * WAD);
      assert.equal(position.notional, 30_000n * WAD);
      assert.equal(position.unrealizedPnl, 0n);
      assert.equal(account.collateral, change.collateral);
      // The SDK's per-position figures add up to the engine's equity.
      assert.equal(account.equity, account.collateral + position.pnl);
      assert.ok(account.initialMargin > 0n && account.maintenanceMargin > 0n);
      assert.ok(account.healthRatio !== undefined && account.healthRatio > WAD);
      assert.ok(account.withdrawable > 0n && account.withdrawable < account.collateral);
    });

    it("rejects a withdrawal beyond the margin with a typed, formatted InsufficientMargin", async () => {
      const account = await trader.getAccount(traderAddress);
      const tooMuch = account.withdrawableTokenUnits + 100n * USDC;
      const error = await trader.withdraw({ amount: tooMuch }).then(
        () => assert.fail("the withdrawal should revert"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof AeonError, `expected AeonError, got ${String(error)}`);
      assert.ok(error.is("InsufficientMargin"));
      const [equity, required] = error.args;
      assert.ok(required >= account.initialMargin);
      assert.ok(equity < BigInt(required));
      assert.match(error.shortMessage, /margin [\d,]+\.\d\d USDC, need [\d,]+\.\d\d USDC/);
      assert.ok(error.message.includes(formatUsd(equity)) && error.message.includes(formatUsd(required)));
      assert.ok(error.hint !== undefined && error.message.includes(error.hint));
    });

    it("moves the price and settles funding after 8 hours (FundingSettled)", async () => {
      await world.postPrice(3300n, 3600n);
      await world.connection.networkHelpers.time.increase(8 * 3600);
      await world.postPrice(3300n);
      const result = await keeper.settleFunding("ETH");
      const settled = eventOf(result.events, "FundingSettled");
      assert.equal(settled.args.marketId, 0);
      assert.ok(settled.args.elapsed >= 8n * 3600n);

      const account = await trader.getAccount(traderAddress);
      const [position] = account.positions;
      assert.ok(position !== undefined);
      assert.equal(position.markPrice, 3300n * WAD);
      assert.equal(position.unrealizedPnl, 3000n * WAD);
      assert.ok(position.accruedFunding > 0n, "longs pay while the skew is long");
      assert.ok(position.accruedBorrowing > 0n);
      assert.equal(account.equity, account.collateral + position.pnl);
      assert.equal(account.positivePnl, position.pnl);

      const market = await trader.getMarket("ETH");
      assert.equal(market.symbol, "ETH");
      assert.equal(market.priceValid, true);
      assert.equal(market.price, 3300n * WAD);
      assert.equal(market.skew, market.state.longSize - market.state.shortSize);
      assert.ok(market.skew >= SIZE);
      // Mark price = index * (1 + K / S); the interval has just been settled, so 8 hours remain.
      assert.equal(market.premium, (market.skew * WAD) / market.config.skewScale);
      assert.equal(market.markPrice, (market.price * (WAD + market.premium)) / WAD);
      assert.ok(market.markPrice > market.price, "a long skew puts the mark above the index");
      const now = (await trader.publicClient.getBlock()).timestamp;
      assert.equal(market.secondsToNextSettlement, market.nextFundingSettlement - now);
      assert.ok(market.secondsToNextSettlement > 0n && market.secondsToNextSettlement <= 8n * 3600n);
      await assert.rejects(keeper.settleFunding("ETH"), (e: unknown) => e instanceof AeonError && e.is("FundingNotDue"));
    });

    it("closes with a reduce-only order and realizes the profit", async () => {
      const change = await fill(-SIZE, 0n, true, 3300n);
      assert.equal(change.newSize, 0n);
      assert.equal(change.realizedPnl, 3000n * WAD);
      assert.ok(change.fundingPaid > 0n && change.borrowingPaid > 0n);
      assert.ok(change.collateral > collateralAfterOpen);
      const account = await trader.getAccount(traderAddress);
      assert.deepEqual(account.positions, []);
      assert.equal(account.collateral, change.collateral);
      assert.equal(account.withdrawable, account.collateral);
    });

    it("withdraws everything withdrawable, to the token unit", async () => {
      const account = await trader.getAccount(traderAddress);
      const amount = account.withdrawableTokenUnits;
      assert.equal(amount, account.collateral / TO_WAD);
      const result = await trader.withdraw({ amount });
      const withdrawn = eventOf(result.events, "CollateralWithdrawn");
      assert.equal(withdrawn.args.amountWad, amount * TO_WAD);
      assert.equal(withdrawn.args.to, traderAddress);
      assert.equal(await world.usdcBalance(traderAddress), amount);
      assert.ok(amount > DEPOSIT, "the profit exceeded fees, funding and borrowing");
      const left = await trader.getAccount(traderAddress);
      assert.ok(left.collateral < TO_WAD, "only dust below one token unit stays");
      assert.equal(left.withdrawableTokenUnits, 0n);
    });

    it("pays the keeper both execution fees as native credits, which it claims", async () => {
      const credits = await keeper.getKeeperCredits(keeperAddress);
      assert.equal(credits.native, feesPaid.reduce((a, b) => a + b, 0n));
      const result = await keeper.claimNativeCredits();
      const claimed = eventOf(result.events, "NativeClaimed");
      assert.equal(claimed.args.amount, credits.native);
      assert.equal((await keeper.getKeeperCredits(keeperAddress)).native, 0n);
      await assert.rejects(keeper.claimNativeCredits(), (e: unknown) => e instanceof AeonError && e.is("NothingToClaim"));
    });
  });
}

// ---------------------------------------------------------------- viem wallet client

let viemWorld: World | undefined;
after(async () => {
  await viemWorld?.connection.close();
});

roundTrip(
  "viem wallet client",
  async () => {
    viemWorld = await World.create();
    const w = viemWorld;
    const deployment = w.deployment;
    const traderWallet = w.wallet(1);
    const keeperWallet = w.wallet(2);
    return {
      world: w,
      trader: createAeonClient({ publicClient: w.publicClient, wallet: traderWallet, deployment }),
      traderAddress: getAddress(traderWallet.account.address),
      keeper: createAeonClient({ publicClient: w.publicClient, wallet: keeperWallet, deployment }),
      keeperAddress: getAddress(keeperWallet.account.address),
    };
  },
  "approve",
);

// ---------------------------------------------------------------- ethers v6 signer

let ethersWorld: World | undefined;
let ethersProvider: ethers.BrowserProvider | undefined;
after(async () => {
  ethersProvider?.destroy();
  await ethersWorld?.connection.close();
});

roundTrip(
  "ethers v6 signer",
  async () => {
    ethersWorld = await World.create();
    const w = ethersWorld;
    const deployment = w.deployment;
    ethersProvider = new ethers.BrowserProvider(w.connection.provider);
    const traderAddress = getAddress(w.wallet(3).account.address);
    const keeperAddress = getAddress(w.wallet(4).account.address);
    const traderSigner = await ethersProvider.getSigner(traderAddress);
    const keeperSigner = await ethersProvider.getSigner(keeperAddress);
    return {
      world: w,
      trader: createAeonClient({ publicClient: w.publicClient, wallet: traderSigner, deployment }),
      traderAddress,
      keeper: createAeonClient({ publicClient: w.publicClient, wallet: keeperSigner, deployment }),
      keeperAddress,
    };
  },
  "permit",
);

// ---------------------------------------------------------------- watch

describe("sdk watchAccount", () => {
  let w: World;
  before(async () => {
    w = await World.create();
  });
  after(async () => {
    await w.connection.close();
  });

  it("receives the PositionChanged and OrderExecuted events of an execution", async () => {
    const deployment = w.deployment;
    const trader = createAeonClient({ publicClient: w.publicClient, wallet: w.wallet(1), deployment });
    const keeper = createAeonClient({ publicClient: w.publicClient, wallet: w.wallet(2), deployment });
    const traderAddress = getAddress(w.wallet(1).account.address);
    await w.mint(traderAddress, DEPOSIT);
    const { accountId } = await trader.deposit({ amount: DEPOSIT });

    const changes: bigint[] = [];
    const executions: bigint[] = [];
    const created: bigint[] = [];
    const stop = watchAccount(
      trader,
      accountId,
      {
        onPositionChanged: (e) => changes.push(e.args.newSize),
        onOrderExecuted: (e) => executions.push(e.args.orderKey),
        onOrderCreated: (e) => created.push(e.args.orderKey),
        onError: (e) => assert.fail(e),
      },
      { pollingInterval: 50 },
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the filters are installed
      const order = await trader.createOrder({ market: "ETH", sizeDelta: SIZE, acceptablePrice: 3100n * WAD });
      const fillRoundId = await w.postPrice(3000n);
      const [pending] = await trader.getPendingOrders(traderAddress);
      assert.ok(pending !== undefined);
      await keeper.executeOrder({ market: 0, fillRoundId, previousRoundId: pending.anchorRoundId });
      const deadline = Date.now() + 10_000;
      while ((changes.length === 0 || executions.length === 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(created, [order.orderKey]);
      assert.deepEqual(executions, [order.orderKey]);
      assert.deepEqual(changes, [SIZE]);
    } finally {
      stop();
    }
  });
});

// ---------------------------------------------------------------- errors and deployment records

describe("sdk errors", () => {
  it("formats InsufficientMargin(equity, required) in USDC", () => {
    const data = encodeErrorResult({ abi: aeonErrorAbi, errorName: "InsufficientMargin", args: [812_40n * WAD / 100n, 1_000n * WAD] });
    const error = decodeAeonError(data);
    assert.ok(error !== undefined && error.is("InsufficientMargin"));
    assert.deepEqual(error.args, [812_40n * WAD / 100n, 1_000n * WAD]);
    assert.match(error.shortMessage, /margin 812\.40 USDC, need 1,000\.00 USDC/);
    assert.equal(decodeAeonError("0xdeadbeef"), undefined);
  });

  it("has a dedicated message for every error of the merged ABIs", () => {
    const described = new Set(describedErrorNames());
    for (const item of aeonErrorAbi) {
      assert.ok(described.has(item.name), `no message for ${item.name}`);
      const args = item.inputs.map((input) =>
        input.type === "address" ? "0x0000000000000000000000000000000000000001"
        : input.type === "string" ? "x"
        : input.type.startsWith("bytes") ? "0x" + "11".repeat(Number(input.type.slice(5)) || 1)
        : input.type.startsWith("uint8") || input.type === "uint16" || input.type === "uint40" ? 1
        : 1n,
      );
      const data = encodeErrorResult({ abi: [item], errorName: item.name, args } as Parameters<typeof encodeErrorResult>[0]);
      const error = decodeAeonError(data);
      assert.ok(error !== undefined, `${item.name} does not decode`);
      const { message } = describeAeonError({ errorName: error.errorName, args: error.args } as Parameters<typeof describeAeonError>[0]);
      assert.notEqual(message, `${item.name}(${args.map(String).join(", ")})`, `${item.name} has only the generic message`);
      assert.ok(message.length > 10 && !message.includes("undefined"), `${item.name}: ${message}`);
    }
  });

  it("rejects a malformed deployment record naming the field", () => {
    assert.throws(() => loadDeployment({ network: "x", chainId: 1, deploymentBlock: "1", addresses: { usdc: "0x12" }, marketIds: {} }), (e: unknown) =>
      e instanceof AeonDeploymentError && e.field === "addresses.usdc" && /20-byte hex address/.test(e.message),
    );
    assert.throws(() => loadDeployment("nope"), AeonDeploymentError);
  });
});
