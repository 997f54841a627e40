/**
 * What every keeper needs around the protocol logic: structured logs, Prometheus metrics, bounded
 * retries on RPC failures, one nonce manager per key, and a checkpoint file.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { readFile, rename, writeFile } from "node:fs/promises";
import {
  BaseError,
  type Hash,
  type LocalAccount,
  type PublicClient,
  type Transport,
  custom,
  keccak256,
} from "viem";
import { type AeonSigner, type AeonTransactionRequest, isContractRevert } from "../../sdk/src/index.js";

// ---------------------------------------------------------------- logs

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured logs: one JSON object per line with `time`, `level`, `msg` and the fields. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** A JSON-lines logger writing to `write` (default stderr); bigints are written as decimal strings. */
export function createJsonLogger(
  options: { readonly level?: LogLevel; readonly write?: (line: string) => void; readonly fields?: Record<string, unknown> } = {},
): Logger {
  const threshold = LEVELS[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(`${JSON.stringify(record, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))}\n`);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createJsonLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, embedded keepers with their own view). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** The message of any thrown value, short enough for a log line. */
export function errorMessage(error: unknown): string {
  const text = error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

// ---------------------------------------------------------------- metrics

type Labels = Readonly<Record<string, string>>;

interface Series {
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly values: Map<string, number>;
}

/** Counters and gauges in the Prometheus text format. */
export class Metrics {
  readonly #series = new Map<string, Series>();

  /** Declares a counter (monotonic). */
  counter(name: string, help: string): void {
    this.#series.set(name, { help, type: "counter", values: new Map() });
  }

  /** Declares a gauge. */
  gauge(name: string, help: string): void {
    this.#series.set(name, { help, type: "gauge", values: new Map() });
  }

  /** Adds `amount` to a counter. */
  inc(name: string, amount = 1, labels: Labels = {}): void {
    const series = this.#require(name);
    const key = labelKey(labels);
    series.values.set(key, (series.values.get(key) ?? 0) + amount);
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels: Labels = {}): void {
    this.#require(name).values.set(labelKey(labels), value);
  }

  /** A series' value (0 when never set), summed over labels when `labels` is omitted. */
  value(name: string, labels?: Labels): number {
    const series = this.#require(name);
    if (labels !== undefined) return series.values.get(labelKey(labels)) ?? 0;
    let sum = 0;
    for (const v of series.values.values()) sum += v;
    return sum;
  }

  /** The exposition text served at `/metrics`. */
  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.#series) {
      lines.push(`# HELP ${name} ${series.help}`, `# TYPE ${name} ${series.type}`);
      if (series.values.size === 0 && series.type === "counter") lines.push(`${name} 0`);
      for (const [key, value] of series.values) lines.push(`${name}${key} ${value}`);
    }
    return `${lines.join("\n")}\n`;
  }

  /** Serves `/metrics` on `host:port` (localhost by default); resolves to the bound port and a closer. */
  async serve(port: number, host = "127.0.0.1"): Promise<{ port: number; close: () => Promise<void> }> {
    const server = createServer((request, response) => {
      if (request.url === "/metrics") {
        response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.render());
      } else {
        response.writeHead(404).end("see /metrics\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    const address = server.address();
    const bound = typeof address === "object" && address !== null ? address.port : port;
    return { port: bound, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  #require(name: string): Series {
    const series = this.#series.get(name);
    if (series === undefined) throw new Error(`metrics: ${name} is not declared`);
    return series;
  }
}

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",")}}`;
}

// ---------------------------------------------------------------- retries

/** Bounded retries with exponential backoff and jitter. */
export interface RetryPolicy {
  /** Attempts in all (the first included). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 };

/**
 * Whether an RPC failure is worth retrying: transport failures, timeouts, rate limits and node
 * hiccups are; answers are not (a revert, invalid parameters, a nonce or fee rejection).
 */
export function isTransientRpcError(error: unknown): boolean {
  if (isContractRevert(error)) return false;
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < 12; e = (e as { cause?: unknown }).cause) chain.push(e);
  for (const e of chain) {
    const { code, status, message } = e as { code?: unknown; status?: unknown; message?: unknown };
    const text = typeof message === "string" ? message.toLowerCase() : "";
    if (
      /revert|nonce too low|already known|known transaction|underpriced|insufficient funds|intrinsic gas|exceeds block gas limit|gas required exceeds|out of gas|less than block base fee|fee cap|more than \d+ results|block range|range too large/.test(
        text,
      )
    ) {
      return false;
    }
    if (typeof status === "number") return status === 408 || status === 429 || status >= 500;
    // JSON-RPC: 3 execution error, -32600..-32602 malformed or unknown; the rest (-32603 internal,
    // -32005 limit exceeded, -32000 header not found...) can pass.
    if (code === 3 || code === -32600 || code === -32601 || code === -32602) return false;
  }
  return true;
}

/** Runs `attempt` until it succeeds, a non-transient error occurs, the attempts run out or `signal` aborts. */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  options: { readonly policy?: RetryPolicy; readonly signal?: AbortSignal; readonly onRetry?: (error: unknown, attempt: number) => void } = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  for (let n = 1; ; ++n) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= policy.attempts || !isTransientRpcError(error) || options.signal?.aborted === true) throw error;
      options.onRetry?.(error, n);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2), options.signal);
    }
  }
}

/**
 * A transport that retries every transient failure of `transport` (its own retries are turned
 * off, so the policy is the only one). Every read, estimate, send and receipt poll of a keeper
 * goes through it; a resent raw transaction is harmless (same bytes, same hash).
 */
export function retryingTransport(
  transport: Transport,
  options: {
    readonly policy?: RetryPolicy;
    /** Stops retrying (the current failure is thrown) once it aborts: a shutdown does not wait out back-offs. */
    readonly signal?: AbortSignal;
    readonly onRetry?: (method: string, error: unknown) => void;
  } = {},
): Transport {
  return (config) => {
    const inner = transport({ ...config, retryCount: 0 });
    const request = (args: { method: string; params?: unknown }) =>
      withRetry(() => inner.request(args as Parameters<typeof inner.request>[0]), {
        policy: options.policy,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onRetry: (error) => options.onRetry?.(args.method, error),
      });
    return custom({ request }, { key: `retrying-${inner.config.key}`, name: `Retrying ${inner.config.name}`, retryCount: 0 })(config);
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

// ---------------------------------------------------------------- nonce manager and signer

/**
 * The keeper's signer: signs locally and owns the key's nonce. Sends are serialized so nonces are
 * handed out in order; the next nonce is cached and re-read from the node (pending count) after
 * any send whose outcome is unknown. A raw transaction whose response was lost is recognized by
 * its hash when the retry is rejected as known or as a used nonce.
 */
export class KeeperSigner implements AeonSigner {
  readonly #account: LocalAccount;
  readonly #publicClient: PublicClient;
  readonly #logger: Logger;
  readonly #gasMarginPercent: bigint;
  #chainId: number | undefined;
  #nextNonce: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { readonly account: LocalAccount; readonly publicClient: PublicClient; readonly logger?: Logger; readonly gasMarginPercent?: bigint }) {
    this.#account = options.account;
    this.#publicClient = options.publicClient;
    this.#logger = options.logger ?? silentLogger;
    this.#gasMarginPercent = options.gasMarginPercent ?? 20n;
  }

  async getAddress() {
    return this.#account.address;
  }

  async signTypedData(): Promise<never> {
    throw new Error("The keeper signer signs transactions only.");
  }

  /** Signs and broadcasts with the next nonce; resolves once the node has the transaction. */
  sendTransaction(request: AeonTransactionRequest): Promise<Hash> {
    const run = this.#queue.then(() => this.#send(request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Forgets the cached nonce: the next send reads the pending count from the node. */
  resetNonce(): void {
    this.#nextNonce = undefined;
  }

  async #send(request: AeonTransactionRequest): Promise<Hash> {
    const client = this.#publicClient;
    const from = this.#account.address;
    this.#chainId ??= await client.getChainId();
    this.#nextNonce ??= await client.getTransactionCount({ address: from, blockTag: "pending" });
    const nonce = this.#nextNonce;
    const gas =
      request.gas ??
      ((await client.estimateGas({ account: from, to: request.to, data: request.data, value: request.value ?? 0n })) * (100n + this.#gasMarginPercent)) / 100n;
    const fees = await client.estimateFeesPerGas();
    const serialized = await this.#account.signTransaction({
      type: "eip1559",
      chainId: this.#chainId,
      nonce,
      to: request.to,
      data: request.data,
      value: request.value ?? 0n,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = keccak256(serialized);
    try {
      await client.sendRawTransaction({ serializedTransaction: serialized });
    } catch (error) {
      // A retry of a send whose response was lost is rejected as known or as a used nonce: the
      // transaction is the one we signed when the node knows its hash.
      const known = await client.getTransaction({ hash }).then(
        () => true,
        () => false,
      );
      if (!known) {
        this.#nextNonce = undefined;
        throw error;
      }
      this.#logger.debug("send answered with an error, but the node has the transaction", { hash, nonce, error: errorMessage(error) });
    }
    this.#nextNonce = nonce + 1;
    return hash;
  }
}

// ---------------------------------------------------------------- checkpoint file

/** Writes JSON atomically (temporary file, then rename); bigints as `{"$bigint": "..."}`. */
export async function writeCheckpoint(file: string, value: unknown): Promise<void> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v), 2);
  await writeFile(temporary, `${text}\n`);
  await rename(temporary, file);
}

/** Reads a checkpoint written by `writeCheckpoint`; undefined when the file does not exist. */
export async function readCheckpoint(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === "object" && v !== null && "$bigint" in v && typeof (v as { $bigint: unknown }).$bigint === "string") {
      return BigInt((v as { $bigint: string }).$bigint);
    }
    return v;
  });
}
