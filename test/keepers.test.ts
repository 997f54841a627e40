/**
 * The keepers end to end on the in-process network: orders execute at the first round after their
 * creation (conditional ones once triggered, stale ones expire), funding settles every interval,
 * every account a crash makes liquidatable is liquidated (largest shortfall first), a restarted
 * keeper resumes from its checkpoint without missing or repeating work, LP epochs settle, and with
 * a transport that fails 20% of calls all the work still completes. The CLI validates its input,
 * logs JSON, serves metrics and stops cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, type EIP1193RequestFn, type Hex, type Transport, custom, getAddress, parseEventLogs } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type AeonDeployment as ScriptDeployment, deployAeon, deploymentRecord } from "../scripts/deploy.js";
import { type Keeper, type KeeperJob, createKeeper } from "../scripts/keeper/keepers.js";
import { uniformGenerator } from "../scripts/exchange/prices.js";
import { Metrics, createJsonLogger } from "../scripts/keeper/runtime.js";
import {
  type AeonClient,
  type AeonDeployment,
  NO_PRICE_BOUND,
  WAD,
  aeonEventAbi,
  createAeonClient,
  engineAbi,
  loadDeployment,
} from "../sdk/src/index.js";

const USDC = 10n ** 6n;
const FEED_UNIT = 10n ** 8n;
const HOUR = 3600n;

interface Chain {
  connection: NetworkConnection;
  d: ScriptDeployment;
  deployment: AeonDeployment;
  /** Every request the keepers made, by method (and getLogs' fromBlock). */
  requests: { method: string; fromBlock?: bigint }[];
}

async function newChain(): Promise<Chain> {
  const connection = await network.create("hardhat");
  const d = await deployAeon(connection.viem);
  const deployment = loadDeployment(JSON.parse(JSON.stringify(deploymentRecord("hardhat", d))));
  return { connection, d, deployment, requests: [] };
}

/** The in-process node as a transport; `failureRate` of the calls fail, half before reaching the node, half after (the answer is lost). */
function transportOf(chain: Chain, failureRate = 0, seed = 7): Transport {
  const random = uniformGenerator(seed);
  const request = (async (args: { method: string; params?: unknown }) => {
    const params = args.params as readonly { fromBlock?: Hex }[] | undefined;
    const fromBlock = args.method === "eth_getLogs" && params?.[0]?.fromBlock !== undefined ? BigInt(params[0].fromBlock) : undefined;
    chain.requests.push({ method: args.method, ...(fromBlock === undefined ? {} : { fromBlock }) });
    if (random() < failureRate) {
      if (random() < 0.5) throw new Error(`injected failure before ${args.method} reached the node`);
      await chain.connection.provider.request(args as Parameters<typeof chain.connection.provider.request>[0]);
      throw new Error(`injected failure: the answer to ${args.method} was lost`);
    }
    return chain.connection.provider.request(args as Parameters<typeof chain.connection.provider.request>[0]);
  }) as EIP1193RequestFn;
  return custom({ request });
}

async function fundedKeeperAccount(chain: Chain) {
  const account = privateKeyToAccount(generatePrivateKey());
  await chain.connection.provider.request({ method: "hardhat_setBalance", params: [account.address, "0x56BC75E2D63100000"] });
  return account;
}

function keeperOn(
  chain: Chain,
  account: Awaited<ReturnType<typeof fundedKeeperAccount>>,
  options: { jobs?: readonly KeeperJob[]; failureRate?: number; checkpointFile?: string; confirmations?: number } = {},
): Keeper {
  return createKeeper({
    transport: transportOf(chain, options.failureRate ?? 0),
    account,
    deployment: chain.deployment,
    jobs: options.jobs ?? ["orders", "funding", "liquidations"],
    pollIntervalMs: 20,
    retry: { attempts: 12, baseDelayMs: 1, maxDelayMs: 20 },
    liquidationBatchSize: 4,
    logger: process.env.KEEPER_DEBUG ? createJsonLogger({ level: "debug" }) : undefined,
    ...(options.checkpointFile === undefined ? {} : { checkpointFile: options.checkpointFile }),
    ...(options.confirmations === undefined ? {} : { confirmations: options.confirmations }),
  });
}

