/**
 * Aeon SDK: typed reads, exact trade previews and transactions for the Aeon perpetual futures
 * protocol, for viem wallet clients and ethers v6 signers.
 */
export * from "./math.js";
export type * from "./types.js";
export * from "./abis.js";
export * from "./deployment.js";
export * from "./format.js";
export * from "./errors.js";
export * from "./client.js";
export * from "./transactions.js";
export * from "./reads.js";
export * from "./writes.js";
export * from "./watch.js";
