/**
 * Aeon SDK: typed reads, exact trade previews and transactions for the Aeon perpetual futures
 * protocol, for viem wallet clients and ethers v6 signers.
 */
export * from "./math.js";
export type * from "./types.js";
