import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress } from "viem";
import { deployAeon } from "../scripts/deploy.js";
import { networkPresets, parametersFor, presetFor } from "../scripts/networks.js";
import { defaultParameters } from "../scripts/parameters.js";

const WAD = 10n ** 18n;

describe("network presets (Arbitrum One, Base)", () => {
  it("hold checksummed addresses and the chain ids of hardhat.config.ts", () => {
    assert.equal(networkPresets.arbitrumOne.chainId, 42161);
    assert.equal(networkPresets.base.chainId, 8453);
    for (const preset of Object.values(networkPresets)) {
      const addresses = [
        preset.usdc,
        preset.usdcUsdFeed,
        preset.sequencerUptimeFeed,
        preset.feeds.ETH.address,
        preset.feeds.BTC.address,
      ];
      for (const address of addresses) assert.equal(getAddress(address), address);
      assert.equal(new Set(addresses).size, addresses.length, "no address is reused");
    }
    assert.equal(presetFor("base"), networkPresets.base);
    assert.equal(presetFor("sepolia"), undefined);
  });

  it("fit the parameters to each feed: staleness, deviation and the maintenance bound", () => {
    for (const preset of Object.values(networkPresets)) {
      const parameters = parametersFor(preset);
      for (const market of parameters.markets) {
        const feed = preset.feeds[market.symbol];
        const c = market.config;
        assert.equal(c.feed.heartbeat, Math.ceil(feed.heartbeat * 1.1));
        assert.ok(c.feed.heartbeat >= 60 && c.feed.heartbeat <= 2 * 86_400, "within the contract's heartbeat bounds");
        assert.equal(c.deviation, feed.deviation);
        const floor = c.liquidationFee + 2n * c.deviation + c.gapBuffer + c.kMax;
        for (const tier of market.tiers) {
          assert.ok(tier.mmr >= floor, `mmr ${tier.mmr} >= ${floor}`);
          assert.ok(tier.imr > tier.mmr);
        }
      }
    }
    // Base's 0.15% deviation raises the first tier from 1.4286% to 1.6% maintenance (31.25x).
    const base = parametersFor(networkPresets.base).markets[0]!;
    assert.equal(base.tiers[0]!.mmr, (16n * WAD) / 1000n);
    assert.equal(base.tiers[0]!.imr, (32n * WAD) / 1000n);
    // Arbitrum's 0.05% feeds keep the SPEC defaults.
    assert.deepEqual(parametersFor(networkPresets.arbitrumOne).markets[0]!.tiers, defaultParameters.markets[0]!.tiers);
  });

  it("deploy with a preset's parameters and a sequencer feed: the engine accepts the fitted tiers", async () => {
    const connection = await network.create("hardhat");
    const { viem } = connection;
    // Stand-ins for the network's contracts: mock USDC, mock feeds and a mock uptime feed (0: up).
    const usdc = await viem.deployContract("MockUSDC", []);
    const eth = await viem.deployContract("MockAggregator", [8, "ETH / USD"]);
    const btc = await viem.deployContract("MockAggregator", [8, "BTC / USD"]);
    const uptime = await viem.deployContract("MockAggregator", [0, "L2 Sequencer Uptime Status Feed"]);
    const publicClient = await viem.getPublicClient();
    const now = (await publicClient.getBlock()).timestamp;
    await eth.write.setPrice([3000n * 10n ** 8n]);
    await btc.write.setPrice([60_000n * 10n ** 8n]);
    await uptime.write.setRound([0n, now - 7200n, now - 7200n]);
    const preset = networkPresets.base;
    const d = await deployAeon(viem, {
      parameters: parametersFor(preset),
      external: {
        usdc: usdc.address,
        feeds: { ETH: eth.address, BTC: btc.address },
        sequencer: { feed: uptime.address, gracePeriod: preset.sequencerGracePeriod },
      },
    });
    assert.deepEqual(await d.contracts.engine.read.sequencer(), [getAddress(uptime.address), preset.sequencerGracePeriod]);
    const tiers = await d.contracts.governance.read.marginTiers([0]);
    assert.equal(tiers[0]!.mmr, (16n * WAD) / 1000n);
    const config = await d.contracts.engine.read.marketConfig([0]);
    assert.equal(config.deviation, preset.feeds.ETH.deviation);
    assert.equal(config.feed.heartbeat, 1320);
    await connection.close();
  });
});