/** Traders: funded wallets with SDK clients. */
async function traders(chain: Chain, count: number): Promise<{ aeon: AeonClient; address: Address }[]> {
  const publicClient = await chain.connection.viem.getPublicClient();
  const wallets = (await chain.connection.viem.getWalletClients()).slice(1, 1 + count);
  assert.equal(wallets.length, count, "enough wallets");
  return Promise.all(
    wallets.map(async (wallet) => {
      assert.ok(chain.d.mocks !== undefined);
      const address = getAddress(wallet.account.address);
      await publicClient.waitForTransactionReceipt({ hash: await chain.d.mocks.usdc.write.mint([address, 1_000_000n * USDC]) });
      return { aeon: createAeonClient({ publicClient, wallet, deployment: chain.deployment }), address };
    }),
  );
}

/** Moves time forward and posts a round on each feed (ETH at `eth` dollars, BTC unchanged unless given); returns ETH's round id. */
async function postPrices(chain: Chain, eth: bigint, options: { advance?: bigint; btc?: bigint } = {}): Promise<bigint> {
  const { time } = chain.connection.networkHelpers;
  await time.increase(options.advance ?? 60n);
  assert.ok(chain.d.mocks !== undefined);
  const publicClient = await chain.connection.viem.getPublicClient();
  await publicClient.waitForTransactionReceipt({ hash: await chain.d.mocks.feeds.ETH.write.setPrice([eth * FEED_UNIT]) });
  const [btcRound] = await chain.d.mocks.feeds.BTC.read.latestRoundData();
  const btcAnswer = (await chain.d.mocks.feeds.BTC.read.getRoundData([btcRound]))[1];
  await publicClient.waitForTransactionReceipt({ hash: await chain.d.mocks.feeds.BTC.write.setPrice([options.btc === undefined ? btcAnswer : options.btc * FEED_UNIT]) });
  const [ethRound] = await chain.d.mocks.feeds.ETH.read.latestRoundData();
  return ethRound;
}

/** The protocol's events of every block so far. */
async function eventsOf(chain: Chain) {
  const publicClient = await chain.connection.viem.getPublicClient();
  const a = chain.deployment.addresses;
  const logs = await publicClient.getLogs({ address: [a.clearingEngine, a.orderBook, a.liquidityPool], fromBlock: 0n });
  return parseEventLogs({ abi: aeonEventAbi, logs, strict: true });
}

async function liquidatableAccounts(chain: Chain, accountIds: readonly number[]): Promise<number[]> {
  const publicClient = await chain.connection.viem.getPublicClient();
  const out: number[] = [];
  for (const accountId of accountIds) {
    const [, liquidatable] = await publicClient.readContract({ address: chain.deployment.addresses.clearingEngine, abi: engineAbi, functionName: "accountHealth", args: [accountId] });
    if (liquidatable) out.push(accountId);
  }
  return out;
}

/** Opens a long (or short) ETH position per trader at the given leverage; the keeper executes the orders. */
async function openPositions(chain: Chain, keeper: Keeper, people: { aeon: AeonClient }[], leverages: readonly number[], eth: bigint): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, person] of people.entries()) {
    const leverage = leverages[i % leverages.length] ?? 2;
    const margin = 2_000n * USDC;
    const { accountId } = await person.aeon.deposit({ amount: margin, authorization: "approve" });
    ids.push(accountId);
    const size = (BigInt(Math.round(leverage * 1000)) * margin * 10n ** 12n) / (1000n * eth);
    await person.aeon.createOrder({ market: "ETH", sizeDelta: size, acceptablePrice: NO_PRICE_BOUND });
  }
  await postPrices(chain, eth);
  await keeper.tick();
  return ids;
}

