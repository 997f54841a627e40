/**
 * Human formatting of the protocol's fixed-point numbers, for messages and UIs. Display only:
 * never feed a formatted value back into math.
 */

const WAD_DECIMALS = 18;

/** `value / 10^decimals` with `digits` fraction digits, rounded half away from zero, grouped with commas. */
export function formatFixed(value: bigint, decimals: number, digits: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const unit = 10n ** BigInt(digits);
  // Round half up on the absolute value.
  const scaled = (abs * unit * 2n + scale) / (scale * 2n);
  const whole = (scaled / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = digits > 0 ? `.${(scaled % unit).toString().padStart(digits, "0")}` : "";
  return `${negative && scaled !== 0n ? "-" : ""}${whole}${fraction}`;
}

/** A USD value in WAD as the settlement token: `812400000000000000000n` → "812.40 USDC". */
export function formatUsd(valueWad: bigint): string {
  return `${formatFixed(valueWad, WAD_DECIMALS, 2)} USDC`;
}

/** Settlement-token units (6 decimals for USDC) → "1,000.00 USDC". */
export function formatTokenAmount(units: bigint, decimals = 6): string {
  return `${formatFixed(units, decimals, 2)} USDC`;
}

/** A price in WAD: "$3,000.00" (six digits below one dollar). */
export function formatPrice(priceWad: bigint): string {
  const abs = priceWad < 0n ? -priceWad : priceWad;
  return `$${formatFixed(priceWad, WAD_DECIMALS, abs >= 10n ** 18n ? 2 : 6)}`;
}

/** A position size in WAD base units, trailing zeros trimmed: "10", "-0.5". */
export function formatSize(sizeWad: bigint): string {
  const text = formatFixed(sizeWad, WAD_DECIMALS, 6);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/** A WAD fraction as a percentage: `14n * 10n ** 15n` → "1.40%". */
export function formatRate(rateWad: bigint): string {
  return `${formatFixed(rateWad * 100n, WAD_DECIMALS, 2)}%`;
}

/** Native-token wei: "0.0001 ETH". */
export function formatNative(wei: bigint): string {
  const text = formatFixed(wei, 18, 9);
  return `${text.includes(".") ? text.replace(/\.?0+$/, "") : text} ETH`;
}

/** A unix time in seconds as an ISO date. */
export function formatTime(seconds: bigint): string {
  const ms = Number(seconds) * 1000;
  return Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString() : `t=${seconds}`;
}

/** A duration in seconds: "8h 0m 5s". */
export function formatDuration(seconds: bigint): string {
  const s = Number(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m ${s % 60}s` : `${m}m ${s % 60}s`;
}
