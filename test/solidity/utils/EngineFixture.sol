// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {MockUSDC} from "../../../contracts/mocks/MockUSDC.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {Vault} from "../../../contracts/Vault.sol";
import {EngineBase} from "../../../contracts/EngineBase.sol";
import {ClearingEngine} from "../../../contracts/ClearingEngine.sol";
import {Governance} from "../../../contracts/Governance.sol";
import {Liquidator} from "../../../contracts/Liquidator.sol";
import {PoolValuation} from "../../../contracts/PoolValuation.sol";
import {ChainlinkLib} from "../../../contracts/libraries/ChainlinkLib.sol";

/// @dev Deploys the clearing engine with its vault and modules, an ETH and a BTC market on mock
/// feeds with the SPEC's default parameters, and plays the order book and the liquidity pool
/// itself so that unit tests can fill at chosen prices and fund the pool.
abstract contract EngineFixture is Test {
    MockUSDC internal usdc;
    Vault internal vault;
    ClearingEngine internal engine;
    Governance internal governance; // the engine's address, typed with the setters' ABI
    Liquidator internal liquidator; // the engine's address, typed with the liquidation ABI
    PoolValuation internal valuation; // the engine's address, typed with the pool valuation ABI
    MockAggregator internal ethFeed;
    MockAggregator internal btcFeed;

    uint8 internal constant ETH = 0;
    uint8 internal constant BTC = 1;
    uint256 internal constant WAD = 1e18;
    uint256 internal constant START = 1_700_000_000;

    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA201);
    address internal keeper = address(0x4EE9E2);

    function setUpEngine() internal {
        setUpEngineUnwired();
        governance.setModules(deployOrderBook(), deployPool());

        ethFeed = new MockAggregator(8, "ETH / USD");
        btcFeed = new MockAggregator(8, "BTC / USD");
        ethFeed.setPrice(3000e8);
        btcFeed.setPrice(60_000e8);
        governance.listMarket(defaultMarketConfig(address(ethFeed), 1_000_000e18), defaultTiers());
        governance.listMarket(defaultMarketConfig(address(btcFeed), 50_000e18), defaultTiers());

        if (engine.liquidityPool() == address(this)) fundPool(10_000_000e6);
    }

    /// @dev The order book the engine trusts. By default the test contract plays it; order-book
    /// tests override this to deploy the real one.
    function deployOrderBook() internal virtual returns (address) {
        return address(this);
    }

    /// @dev Standing in for the order book, the test contract holds no orders to cancel.
    function cancelAccountOrders(uint40, uint256, address) external virtual {}

    /// @dev The liquidity pool the engine trusts. By default the test contract plays it (see
    /// `fundPool`); pool tests override this to deploy the real one.
    function deployPool() internal virtual returns (address) {
        return address(this);
    }

    /// @dev The engine, its vault and modules and the global config; no order book, pool or market yet.
    function setUpEngineUnwired() internal {
        vm.warp(START);
        usdc = new MockUSDC();
        vault = new Vault(usdc, address(this));
        Governance governanceModule = new Governance(vault);
        Liquidator liquidatorModule = new Liquidator(vault);
        PoolValuation valuationModule = new PoolValuation(vault);
        engine = new ClearingEngine(
            vault, address(this), address(governanceModule), address(liquidatorModule), address(valuationModule)
        );
        governance = Governance(address(engine));
        liquidator = Liquidator(address(engine));
        valuation = PoolValuation(address(engine));
        vault.grantRole(vault.OPERATOR_ROLE(), address(engine));
        vault.grantRole(vault.OPERATOR_ROLE(), address(this));
        governance.setGlobalConfig(defaultGlobalConfig());
    }

    function defaultGlobalConfig() internal pure returns (EngineBase.GlobalConfig memory) {
        return EngineBase.GlobalConfig({
            keeperRewardFloor: 5e18,
            keeperRewardCap: 500e18,
            minCollateral: 10e18,
            keeperRewardShare: 0.2e18,
            maxPnlFactor: 0.9e18,
            lossHaircut: 0.5e18,
            reserveFactor: 0.8e18,
            lpFeeShare: 0.7e18,
            insuranceFeeShare: 0.2e18
        });
    }

    /// @dev SPEC defaults on a 0.05%-deviation feed: mmr >= 0.5% + 2 * 0.05% + 0.3% + 0.5% = 1.4%.
    function defaultMarketConfig(address feed, uint128 skewScale) internal pure returns (EngineBase.MarketConfig memory) {
        return EngineBase.MarketConfig({
            feed: ChainlinkLib.Feed({
                aggregator: feed,
                decimals: 8,
                heartbeat: 3600,
                minPrice: 1e18,
                maxPrice: 1_000_000e18
            }),
            skewScale: skewScale,
            maxOpenInterestUsd: 50_000_000e18,
            kMax: 0.005e18,
            takerFee: 0.0005e18,
            makerFee: 0.0002e18,
            liquidationFee: 0.005e18,
            deviation: 0.0005e18,
            gapBuffer: 0.003e18,
            fundingInterval: 8 hours,
            interestRate: 0.0001e18,
            fundingCap: 0.0075e18,
            borrowFloor: 0.02e18,
            borrowKink: 0.8e18,
            borrowKinkRate: 0.1e18,
            borrowMaxRate: 1e18,
            closed: false
        });
    }

    /// @dev 35x up to 10M of open interest, then 20x, then 10x.
    function defaultTiers() internal pure returns (EngineBase.MarginTier[] memory tiers) {
        tiers = new EngineBase.MarginTier[](3);
        tiers[0] = EngineBase.MarginTier({maxOpenInterestUsd: 10_000_000e18, imr: 0.028572e18, mmr: 0.014286e18});
        tiers[1] = EngineBase.MarginTier({maxOpenInterestUsd: 30_000_000e18, imr: 0.05e18, mmr: 0.025e18});
        tiers[2] = EngineBase.MarginTier({maxOpenInterestUsd: type(uint128).max, imr: 0.1e18, mmr: 0.05e18});
    }

    /// @dev Plays the liquidity pool: brings tokens into the vault and credits pool cash.
    function fundPool(uint256 amount) internal {
        usdc.mint(address(this), amount);
        usdc.approve(address(vault), amount);
        vault.pull(address(this), amount);
        engine.movePoolCash(int256(amount * 1e12));
    }

    /// @dev The account's reserved margin in WAD (the engine stores it in 1e12 units).
    function reservedMargin(uint40 accountId) internal view returns (uint256) {
        return uint256(engine.getAccount(accountId).reservedUnits) * 1e12;
    }

    function depositFor(address owner, uint16 subaccount, uint256 amount) internal returns (uint40 accountId) {
        usdc.mint(owner, amount);
        vm.startPrank(owner);
        usdc.approve(address(vault), amount);
        accountId = engine.deposit(owner, subaccount, amount);
        vm.stopPrank();
    }

    /// @dev Plays the order book: fills at `price` with no slippage bound and no reservation.
    function fillAt(uint40 accountId, uint8 marketId, int256 sizeDelta, uint256 price)
        internal
        returns (EngineBase.FillResult memory)
    {
        return _fillUnbounded(accountId, marketId, sizeDelta, price, false);
    }

    function setPrice(MockAggregator feed, uint256 priceWad) internal {
        feed.setPrice(int256(priceWad / 1e10));
    }

    /// @dev Sum of the non-negative ledger entries the engine holds (WAD).
    function engineLedgerTotal(address[] memory keepers) internal view returns (uint256 total) {
        total = uint256(engine.totalCollateral() + int256(engine.totalDebt())) + uint256(engine.poolCash())
            + engine.insuranceFund() + engine.treasury();
        for (uint256 i; i < keepers.length; ++i) {
            total += engine.keeperCredits(keepers[i]);
        }
    }

    /// @dev SPEC invariant 1: the vault's balance (scaled to WAD) covers every ledger entry.
    function assertLedgerCovered() internal view {
        address[] memory keepers = new address[](4);
        keepers[0] = keeper;
        keepers[1] = alice;
        keepers[2] = bob;
        keepers[3] = carol;
        assertGe(usdc.balanceOf(address(vault)) * 1e12, engineLedgerTotal(keepers), "vault covers the ledger");
    }

    /// @dev Replaces a market's config through the risk role (this contract holds it).
    function setMarketConfig(uint8 marketId, EngineBase.MarketConfig memory config) internal {
        governance.setMarketConfig(marketId, config);
    }

    /// @dev The equity of an account at the latest prices.
    function equityOf(uint40 accountId) internal view returns (int256) {
        (EngineBase.Health memory h,) = liquidator.accountHealth(accountId);
        return h.equity;
    }

    function collateralOf(uint40 accountId) internal view returns (int256) {
        return engine.getAccount(accountId).collateral;
    }

    function fillReduceOnly(uint40 accountId, uint8 marketId, int256 sizeDelta, uint256 price)
        internal
        returns (EngineBase.FillResult memory)
    {
        return _fillUnbounded(accountId, marketId, sizeDelta, price, true);
    }

    function _fillUnbounded(uint40 accountId, uint8 marketId, int256 sizeDelta, uint256 price, bool reduceOnly)
        private
        returns (EngineBase.FillResult memory)
    {
        return engine.fill(
            EngineBase.FillRequest({
                accountId: accountId,
                marketId: marketId,
                reduceOnly: reduceOnly,
                sizeDelta: sizeDelta,
                price: price,
                acceptablePrice: sizeDelta > 0 ? type(uint256).max : 0,
                reservation: 0,
                orderKey: 0
            })
        );
    }
}
