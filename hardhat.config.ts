import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatNodeTestRunner from "@nomicfoundation/hardhat-node-test-runner";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";

// The compiler cannot be downloaded on every machine, so Hardhat runs the pinned `solc`
// npm package (its wasm build). The version must match that package's.
const require = createRequire(import.meta.url);
const solcPath = require.resolve("solc/soljson.js");
const solcVersion: string = require("solc/package.json").version;

function solc(runs: number) {
  return {
    version: solcVersion,
    path: solcPath,
    settings: { evmVersion: "cancun", viaIR: true, optimizer: { enabled: true, runs } },
  };
}

// CI and `npm test` run the invariant suite at full depth; AEON_INVARIANT_RUNS lowers it
// for quick local iterations.
const invariantRuns = Number(process.env.AEON_INVARIANT_RUNS ?? 256);

export default defineConfig({
  plugins: [hardhatViem, hardhatNodeTestRunner, hardhatNetworkHelpers],
  solidity: {
    compilers: [solc(200)],
    // The trading paths' contracts with room under the 24 KiB limit are tuned for runtime gas (the
    // benchmark: 1,000 to 3,000 less per order and liquidation, 27,000 less on a batch of ten);
    // the clearing engine stays at 200 runs to fit.
    overrides: { "contracts/OrderBook.sol": solc(5_000), "contracts/Liquidator.sol": solc(100_000) },
  },
  paths: {
    tests: { solidity: "./test/solidity", nodejs: "./test" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: invariantRuns, depth: 100, failOnRevert: false },
    },
  },
  networks: {
    // The in-process network enforces the 24 KiB deploy limit like a real chain.
    hardhat: { type: "edr-simulated", chainType: "l1", allowUnlimitedContractSize: false },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    arbitrumOne: {
      type: "http",
      chainType: "generic",
      chainId: 42161,
      url: configVariable("ARBITRUM_RPC_URL"),
      accounts: [configVariable("ARBITRUM_PRIVATE_KEY")],
    },
    base: {
      type: "http",
      chainType: "op",
      chainId: 8453,
      url: configVariable("BASE_RPC_URL"),
      accounts: [configVariable("BASE_PRIVATE_KEY")],
    },
  },
});
