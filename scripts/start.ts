/**
 * `npm start`: the local exchange.
 *
 * Starts a Hardhat network with a JSON-RPC server (127.0.0.1:8545 by default: MetaMask or the SDK
 * can connect), deploys Aeon with mock USDC and mock ETH-USD and BTC-USD feeds, funds the test
 * accounts, and runs, all against that endpoint: a price clock that moves time `--speed` times
 * faster than real time and posts the price path on the feeds, simulated traders and LPs, and the
 * keepers. A live view shows the markets, the pool and the activity; `--json` writes a summary.
 *
 * Run `npm start -- --help` for the options.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodePacked,
  http,
  keccak256,
  parseAbi,
} from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { type AeonPool, createAeonClient, engineAbi, loadDeployment } from "../sdk/src/index.js";
import { deployAeon, deploymentRecord } from "./deploy.js";
import { KEEPER_JOBS, type KeeperJob, createKeeper } from "./keeper/keepers.js";
import { createJsonLogger, sleep } from "./keeper/runtime.js";
import { type AeonParameters, defaultParameters } from "./parameters.js";
import {
  type ActorIdentity,
  Limiter,
  createActorStats,
  describeRefusal,
  runLiquidityProvider,
  runTrader,
} from "./exchange/actors.js";
import { type PriceUpdate, createPriceClock, toAnswer } from "./exchange/clock.js";
import { buildSummary, createEventCounter, createLiquidationWatch, wadToNumber } from "./exchange/monitor.js";
import {
  DEFAULT_VOLATILITY,
  type PriceSeries,
  type ScenarioName,
  SCENARIOS,
  exchangePricePaths,
  isScenarioName,
  parsePriceCsv,
  seriesDuration,
} from "./exchange/prices.js";
import { CLEAR_SCREEN, type DashboardSnapshot, percent, renderDashboard, renderStatusLine, usd } from "./exchange/view.js";

// ---------------------------------------------------------------- options

interface ExchangeOptions {
  readonly port: number;
  readonly speed: number;
  readonly scenario: ScenarioName;
  readonly replay: string | undefined;
  readonly duration: number | undefined;
  readonly json: string | undefined;
  readonly seed: number;
  readonly quiet: boolean;
  readonly traders: number;
  readonly lps: number;
  /** The keeper jobs to run (empty: none). */
  readonly keepers: readonly KeeperJob[];
}

const USAGE = `Usage: npm start -- [options]

Runs a local Aeon exchange: a Hardhat node on 127.0.0.1, the protocol deployed with mock USDC
and mock ETH-USD and BTC-USD feeds, a price simulator, simulated traders and LPs, and keepers.

  --port <n>          JSON-RPC port (default 8545; 0 picks a free one)
  --speed <x>         simulated seconds per real second (default 3600: a minute is 2.5 days)
  --scenario <name>   price path: ${SCENARIOS.join(" | ")} (default random)
                        random   seeded random walk with jumps, about 72% (ETH) and 56% (BTC)
                                 yearly volatility
                        crash50  after a warm-up, both markets fall 50% within one simulated day
  --replay <csv>      replays "timestamp,price" rows on ETH-USD; BTC-USD follows its relative moves
  --duration <s>      stops after this many real seconds (default: until Ctrl-C)
  --json <file>       writes a summary of the run to this file at the end
  --seed <n>          seed of the price path and of the simulated users (default 1)
  --traders <n>       simulated traders (default 24)
  --lps <n>           simulated liquidity providers (default 4)
  --keepers <jobs>    keepers to run: a comma list of orders, funding, liquidations, or none
                      (default all three; leaving one out simulates its outage)
  --no-keepers        same as --keepers none

Ctrl-C stops it cleanly (a second Ctrl-C at once).
  --quiet             no live view, only the start banner and the summary
  --help              this text
`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

