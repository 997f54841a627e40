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
// The client's `previewTrade(client, parameters)` (bound as `aeon.previewTrade`) shares its name with
// the math module's `previewTrade(input)`; the package exports the math one under its name and the
// client's plain function as `getTradePreview`.
export { type AeonTradePreview, type PreviewTradeParameters, previewTrade as getTradePreview } from "./previews.js";
export * from "./writes.js";
export * from "./watch.js";