describe("keepers", () => {
  let chain: Chain;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "aeon-keeper-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    chain = await newChain();
  });

  it("executes a market order at the first round after its creation, triggers a limit order, pops an expired order", async () => {
    const [alice, bob, carol] = await traders(chain, 3);
    assert.ok(alice !== undefined && bob !== undefined && carol !== undefined);
    const keeper = keeperOn(chain, await fundedKeeperAccount(chain), { jobs: ["orders"] });
    for (const person of [alice, bob, carol]) await person.aeon.deposit({ amount: 50_000n * USDC, authorization: "approve" });

    const market = await alice.aeon.createOrder({ market: "ETH", sizeDelta: 2n * WAD, acceptablePrice: NO_PRICE_BOUND });
    await keeper.tick();
    assert.equal(keeper.stats().ordersExecuted, 0, "no round after the order yet: nothing to execute");
    const fillRound = await postPrices(chain, 3010n);
    await postPrices(chain, 3020n, { advance: 10n }); // a later round exists too: the keeper must still prove the first one
    await keeper.tick();
    const executed = (await eventsOf(chain)).filter((e) => e.eventName === "OrderExecuted");
    assert.equal(executed.length, 1);
    assert.equal(executed[0]?.args.orderKey, market.orderKey);
    assert.equal(executed[0]?.args.fillRoundId, fillRound, "filled at the first round after creation");
    assert.equal(executed[0]?.args.price, 3010n * WAD);

    const limit = await bob.aeon.createOrder({ market: "ETH", type: "limit", sizeDelta: WAD, triggerPrice: 2900n * WAD, acceptablePrice: 2950n * WAD });
    await postPrices(chain, 2950n);
    await keeper.tick();
    assert.equal(keeper.stats().ordersTriggered, 0, "2950 does not meet a buy limit at 2900");
    await postPrices(chain, 2890n);
    await keeper.tick();
    assert.equal(keeper.stats().ordersTriggered, 1);
    const triggered = (await eventsOf(chain)).find((e) => e.eventName === "OrderTriggered");
    assert.ok(triggered?.eventName === "OrderTriggered" && triggered.args.conditionalKey === limit.orderKey);
    const limitFill = await postPrices(chain, 2895n);
    await keeper.tick();
    const limitExecuted = (await eventsOf(chain)).filter((e) => e.eventName === "OrderExecuted").find((e) => e.args.orderKey === triggered.args.orderKey);
    assert.equal(limitExecuted?.args.fillRoundId, limitFill);

    // An order whose first round comes after maxOrderAge (1 h) expires: the keeper pops it.
    const stale = await carol.aeon.createOrder({ market: "ETH", sizeDelta: WAD, acceptablePrice: NO_PRICE_BOUND });
    await postPrices(chain, 2900n, { advance: 2n * HOUR });
    await keeper.tick();
    const cancelled = (await eventsOf(chain)).find((e) => e.eventName === "OrderCancelled" && e.args.orderKey === stale.orderKey);
    assert.ok(cancelled?.eventName === "OrderCancelled" && cancelled.args.reason === 1, "expired");
    assert.deepEqual(
      { executed: keeper.stats().ordersExecuted, expired: keeper.stats().ordersExpired, errors: keeper.stats().errors },
      { executed: 2, expired: 1, errors: 0 },
    );
    await keeper.tick();
    assert.equal(keeper.stats().transactions, 4, "an idle pass sends nothing");
  });

  it("executes past runs of holes liquidations leave in the queue (32 and 40 in a row)", async () => {
    const people = await traders(chain, 10);
    const trader = people[9];
    assert.ok(trader !== undefined);
    const liquidator = keeperOn(chain, await fundedKeeperAccount(chain), { jobs: ["liquidations"] });
    const executor = keeperOn(chain, await fundedKeeperAccount(chain), { jobs: ["orders"] });
    await trader.aeon.deposit({ amount: 50_000n * USDC, authorization: "approve" });
    const holesThenOrder = async (accounts: { aeon: AeonClient }[], eth: bigint) => {
      await openPositions(chain, executor, accounts, [25], eth);
      for (const person of accounts) {
        for (let i = 0; i < 8; ++i) await person.aeon.createOrder({ market: "ETH", sizeDelta: WAD / 100n, acceptablePrice: NO_PRICE_BOUND });
      }
      const before = liquidator.stats().liquidations;
      await postPrices(chain, (eth * 9n) / 10n); // the 25x accounts go under; their 8 orders each become holes
      await liquidator.tick();
      assert.equal(liquidator.stats().liquidations - before, accounts.length);
      const order = await trader.aeon.createOrder({ market: "ETH", sizeDelta: WAD, acceptablePrice: NO_PRICE_BOUND });
      await postPrices(chain, (eth * 9n) / 10n);
      await executor.tick();
      const executed = (await eventsOf(chain)).filter((e) => e.eventName === "OrderExecuted").map((e) => e.args.orderKey);
      assert.ok(executed.includes(order.orderKey), `the order behind ${accounts.length * 8} holes executed`);
    };
    await holesThenOrder(people.slice(0, 4), 3000n);
    await holesThenOrder(people.slice(4, 9), 2700n);
    assert.equal(liquidator.stats().liquidations, 9);
    assert.equal(executor.stats().errors, 0);
    const [head, tail] = await chain.d.contracts.orderBook.read.queues([0]);
    assert.equal(head, tail, "the queue is empty");
  });

  it("proves a fill round across a Chainlink phase change", async () => {
    const [alice] = await traders(chain, 1);
    assert.ok(alice !== undefined && chain.d.mocks !== undefined);
    const keeper = keeperOn(chain, await fundedKeeperAccount(chain), { jobs: ["orders"] });
    await alice.aeon.deposit({ amount: 50_000n * USDC, authorization: "approve" });
    const order = await alice.aeon.createOrder({ market: "ETH", sizeDelta: WAD, acceptablePrice: NO_PRICE_BOUND });
    const [lastOfPhase1] = await chain.d.mocks.feeds.ETH.read.latestRoundData();
    await chain.d.mocks.feeds.ETH.write.startNewPhase();
    const fillRound = await postPrices(chain, 3005n, { advance: 5n });
    assert.equal(fillRound >> 64n, 2n, "the fill round is the new phase's first");
    await keeper.tick();
    const executed = (await eventsOf(chain)).find((e) => e.eventName === "OrderExecuted");
    assert.ok(executed?.eventName === "OrderExecuted" && executed.args.orderKey === order.orderKey);
    assert.equal(executed.args.fillRoundId, fillRound);
    assert.equal(lastOfPhase1 >> 64n, 1n);
  });

  it("settles funding once per interval in every market", async () => {
    const keeper = keeperOn(chain, await fundedKeeperAccount(chain), { jobs: ["funding"] });
    const config = await chain.d.contracts.engine.read.marketConfig([0]);
    const interval = BigInt(config.fundingInterval);
    const start = (await chain.d.contracts.governance.read.marketState([0])).lastSettlement;
    // A price every 30 minutes (the heartbeat is an hour) and a pass after each, for three
    // intervals and an hour (a settlement can come up to a step late, and the next is due an interval after it).
    for (let t = 0n; t < 3n * interval + HOUR; t += HOUR / 2n) {
      await postPrices(chain, 3000n, { advance: HOUR / 2n });
      await keeper.tick();
    }
    const settled = (await eventsOf(chain)).filter((e) => e.eventName === "FundingSettled");
    assert.equal(settled.filter((e) => e.args.marketId === 0).length, 3);
    assert.equal(settled.filter((e) => e.args.marketId === 1).length, 3);
    for (const e of settled) assert.ok(e.args.elapsed >= interval && e.args.elapsed <= interval + HOUR / 2n + 10n, `settled late: ${settled.map((x) => x.args.elapsed).join(", ")}`);
    const state = await chain.d.contracts.governance.read.marketState([0]);
    assert.ok(state.lastSettlement >= start + 3n * interval);
    assert.equal(keeper.stats().fundingSettlements, 6);
    assert.equal(keeper.stats().skipped, 0, "never sent before due");
  });

  it("liquidates every account a crash makes liquidatable, largest shortfall first", async () => {
    const people = await traders(chain, 10);
    const keeper = keeperOn(chain, await fundedKeeperAccount(chain));
    const ids = await openPositions(chain, keeper, people, [2, 5, 10, 15, 20, 25, 6, 8, 12, 3], 3000n);
    assert.equal(keeper.stats().ordersExecuted, 10);
    assert.deepEqual(await liquidatableAccounts(chain, ids), []);

    await postPrices(chain, 2700n); // -10%: the 10x and higher go under
    const underwater = await liquidatableAccounts(chain, ids);
    assert.ok(underwater.length >= 4, `${underwater.length} liquidatable`);
    const shortfalls = new Map<number, bigint>();
    for (const id of underwater) {
      const [h] = await chain.d.contracts.liquidator.read.accountHealth([id]);
      shortfalls.set(id, h.maintenanceMargin - h.equity);
    }
    await keeper.tick();
    assert.deepEqual(await liquidatableAccounts(chain, ids), [], "none left");
    const liquidated = (await eventsOf(chain)).filter((e) => e.eventName === "Liquidated").map((e) => e.args.accountId);
    assert.deepEqual([...liquidated].sort(), [...underwater].sort());
    const expectedOrder = [...underwater].sort((a, b) => Number((shortfalls.get(b) ?? 0n) - (shortfalls.get(a) ?? 0n)));
    assert.deepEqual(liquidated, expectedOrder, "largest shortfall first");
    assert.equal(keeper.stats().liquidations, underwater.length);
  });

  it("resumes from its checkpoint after a restart: no rescan from the deployment, nothing missed, nothing repeated", async () => {
    const file = path.join(dir, "restart.json");
    const people = await traders(chain, 8);
    const account = await fundedKeeperAccount(chain);
    const first = keeperOn(chain, account, { checkpointFile: file });
    const ids = await openPositions(chain, first, people.slice(0, 4), [20, 25, 3, 4], 3000n);
    await postPrices(chain, 2700n);
    const firstRun = first.run();
    while ((await liquidatableAccounts(chain, ids)).length > 0) await new Promise((r) => setTimeout(r, 20));
    await first.stop();
    await firstRun;
    const saved = JSON.parse(await readFile(file, "utf8")) as { lastProcessedBlock: { $bigint: string } };
    const resumeFrom = BigInt(saved.lastProcessedBlock.$bigint) + 1n;
    const firstStats = first.stats();

    // While the keeper is down: more positions (orders wait in the queue), then another drop.
    for (const person of people.slice(4)) {
      await person.aeon.deposit({ amount: 2_000n * USDC, authorization: "approve" });
      await person.aeon.createOrder({ market: "ETH", sizeDelta: (25n * 2_000n * WAD) / 2700n, acceptablePrice: NO_PRICE_BOUND });
    }
    await postPrices(chain, 2700n);
    chain.requests.length = 0;
    const second = keeperOn(chain, account, { checkpointFile: file });
    await second.tick(); // executes the queued orders
    await postPrices(chain, 2450n);
    await second.tick(); // liquidates the new positions and the old low-leverage ones now under
    const firstScan = chain.requests.find((r) => r.method === "eth_getLogs");
    assert.equal(firstScan?.fromBlock, resumeFrom, "the restarted keeper scans from its checkpoint");

    const events = await eventsOf(chain);
    const executions = events.filter((e) => e.eventName === "OrderExecuted").map((e) => e.args.orderKey);
    assert.equal(executions.length, 8);
    assert.equal(new Set(executions).size, 8, "each order executed once");
    const allIds = [...ids, ...(await Promise.all(people.slice(4).map((p) => p.aeon.getAccountId(p.address))))];
    assert.deepEqual(await liquidatableAccounts(chain, allIds), [], "nothing missed");
    const liquidated = events.filter((e) => e.eventName === "Liquidated").map((e) => e.args.accountId);
    assert.equal(new Set(liquidated).size, liquidated.length);
    assert.equal(firstStats.liquidations + second.stats().liquidations, liquidated.length);
    assert.equal(second.stats().skipped + second.stats().errors, 0, "the restarted keeper repeated nothing");
    assert.ok(second.stats().ordersExecuted === 4 && second.stats().liquidations >= 4);
  });

  it("does not resume a checkpoint from another chain (a reset local node with the same addresses)", async () => {
    const file = path.join(dir, "reset.json");
    const account = await fundedKeeperAccount(chain);
    const [alice] = await traders(chain, 1);
    assert.ok(alice !== undefined);
    await alice.aeon.deposit({ amount: 2_000n * USDC, authorization: "approve" });
    await keeperOn(chain, account, { checkpointFile: file }).tick();
    const saved = JSON.parse(await readFile(file, "utf8")) as { lastProcessedBlock: { $bigint: string } };
    assert.ok(BigInt(saved.lastProcessedBlock.$bigint) > chain.deployment.deploymentBlock);

    const fresh = await newChain();
    try {
      assert.equal(fresh.deployment.addresses.clearingEngine, chain.deployment.addresses.clearingEngine, "deterministic addresses");
      const keeper = keeperOn(fresh, await fundedKeeperAccount(fresh), { checkpointFile: file });
      await keeper.tick();
      const firstScan = fresh.requests.find((r) => r.method === "eth_getLogs");
      assert.equal(firstScan?.fromBlock, fresh.deployment.deploymentBlock, "rescanned from the deployment block");
      assert.equal(keeper.stats().trackedAccounts, 0, "nothing from the other chain");
    } finally {
      await fresh.connection.close();
    }
  });

  it("reads events `confirmations - 1` blocks behind the head and reports the lag", async () => {
    const keeper = keeperOn(chain, await fundedKeeperAccount(chain), { jobs: ["liquidations"], confirmations: 3 });
    await keeper.tick();
    const head = await (await chain.connection.viem.getPublicClient()).getBlockNumber();
    assert.equal(keeper.stats().lastProcessedBlock, head - 2n);
    assert.equal(keeper.metrics.value("aeon_keeper_lag_blocks"), 2);
  });

  it("completes every job through a transport that fails 20% of calls", async () => {
    const people = await traders(chain, 6);
    const lp = people[5];
    assert.ok(lp !== undefined);
    const keeper = keeperOn(chain, await fundedKeeperAccount(chain), { failureRate: 0.2 });
    const run = keeper.run();
    const ids: number[] = [];
    for (const [i, person] of people.slice(0, 5).entries()) {
      const { accountId } = await person.aeon.deposit({ amount: 2_000n * USDC, authorization: "approve" });
      ids.push(accountId);
      await person.aeon.createOrder({ market: "ETH", sizeDelta: (BigInt(5 + 5 * i) * 2_000n * WAD) / 3000n, acceptablePrice: NO_PRICE_BOUND });
    }
    await lp.aeon.requestLpDeposit({ assets: 10_000n * USDC });
    const until = async (what: string, done: () => Promise<boolean>) => {
      for (let i = 0; i < 500; ++i) {
        if (await done()) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail(`${what}: not done after 10 s (keeper ${JSON.stringify(keeper.stats(), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))})`);
    };
    await postPrices(chain, 3000n);
    await until("orders executed", async () => (await eventsOf(chain)).filter((e) => e.eventName === "OrderExecuted").length === 5);
    // An epoch and a funding interval pass; then a crash.
    for (let h = 0; h < 9; ++h) await postPrices(chain, 3000n, { advance: HOUR });
    await until("epoch settled", async () => (await eventsOf(chain)).some((e) => e.eventName === "EpochSettled" && e.args.depositAssets > 0n));
    await until("funding settled", async () => (await eventsOf(chain)).filter((e) => e.eventName === "FundingSettled").length >= 2);
    await postPrices(chain, 2400n);
    await until("crash liquidated", async () => (await liquidatableAccounts(chain, ids)).length === 0);
    await keeper.stop();
    await run;
    assert.ok((await eventsOf(chain)).filter((e) => e.eventName === "Liquidated").length >= 3);
    assert.ok(keeper.metrics.value("aeon_keeper_rpc_retries_total") > 20, "the failures were retried");
    const render = keeper.metrics.render();
    for (const name of ["aeon_keeper_orders_executed_total", "aeon_keeper_liquidations_total", "aeon_keeper_funding_settlements_total", "aeon_keeper_errors_total", "aeon_keeper_lag_blocks"]) {
      assert.match(render, new RegExp(`^${name}`, "m"));
    }
  });
});