function parseOptions(argv: readonly string[]): ExchangeOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string", default: "8545" },
      speed: { type: "string", default: "3600" },
      scenario: { type: "string", default: "random" },
      replay: { type: "string" },
      duration: { type: "string" },
      json: { type: "string" },
      seed: { type: "string", default: "1" },
      traders: { type: "string", default: "24" },
      lps: { type: "string", default: "4" },
      keepers: { type: "string", default: KEEPER_JOBS.join(",") },
      "no-keepers": { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const scenario = values.scenario;
  if (!isScenarioName(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(", ")} (got ${scenario})`);
  return {
    port: integer("--port", values.port, 0, 65_535),
    speed: positive("--speed", values.speed),
    scenario,
    replay: values.replay,
    duration: values.duration === undefined ? undefined : positive("--duration", values.duration),
    json: values.json,
    seed: integer("--seed", values.seed, 0, 2 ** 32 - 1),
    traders: integer("--traders", values.traders, 0, 500),
    lps: integer("--lps", values.lps, 0, 100),
    keepers: values["no-keepers"] ? [] : keeperJobs(values.keepers),
    quiet: values.quiet,
  };
}

function keeperJobs(text: string): KeeperJob[] {
  if (text.trim() === "none") return [];
  const jobs = text.split(",").map((job) => job.trim());
  for (const job of jobs) {
    if (!(KEEPER_JOBS as readonly string[]).includes(job)) {
      throw new UsageError(`--keepers takes ${KEEPER_JOBS.join(", ")} or none, comma-separated (got ${job})`);
    }
  }
  return [...new Set(jobs as KeeperJob[])];
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${name} must be an integer from ${min} to ${max} (got ${text})`);
  return value;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${name} must be a positive number (got ${text})`);
  return value;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------- accounts

/** Hardhat's development accounts: funded with native ETH by the node, printed for wallets. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const DEV_ACCOUNTS = 20;

function devKey(index: number): Hex {
  const key = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (key === null) throw new Error(`no private key for development account ${index}`);
  return `0x${Buffer.from(key).toString("hex")}`;
}

/** Simulated users get keys of their own, derived from the seed, so that the dev accounts stay free for people. */
function simulatedIdentity(kind: "trader" | "lp", index: number, seed: number): ActorIdentity {
  const privateKey = keccak256(encodePacked(["string", "uint256", "uint256"], [`aeon-local-${kind}`, BigInt(seed), BigInt(index)]));
  return { name: `${kind} ${index + 1}`, privateKey };
}

const USDC_UNIT = 10n ** 6n;
const mockUsdcAbi = parseAbi(["function mint(address to, uint256 amount)"]);
const TEST_ACCOUNT_USDC = 1_000_000n * USDC_UNIT;
const TRADER_USDC = 200_000n * USDC_UNIT;
const LP_USDC = 5_000_000n * USDC_UNIT;
const SIMULATED_USER_ETH = 1_000n * 10n ** 18n;

/** Mints mock USDC (anyone may) and sets native balances, one confirmed transaction at a time (one sender, one nonce). */
async function fundAccounts(options: {
  readonly publicClient: PublicClient;
  readonly testClient: TestClient;
  readonly admin: WalletClient<Transport, Chain, Account>;
  readonly usdc: Address;
  readonly usdcFor: readonly (readonly [Address, bigint])[];
  readonly ethFor: readonly Address[];
}): Promise<void> {
  for (const address of options.ethFor) await options.testClient.setBalance({ address, value: SIMULATED_USER_ETH });
  for (const [to, amount] of options.usdcFor) {
    const hash = await options.admin.writeContract({ address: options.usdc, abi: mockUsdcAbi, functionName: "mint", args: [to, amount] });
    const receipt = await options.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`minting mock USDC for ${to} reverted (tx ${hash})`);
  }
}

// ---------------------------------------------------------------- time

/** Simulated seconds between price updates: half a second of real time, at most half the feeds' heartbeat and the order age. */
function updateStepSeconds(speed: number, parameters: AeonParameters): number {
  const heartbeat = Math.min(...parameters.markets.map((m) => m.config.feed.heartbeat));
  const limit = Math.min(heartbeat, parameters.orderConfig.maxOrderAge) / 2;
  return Math.max(1, Math.round(Math.min(limit, speed * 0.5)));
}

/** crash50's warm-up: two simulated hours, and at least 6 real seconds for the traders to open positions. */
function warmupSeconds(speed: number): number {
  return Math.max(2 * 3600, 6 * speed);
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  let options: ExchangeOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const opts = options;
  let replaySeries: PriceSeries | undefined;
  if (opts.replay !== undefined) {
    try {
      replaySeries = parsePriceCsv(await readFile(opts.replay, "utf8"));
    } catch (error) {
      console.error(`--replay ${opts.replay}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
  }

  // Price paths first: the mock feeds start at the paths' first prices.
  const marketSetups = defaultParameters.markets.map((m) => ({
    symbol: m.symbol,
    initialPrice: Number(m.mockInitialAnswer) / 10 ** m.config.feed.decimals,
    volatility: DEFAULT_VOLATILITY[m.symbol] ?? { annualVolatility: 0.6, jumpsPerDay: 0.5, jumpVolatility: 0.03 },
  }));
  const paths = exchangePricePaths({
    scenario: opts.scenario,
    seed: opts.seed,
    markets: marketSetups,
    warmupSeconds: warmupSeconds(opts.speed),
    replaySeries,
  });
  const parameters: AeonParameters = {
    ...defaultParameters,
    markets: defaultParameters.markets.map((m) => ({
      ...m,
      mockInitialAnswer: toAnswer((paths[m.symbol] as (t: number) => number)(0), m.config.feed.decimals),
    })),
  };
  const stepSeconds = updateStepSeconds(opts.speed, parameters);

  // The node, and everything else through its HTTP endpoint, exactly as a wallet sees it.
  // Hardhat's server crashes the process on a taken port (an unhandled 'error' event): ask first.
  if (opts.port !== 0 && !(await portIsFree(opts.port))) {
    console.error(`Port ${opts.port} is in use (another node or exchange?): stop it or pass --port <n>.`);
    return 2;
  }
  const server = await network.createServer("hardhat", "127.0.0.1", opts.port);
  const listening = await server.listen();
  const url = `http://127.0.0.1:${listening.port}`;
  const connection = await network.create({ network: "localhost", override: { url } });
  console.log(`Aeon local exchange: JSON-RPC ${url}, chain id ${hardhat.id}. Deploying...`);

  const d = await deployAeon(connection.viem, { parameters });
  if (d.mocks === undefined) throw new Error("the local deployment has no mocks");
  const record = deploymentRecord("localhost", d);
  const deploymentFile = path.join("deployments", "localhost.json");
  await mkdir(path.dirname(deploymentFile), { recursive: true });
  await writeFile(deploymentFile, `${JSON.stringify(record, null, 2)}\n`);
  const deployment = loadDeployment(record);

  const transport = http(url, { retryCount: 2 });
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 50 });
  const testClient = createTestClient({ chain: hardhat, mode: "hardhat", transport });
  const admin = createWalletClient({ account: privateKeyToAccount(devKey(0)), chain: hardhat, transport });
  if (admin.account.address.toLowerCase() !== d.admin.toLowerCase()) {
    throw new Error(`the node's first account ${d.admin} is not Hardhat's development account 0 (${admin.account.address})`);
  }

  const devAccounts = Array.from({ length: DEV_ACCOUNTS }, (_, i) => privateKeyToAccount(devKey(i)));
  const traders = Array.from({ length: opts.traders }, (_, i) => simulatedIdentity("trader", i, opts.seed));
  const lps = Array.from({ length: opts.lps }, (_, i) => simulatedIdentity("lp", i, opts.seed));
  await fundAccounts({
    publicClient,
    testClient,
    admin,
    usdc: d.addresses.usdc,
    usdcFor: [
      ...devAccounts.map((a) => [a.address, TEST_ACCOUNT_USDC] as const),
      ...traders.map((t) => [privateKeyToAccount(t.privateKey).address, TRADER_USDC] as const),
      ...lps.map((l) => [privateKeyToAccount(l.privateKey).address, LP_USDC] as const),
    ],
    // The node funds its development accounts with native ETH; the simulated users need some for gas and fees.
    ethFor: [...traders, ...lps].map((identity) => privateKeyToAccount(identity.privateKey).address),
  });

  const testAccount = devAccounts[1] as (typeof devAccounts)[number];
  const secondTestAccount = devAccounts[2] as (typeof devAccounts)[number];
  const introduction = [
    `Aeon is deployed on ${url} (chain id ${hardhat.id}); ${deploymentFile} has the addresses for the SDK and keepers.`,
    `Test accounts (10,000 ETH and 1,000,000 mock USDC each; Hardhat's development keys, never use them on a real network):`,
    `  ${testAccount.address}  key ${devKey(1)}`,
    `  ${secondTestAccount.address}  key ${devKey(2)}`,
    `USDC ${d.addresses.usdc}  engine ${d.addresses.clearingEngine}  order book ${d.addresses.orderBook}  pool ${d.addresses.liquidityPool}`,
  ];
  for (const line of introduction) console.log(line);
  const scenarioLabel = replaySeries !== undefined ? `replay ${path.basename(opts.replay ?? "")}` : opts.scenario;
  console.log(
    `Simulation: ${scenarioLabel}, seed ${opts.seed}, speed ${opts.speed}x: a price update every ${stepSeconds >= 60 ? `${stepSeconds / 60} simulated minutes` : `${stepSeconds} simulated seconds`} ` +
      `(${((stepSeconds / opts.speed) * 1000).toFixed(0)} ms); ${opts.traders} traders, ${opts.lps} LPs, keepers ${opts.keepers.length > 0 ? opts.keepers.join(", ") : "off"}.` +
      (replaySeries !== undefined ? ` The series lasts ${(seriesDuration(replaySeries) / 3600).toFixed(1)} simulated hours, then holds its last price.` : ""),
  );

  // ------------------------------------------------------------ monitor, view state
  const startBlock = await publicClient.getBlock();
  const counter = createEventCounter(publicClient, [d.addresses.clearingEngine, d.addresses.orderBook, d.addresses.liquidityPool], startBlock.number + 1n);
  const watch = createLiquidationWatch(publicClient, d.addresses.clearingEngine);
  const recent: string[] = [];
  const log = (line: string): void => {
    recent.push(line);
    if (recent.length > 12) recent.shift();
  };
  const notable = (line: string): void => {
    log(line);
    if (!opts.quiet && !process.stdout.isTTY) console.log(line);
  };

  // ------------------------------------------------------------ keepers
  const keeperLog = path.join(".keeper", "local-exchange.log");
  const keepers = await startKeepers({ jobs: opts.keepers, url, deployment, log, logFile: keeperLog });

  // ------------------------------------------------------------ clock
  const stop = new AbortController();
  const readOnly = createAeonClient({ publicClient, deployment });
  const clock = createPriceClock({
    publicClient,
    testClient,
    poster: admin,
    feeds: parameters.markets.map((m) => ({
      symbol: m.symbol,
      address: d.addresses.feeds[m.symbol],
      decimals: m.config.feed.decimals,
      path: paths[m.symbol] as (t: number) => number,
    })),
    speed: opts.speed,
    stepSeconds,
    startTime: startBlock.timestamp,
    onUpdate: async (update: PriceUpdate) => {
      const accountCount = await publicClient.readContract({
        address: d.addresses.clearingEngine,
        abi: engineAbi,
        functionName: "accountCount",
        blockNumber: update.blockNumber,
      });
      const ids = Array.from({ length: Number(accountCount) }, (_, i) => i + 1);
      const { newlyMissed } = await watch.check(ids, update.blockNumber);
      for (const accountId of newlyMissed) notable(`MISSED: account #${accountId} still liquidatable after two more price updates`);
    },
  });

  // ------------------------------------------------------------ actors
  const stats = createActorStats();
  const env = {
    publicClient,
    chain: hardhat,
    transport,
    deployment,
    // A few actions at a time leave the node time for the clock and the keepers.
    limiter: new Limiter(3),
    stats,
    log,
  };
  const simStart = performance.now();
  const clockRun = clock.run(stop.signal);
  const actorRuns = [
    ...traders.map((identity, i) => runTrader(env, identity, { seed: opts.seed * 1000 + i, thinkMs: [1500, 5000] }, stop.signal)),
    ...lps.map((identity, i) => runLiquidityProvider(env, identity, { seed: opts.seed * 1000 + 500 + i, thinkMs: [3000, 8000] }, stop.signal)),
  ];

  // ------------------------------------------------------------ view
  let lastPool: AeonPool | undefined;
  const snapshot = async (): Promise<DashboardSnapshot> => {
    const events = await counter.poll();
    for (const event of events) {
      if (event.eventName === "Liquidated") {
        notable(`account #${event.args.accountId} liquidated: ${usd(wadToNumber(event.args.notionalUsd), true)} notional, keeper reward ${usd(wadToNumber(event.args.keeperReward))}`);
      } else if (event.eventName === "BadDebt") {
        notable(`bad debt on account #${event.args.accountId}: ${usd(wadToNumber(event.args.shortfall))} (insurance ${usd(wadToNumber(event.args.fromInsurance))}, pool ${usd(wadToNumber(event.args.fromPool))})`);
      } else if (event.eventName === "FundingSettled") {
        log(`funding settled on ${symbolOf(event.args.marketId)}: average rate ${percent(event.args.averageRate)} over the interval`);
      }
    }
    const [markets, pool, blockNumber] = await Promise.all([readOnly.getMarkets(), readOnly.getPool(), publicClient.getBlockNumber()]);
    lastPool = pool;
    return {
      url,
      chainId: hardhat.id,
      scenario: scenarioLabel,
      speed: opts.speed,
      realSeconds: (performance.now() - simStart) / 1000,
      simulatedSeconds: clock.simulatedSeconds,
      priceUpdates: clock.updates,
      blockNumber,
      markets,
      pool,
      counts: counter.counts,
      missedLiquidations: watch.missed,
      liquidatableNow: watch.liquidatableNow,
      traders: traders.length,
      lps: lps.length,
      actions: stats.actions,
      refusals: [...stats.refusals.values()].reduce((a, b) => a + b, 0),
      keepers: keepers.describe(),
      recent,
    };
  };
  function symbolOf(marketId: number): string {
    return Object.entries(deployment.marketIds).find(([, id]) => id === marketId)?.[0] ?? `market ${marketId}`;
  }
  const tty = process.stdout.isTTY === true;
  let viewBusy = false;
  let lastStatusLine = 0;
  const viewTimer = setInterval(() => {
    if (viewBusy) return;
    viewBusy = true;
    snapshot()
      .then((s) => {
        if (opts.quiet) return;
        if (tty) process.stdout.write(`${CLEAR_SCREEN}${introduction.join("\n")}\n\n${renderDashboard(s)}\n`);
        else if (s.realSeconds - lastStatusLine >= 5) {
          lastStatusLine = s.realSeconds;
          console.log(renderStatusLine(s));
        }
      })
      .catch((error: unknown) => log(`view: ${describeRefusal(error).message}`))
      .finally(() => (viewBusy = false));
  }, 1000);

  // ------------------------------------------------------------ shutdown
  let reason = "";
  const finished = new Promise<void>((resolve) => {
    const end = (why: string) => () => {
      if (reason === "") reason = why;
      resolve();
    };
    process.once("SIGINT", end("interrupted"));
    process.once("SIGTERM", end("terminated"));
    if (opts.duration !== undefined) setTimeout(end(`${opts.duration} s elapsed`), opts.duration * 1000).unref();
  });
  let fatal: unknown;
  clockRun.catch((error: unknown) => {
    fatal = error;
    reason = "the price clock failed";
    stop.abort();
  });
  await Promise.race([finished, clockRun.catch(() => undefined).then(() => undefined)]);
  stop.abort();
  clearInterval(viewTimer);
  if (!opts.quiet) console.log(`\nStopping (${reason}): traders first, then the keepers' in-flight work.`);
  await Promise.allSettled([clockRun, ...actorRuns]);
  await keepers.stop();
  while (viewBusy) await sleep(50);
  const realSeconds = (performance.now() - simStart) / 1000;
  await counter.poll();
  const pool = await readOnly.getPool().catch(() => lastPool);
  if (pool === undefined) throw new Error("could not read the pool for the summary");
  const summary = buildSummary({
    counts: counter.counts,
    pool,
    missedLiquidations: watch.missed,
    longestLiquidatableStreak: watch.longestStreak,
    priceUpdates: clock.updates,
    simulatedSeconds: clock.simulatedSeconds,
    realSeconds,
    scenario: scenarioLabel,
    seed: opts.seed,
    speed: opts.speed,
    keepers: [...opts.keepers],
    keeperStats: keepers.stats(),
    traderActions: stats.actions,
    refusals: stats.refusals,
    finalPrices: { ...clock.prices },
  });
  if (opts.json !== undefined) {
    await mkdir(path.dirname(path.resolve(opts.json)), { recursive: true });
    await writeFile(opts.json, `${JSON.stringify(summary, null, 2)}\n`);
  }
  console.log(`Summary after ${realSeconds.toFixed(0)} s (${summary.simulatedHours} simulated hours, ${summary.priceUpdates} price updates):`);
  console.log(JSON.stringify(summary, null, 2));
  if (opts.json !== undefined) console.log(`Wrote ${opts.json}`);
  await connection.close();
  await server.close();
  if (fatal !== undefined) {
    console.error("The exchange stopped on an error:", fatal);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------- keepers

interface RunningKeepers {
  describe(): string;
  /** Each keeper's counters, by job. */
  stats(): Record<string, Record<string, number>>;
  /** Lets in-flight work finish. */
  stop(): Promise<void>;
}

/**
 * The three keepers, each its own key (one nonce manager per key) and loop, so that a liquidation
 * never waits behind an order batch. The liquidator polls fastest: the exchange counts an account
 * left liquidatable for more than two price updates as missed.
 */
const KEEPERS: readonly { readonly job: KeeperJob; readonly devAccount: number; readonly pollIntervalMs: number }[] = [
  { job: "liquidations", devAccount: 19, pollIntervalMs: 100 },
  { job: "orders", devAccount: 18, pollIntervalMs: 150 },
  { job: "funding", devAccount: 17, pollIntervalMs: 1000 },
];

async function startKeepers(options: {
  readonly jobs: readonly KeeperJob[];
  readonly url: string;
  readonly deployment: ReturnType<typeof loadDeployment>;
  readonly log: (line: string) => void;
  readonly logFile: string;
}): Promise<RunningKeepers> {
  if (options.jobs.length === 0) return { describe: () => "none", stats: () => ({}), stop: async () => undefined };
  // JSON logs go to a file (they would tear the live view); warnings and errors also reach the feed.
  await mkdir(path.dirname(options.logFile), { recursive: true });
  const file = createWriteStream(options.logFile, { flags: "w" });
  const running = KEEPERS.filter(({ job }) => options.jobs.includes(job)).map(({ job, devAccount, pollIntervalMs }) => {
    const logger = createJsonLogger({
      level: "info",
      fields: { job },
      write: (line) => {
        file.write(line);
        const record = JSON.parse(line) as { level?: string; msg?: string; error?: unknown };
        if (record.level === "warn" || record.level === "error") {
          options.log(`${job} keeper: ${record.msg ?? ""}${record.error === undefined ? "" : ` (${String(record.error)})`}`);
        }
      },
    });
    const keeper = createKeeper({
      transport: http(options.url),
      account: privateKeyToAccount(devKey(devAccount)),
      deployment: options.deployment,
      jobs: [job],
      pollIntervalMs,
      logger,
    });
    return { job, keeper, run: keeper.run() };
  });
  return {
    describe() {
      return running
        .map(({ job, keeper }) => {
          const s = keeper.stats();
          const did =
            job === "orders"
              ? `${s.ordersExecuted} executed, ${s.ordersTriggered} triggered, ${s.epochsSettled} epochs`
              : job === "funding"
                ? `${s.fundingSettlements} settled`
                : `${s.liquidations} liquidated`;
          return `${job} ${did}${s.errors > 0 ? `, ${s.errors} errors` : ""}`;
        })
        .join("; ");
    },
    stats() {
      const out: Record<string, Record<string, number>> = {};
      for (const { job, keeper } of running) {
        const { lastProcessedBlock, ...counters } = keeper.stats();
        out[job] = { ...counters, lastProcessedBlock: Number(lastProcessedBlock) };
      }
      return out;
    },
    async stop() {
      await Promise.all(running.map(({ keeper }) => keeper.stop()));
      await Promise.allSettled(running.map(({ run }) => run));
      await new Promise<void>((resolve) => file.end(resolve));
    },
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("The local exchange failed:", error);
    process.exit(1);
  },
);
