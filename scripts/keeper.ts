/**
 * The keeper program: `npm run keeper -- <orders|funding|liquidations|all> --rpc <url> --deployment <file>`.
 *
 * The key comes from the environment (AEON_KEEPER_PRIVATE_KEY), never from a flag. Logs are JSON
 * lines on stderr; Prometheus metrics are served on 127.0.0.1 (`--metrics-port`, default 9464).
 * SIGINT or SIGTERM stops it after the write in flight; a second signal exits at once.
 */
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { loadDeployment } from "../sdk/src/index.js";
import { KEEPER_JOBS, type KeeperJob, createKeeper } from "./keeper/keepers.js";
import { type LogLevel, Metrics, createJsonLogger } from "./keeper/runtime.js";

const USAGE = `Usage: npm run keeper -- <orders|funding|liquidations|all> --rpc <url> --deployment <file> [options]

  --rpc <url>              JSON-RPC endpoint (http or https)
  --deployment <file>      deployments/<network>.json written by the deploy script
  --confirmations <n>      blocks to wait for each write and behind the head for events (default 1)
  --poll-interval <ms>     pause between passes (default 1000)
  --checkpoint <file>      liquidator state and last block (default .keeper/<network>-<job>.json)
  --metrics-port <port>    Prometheus metrics on 127.0.0.1 (default 9464; 0 picks a free port)
  --no-metrics             do not serve metrics
  --log-level <level>      debug | info | warn | error (default info)

The key: AEON_KEEPER_PRIVATE_KEY=0x... (32-byte hex) in the environment.`;

class UsageError extends Error {}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      rpc: { type: "string" },
      deployment: { type: "string" },
      confirmations: { type: "string", default: "1" },
      "poll-interval": { type: "string", default: "1000" },
      checkpoint: { type: "string" },
      "metrics-port": { type: "string", default: "9464" },
      "no-metrics": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const [job, ...extra] = positionals;
  if (job === undefined || extra.length > 0) throw new UsageError("give exactly one job: orders, funding, liquidations or all");
  const jobs: readonly KeeperJob[] = job === "all" ? KEEPER_JOBS : KEEPER_JOBS.filter((j) => j === job);
  if (jobs.length === 0) throw new UsageError(`unknown job "${job}": use orders, funding, liquidations or all`);
  if (values.rpc === undefined || !/^https?:\/\//.test(values.rpc)) throw new UsageError("--rpc <url> is required (http:// or https://)");
  if (values.deployment === undefined) throw new UsageError("--deployment <file> is required");
  const integer = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got "${text}")`);
    return n;
  };
  const levels: readonly string[] = ["debug", "info", "warn", "error"];
  if (!levels.includes(values["log-level"])) throw new UsageError(`--log-level must be one of ${levels.join(", ")}`);
  return {
    job,
    jobs,
    rpc: values.rpc,
    deploymentFile: values.deployment,
    confirmations: integer("confirmations", values.confirmations, 1),
    pollIntervalMs: integer("poll-interval", values["poll-interval"], 10),
    checkpoint: values.checkpoint,
    metricsPort: values["no-metrics"] ? undefined : integer("metrics-port", values["metrics-port"], 0),
    logLevel: values["log-level"] as LogLevel,
  };
}

function keyFromEnvironment(): `0x${string}` {
  const key = process.env.AEON_KEEPER_PRIVATE_KEY;
  if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new UsageError("set AEON_KEEPER_PRIVATE_KEY to the keeper's private key (0x followed by 64 hex digits)");
  }
  return key as `0x${string}`;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parse>;
  let key: `0x${string}`;
  try {
    options = parse(process.argv.slice(2));
    if (options === undefined) {
      console.log(USAGE);
      return 0;
    }
    key = keyFromEnvironment();
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true) {
      console.error(`keeper: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  const log = createJsonLogger({ level: options.logLevel, fields: { keeper: options.job } });
  const deployment = loadDeployment(JSON.parse(await readFile(options.deploymentFile, "utf8")));
  const metrics = new Metrics();
  const checkpointFile = options.checkpoint ?? path.join(".keeper", `${deployment.network}-${options.job}.json`);
  await mkdir(path.dirname(checkpointFile), { recursive: true });
  const keeper = createKeeper({
    transport: http(options.rpc),
    account: privateKeyToAccount(key),
    deployment,
    jobs: options.jobs,
    confirmations: options.confirmations,
    pollIntervalMs: options.pollIntervalMs,
    checkpointFile,
    logger: log,
    metrics,
  });
  let server: Awaited<ReturnType<Metrics["serve"]>> | undefined;
  try {
    server = options.metricsPort === undefined ? undefined : await metrics.serve(options.metricsPort);
  } catch (error) {
    console.error(`keeper: cannot serve metrics on 127.0.0.1:${options.metricsPort} (${(error as Error).message}); pick another --metrics-port or --no-metrics`);
    return 2;
  }
  if (server !== undefined) log.info("metrics served", { url: `http://127.0.0.1:${server.port}/metrics` });

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      log.warn("second signal: exiting now", { signal });
      process.exit(130);
    }
    log.info("stopping after the write in flight", { signal });
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await keeper.run(controller.signal);
  await server?.close();
  return 0;
}

process.exitCode = await main();
