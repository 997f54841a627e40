/**
 * The local exchange's terminal view: a dashboard redrawn every second on a terminal, one compact
 * status line every few seconds otherwise (CI logs). Pure functions of a snapshot.
 */
import { type AeonMarket, type AeonPool, WAD, formatDuration, mulDivDown } from "../../sdk/src/index.js";
import { type ActivityCounts, wadToNumber } from "./monitor.js";

export interface DashboardSnapshot {
  readonly url: string;
  readonly chainId: number;
  readonly scenario: string;
  readonly speed: number;
  readonly realSeconds: number;
  readonly simulatedSeconds: number;
  readonly priceUpdates: number;
  readonly blockNumber: bigint;
  readonly markets: readonly AeonMarket[];
  readonly pool: AeonPool;
  readonly counts: ActivityCounts;
  readonly missedLiquidations: number;
  readonly liquidatableNow: number;
  readonly traders: number;
  readonly lps: number;
  readonly actions: number;
  readonly refusals: number;
  readonly keepers: string;
  /** Latest activity, oldest first. */
  readonly recent: readonly string[];
}

/** `$1,234.56`, or `$1.23M` / `$4.5k` when `compact`. */
export function usd(value: number, compact = false): string {
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  if (compact && abs >= 1e6) return `${sign}$${(abs / 1e6).toFixed(2)}M`;
  if (compact && abs >= 1e4) return `${sign}$${(abs / 1e3).toFixed(1)}k`;
  return `${sign}$${abs.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Simulated time as "day 3 14:30" (day 1 is the first). */
export function simulatedClock(seconds: number): string {
  const day = Math.floor(seconds / 86_400) + 1;
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `day ${day} ${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`;
}

function signedSize(size: bigint, symbol: string): string {
  const value = wadToNumber(size);
  return `${value >= 0 ? "+" : ""}${value.toFixed(Math.abs(value) >= 100 ? 1 : 3)} ${symbol}`;
}

/** A WAD rate as a signed percentage with four decimals: funding rates are hundredths of a percent. */
export function percent(rate: bigint): string {
  const value = wadToNumber(rate) * 100;
  return `${value >= 0 ? "+" : ""}${value.toFixed(4)}%`;
}

function marketRow(m: AeonMarket): string[] {
  const symbol = m.symbol ?? `#${m.marketId}`;
  const longUsd = wadToNumber(mulDivDown(m.state.longSize, m.price, WAD));
  const shortUsd = wadToNumber(mulDivDown(m.state.shortSize, m.price, WAD));
  return [
    `${symbol}-USD${m.priceValid ? "" : " (stale)"}`,
    usd(wadToNumber(m.price)),
    usd(wadToNumber(m.markPrice)),
    signedSize(m.skew, symbol),
    `${usd(longUsd, true)} / ${usd(shortUsd, true)}`,
    `${percent(m.fundingRate)} / ${m.config.fundingInterval / 3600}h`,
    formatDuration(m.secondsToNextSettlement),
  ];
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  "));
}

/** The full dashboard, one string of lines. */
export function renderDashboard(s: DashboardSnapshot): string {
  const { counts, pool } = s;
  const poolValue = wadToNumber(pool.baseValue - pool.tradersPnl);
  const lines = [
    `Aeon local exchange   RPC ${s.url}   chain id ${s.chainId}   scenario ${s.scenario}   speed ${s.speed}x`,
    `simulated ${simulatedClock(s.simulatedSeconds)} (${(s.simulatedSeconds / 3600).toFixed(1)} h)   real ${s.realSeconds.toFixed(0)} s   price updates ${s.priceUpdates}   block ${s.blockNumber}`,
    "",
    ...table([["market", "index", "mark", "skew", "open interest L / S", "funding rate", "next settlement"], ...s.markets.map(marketRow)]),
    "",
    `pool value ${usd(poolValue)}   share price ${(Number(pool.sharePrice) / 1e6).toFixed(6)} USDC   traders' PnL ${usd(wadToNumber(pool.tradersPnl))}   epoch ${pool.currentEpoch}`,
    `insurance fund ${usd(wadToNumber(pool.insuranceFund))}   bad debt ${usd(wadToNumber(counts.badDebt))}`,
    `orders executed ${counts.ordersExecuted} (created ${counts.ordersCreated}, cancelled ${counts.ordersCancelled}, triggered ${counts.ordersTriggered})   funding settlements ${counts.fundingSettlements}   epochs settled ${counts.epochsSettled}`,
    `liquidations ${counts.liquidations}   liquidatable now ${s.liquidatableNow}   missed liquidations ${s.missedLiquidations}`,
    `${s.traders} traders, ${s.lps} LPs: ${s.actions} actions, ${s.refusals} refused   keepers: ${s.keepers}`,
    "",
    "recent activity:",
    ...s.recent.map((line) => `  ${line}`),
    "",
    "Ctrl-C stops the exchange.",
  ];
  return lines.join("\n");
}

/** One line for logs (no terminal). */
export function renderStatusLine(s: DashboardSnapshot): string {
  const prices = s.markets.map((m) => `${m.symbol ?? m.marketId} ${usd(wadToNumber(m.price))}`).join(" ");
  const c = s.counts;
  return (
    `[${s.realSeconds.toFixed(0)}s ${simulatedClock(s.simulatedSeconds)}] ${prices} | pool ${usd(wadToNumber(s.pool.baseValue - s.pool.tradersPnl), true)}` +
    ` insurance ${usd(wadToNumber(s.pool.insuranceFund), true)} | orders ${c.ordersExecuted}/${c.ordersCreated} funding ${c.fundingSettlements}` +
    ` liquidations ${c.liquidations} (missed ${s.missedLiquidations}) bad debt ${usd(wadToNumber(c.badDebt), true)}`
  );
}

/** Clears the terminal and moves the cursor home (ANSI). */
export const CLEAR_SCREEN = "\x1b[2J\x1b[H";