describe("keeper CLI", () => {
  it("refuses bad input with its usage and exit code 2", async () => {
    const result = await runCli(["liquidations", "--deployment", "x.json"], {});
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--rpc <url> is required/);
    const noKey = await runCli(["all", "--rpc", "http://127.0.0.1:1", "--deployment", "x.json"], {});
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /AEON_KEEPER_PRIVATE_KEY/);
    const badJob = await runCli(["everything", "--rpc", "http://127.0.0.1:1", "--deployment", "x.json"], {});
    assert.match(badJob.stderr, /unknown job "everything"/);
  });

  it("runs against a node over HTTP: JSON logs, metrics on localhost, clean stop on SIGTERM", async () => {
    const { network: networks } = await import("hardhat");
    const server = await networks.createServer("hardhat", "127.0.0.1", 0);
    const { port } = await server.listen();
    const url = `http://127.0.0.1:${port}`;
    const dir = await mkdtemp(path.join(tmpdir(), "aeon-cli-"));
    let child: ReturnType<typeof startCli> | undefined;
    try {
      const connection = await networks.create({ network: "localhost", override: { url } });
      const d = await deployAeon(connection.viem);
      const file = path.join(dir, "deployment.json");
      await writeFile(file, JSON.stringify(deploymentRecord("localhost", d)));
      const key = generatePrivateKey();
      await connection.provider.request({ method: "hardhat_setBalance", params: [privateKeyToAccount(key).address, "0x56BC75E2D63100000"] });
      const metricsProbe = new Metrics();
      const free = await metricsProbe.serve(0);
      await free.close();
      child = startCli(["all", "--rpc", url, "--deployment", file, "--checkpoint", path.join(dir, "cp.json"), "--metrics-port", String(free.port), "--poll-interval", "100"], {
        AEON_KEEPER_PRIVATE_KEY: key,
      });
      let metrics = "";
      // Until the gauge has a value (its HELP line is served from the start).
      for (let i = 0; i < 100 && !/^aeon_keeper_head_block \d+/m.test(metrics); ++i) {
        await new Promise((r) => setTimeout(r, 100));
        metrics = await fetch(`http://127.0.0.1:${free.port}/metrics`).then((r) => r.text(), () => "");
      }
      assert.match(metrics, /^aeon_keeper_head_block \d+/m);
      child.process.kill("SIGTERM");
      const result = await child.done;
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stderr.trim().split("\n").map((line) => JSON.parse(line) as { level: string; msg: string });
      assert.ok(lines.some((l) => l.msg === "keeper started"));
      assert.equal(lines.at(-1)?.msg, "keeper stopped");
      assert.ok(lines.every((l) => l.level !== "error"));
      await readFile(path.join(dir, "cp.json"), "utf8");
      await connection.close();
    } finally {
      // A failed assertion must not leave the keeper holding the server open (close would hang).
      if (child !== undefined && child.process.exitCode === null) child.process.kill("SIGKILL");
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function startCli(args: readonly string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", path.join("scripts", "keeper.ts"), ...args], {
    env: { ...process.env, AEON_KEEPER_PRIVATE_KEY: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const done = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => child.on("close", (code) => resolve({ code, stderr, stdout })));
  return { process: child, done };
}

function runCli(args: readonly string[], env: Record<string, string>) {
  return startCli(args, env).done;
}
