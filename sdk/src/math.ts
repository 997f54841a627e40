/**
 * The off-chain copy of the contracts' fixed-point math (SPEC section 1). Every function names
 * its rounding like `contracts/libraries/MathLib.sol`; results match the contracts to the wei.
 */

/** 1e18: prices, USD values and fractions are WAD. */
export const WAD = 10n ** 18n;

/** x * y / d rounded down (x, y, d >= 0). */
export function mulDivDown(x: bigint, y: bigint, d: bigint): bigint {
  return (x * y) / d;
}

/** x * y / d rounded up (x, y, d >= 0). */
export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  const product = x * y;
  return product === 0n ? 0n : (product - 1n) / d + 1n;
}
