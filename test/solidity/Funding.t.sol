// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {FundingLib} from "../../contracts/libraries/FundingLib.sol";
import {ChainlinkLib} from "../../contracts/libraries/ChainlinkLib.sol";

/// @dev SPEC section 5 and the borrowing fee of section 4. ETH: S = 1,000,000, interestRate
/// 0.01% and cap 0.75% per 8-hour interval; borrowing 2% / 10% at the 80% kink / 100%.
contract FundingTest is EngineFixture {
    event FundingSettled(
        uint8 indexed marketId, int256 averageRate, int256 averagePremium, int256 cumFunding, uint256 elapsed
    );

    function setUp() public {
        setUpEngine();
    }

    /// @dev Funding alone: borrowing rates set to zero.
    function _noBorrowing() internal {
        EngineBase.MarketConfig memory config = defaultMarketConfig(address(ethFeed), 1_000_000e18);
        config.borrowFloor = 0;
        config.borrowKinkRate = 0;
        config.borrowMaxRate = 0;
        setMarketConfig(ETH, config);
    }

    uint256 internal clock = START;

    /// @dev Tracks time in storage: under viaIR `block.timestamp` may be read once per call and
    /// reused after a warp.
    function _warpAndPrice(uint256 dt, uint256 price) internal {
        clock += dt;
        vm.warp(clock);
        setPrice(ethFeed, price);
        setPrice(btcFeed, 60_000e18);
    }

    function _cumFunding() internal view returns (int256) {
        (EngineBase.MarketState memory state,,,,) = governance.marketSnapshot(ETH);
        return state.cumFunding;
    }

    function _poolReceivable() internal view returns (int256) {
        (int256 base,) = valuation.poolValue();
        return base - engine.poolCash() - int256(engine.totalDebt());
    }

    /* ------------------------- two intervals, exact ------------------------- */

    function test_funding_twoIntervalsExact() public {
        _noBorrowing();
        uint40 a = depositFor(alice, 0, 200_000e6);
        uint40 b = depositFor(bob, 0, 200_000e6);
        fillAt(a, ETH, 1_000e18, 3000e18); // K = 1000: premium 0.1%, rate 0.11% per interval
        int256 aliceCollateral = collateralOf(a);

        _warpAndPrice(8 hours, 3000e18);
        assertEq(_cumFunding(), 3.3e18, "8 h: 0.11% * 3000");
        vm.expectEmit(true, false, false, true, address(engine));
        emit FundingSettled(ETH, 0.0011e18, 0.001e18, 3.3e18, 8 hours);
        engine.settleFunding(ETH);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.FundingNotDue.selector, ETH, START + 16 hours));
        engine.settleFunding(ETH);

        fillAt(b, ETH, -500e18, 3000e18); // K = 500: rate 0.06%
        int256 bobCollateral = collateralOf(b);
        assertEq(bobCollateral, 200_000e18 - 300e18, "bob pays the maker fee only");
        int256 receivableBefore = _poolReceivable();
        assertEq(receivableBefore, 3_300e18, "alice's first interval is owed to the pool");

        _warpAndPrice(8 hours, 3100e18);
        vm.expectEmit(true, false, false, true, address(engine));
        emit FundingSettled(ETH, 0.0006e18, 0.0005e18, 5.16e18, 8 hours);
        engine.settleFunding(ETH);
        assertEq(_cumFunding(), 5.16e18, "16 h: 3.3 + 0.06% * 3100");

        // alice owes 1000 * 5.16 = 5,160; bob receives 500 * 1.86 = 930
        assertEq(equityOf(a), aliceCollateral + 100_000e18 - 5_160e18, "long pays");
        assertEq(equityOf(b), bobCollateral - 50_000e18 + 930e18, "short receives");
        // zero-sum: longs paid = shorts received + the pool's receivable
        assertEq(_poolReceivable(), 5_160e18 - 930e18, "pool holds the net skew's share");

        // touching the positions realizes their funding: the receivable becomes pool cash
        fillAt(a, ETH, -1e18, 3100e18);
        fillAt(b, ETH, 1e18, 3100e18);
        assertEq(_poolReceivable(), 0, "all realized");
        assertLedgerCovered();
    }

    function test_settleFunding_onlyOncePerInterval() public {
        vm.expectRevert(abi.encodeWithSelector(EngineBase.FundingNotDue.selector, ETH, START + 8 hours));
        engine.settleFunding(ETH);
        _warpAndPrice(8 hours - 1, 3000e18);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.FundingNotDue.selector, ETH, START + 8 hours));
        engine.settleFunding(ETH);
        _warpAndPrice(1, 3000e18);
        engine.settleFunding(ETH); // no skew: the interest rate alone
        assertEq(governance.marketState(ETH).cumFunding, 0.3e18, "0.01% * 3000");
        // a late keeper: the average is over the whole elapsed time
        _warpAndPrice(12 hours, 3000e18);
        vm.expectEmit(true, false, false, true, address(engine));
        emit FundingSettled(ETH, 0.0001e18, 0, 0.3e18 + 0.45e18, 12 hours);
        engine.settleFunding(ETH);
    }

    /// @dev SPEC 5: the rate follows the current skew at every moment, so a trader who builds skew
    /// and flips never collects the old rate; the settlement publishes the time-weighted average.
    function test_flippingTheSkew_doesNotCollectAStaleRate() public {
        _noBorrowing();
        uint40 a = depositFor(alice, 0, 300_000e6);
        fillAt(a, ETH, 1_000e18, 3000e18);
        _warpAndPrice(4 hours, 3000e18);
        fillAt(a, ETH, -2_000e18, 3000e18); // short 1000: K = -1000
        (,,, int256 rate,) = governance.marketSnapshot(ETH);
        assertEq(rate, -0.0009e18, "the rate is the new skew's at once");
        int256 collateral = collateralOf(a);

        _warpAndPrice(1 hours, 3000e18);
        // per unit: -0.09% * 3000 / 8 = -0.3375: the short pays 337.5
        assertEq(equityOf(a), collateral - 337.5e18, "the flipped short pays");

        _warpAndPrice(3 hours, 3000e18);
        // 4 h at +0.11% and 4 h at -0.09%: average 0.01%, premium average 0
        vm.expectEmit(true, false, false, true, address(engine));
        emit FundingSettled(ETH, 0.0001e18, 0, 1.65e18 - 1.35e18, 8 hours);
        engine.settleFunding(ETH);
        assertLedgerCovered();
    }

    function test_fundingRate_cappedPerInterval() public pure {
        (int256 rate, int256 premium) = FundingLib.fundingRate(10_000e18, 1_000_000e18, 0.0001e18, 0.0075e18);
        assertEq(premium, 0.01e18, "premium 1%");
        assertEq(rate, 0.0075e18, "capped at +0.75%");
        (rate,) = FundingLib.fundingRate(-10_000e18, 1_000_000e18, 0.0001e18, 0.0075e18);
        assertEq(rate, -0.0075e18, "capped at -0.75%");
    }

    /* ------------------------------ borrowing ------------------------------ */

    function test_borrowRate_floorKinkAndMax() public pure {
        assertEq(FundingLib.borrowRate(0, 0.02e18, 0.8e18, 0.1e18, 1e18), 0.02e18, "u = 0: floor 2%");
        assertEq(FundingLib.borrowRate(0.4e18, 0.02e18, 0.8e18, 0.1e18, 1e18), 0.06e18, "u = 40%: 6%");
        assertEq(FundingLib.borrowRate(0.8e18, 0.02e18, 0.8e18, 0.1e18, 1e18), 0.1e18, "u = 80%: kink 10%");
        assertEq(FundingLib.borrowRate(0.9e18, 0.02e18, 0.8e18, 0.1e18, 1e18), 0.55e18, "u = 90%: 55%");
        assertEq(FundingLib.borrowRate(1e18, 0.02e18, 0.8e18, 0.1e18, 1e18), 1e18, "u = 100%: 100%");
        assertEq(FundingLib.borrowRate(2e18, 0.02e18, 0.8e18, 0.1e18, 1e18), 1e18, "above 100%: 100%");
    }

    function _smallOpenInterestCap() internal {
        EngineBase.MarketConfig memory config = defaultMarketConfig(address(ethFeed), 1_000_000e18);
        config.maxOpenInterestUsd = 1_500_000e18; // u = OI / 3,000,000
        setMarketConfig(ETH, config);
    }

    function test_borrowRate_engineAtZeroKinkAndFull() public {
        _smallOpenInterestCap();
        (,,,, uint256 borrowRate) = governance.marketSnapshot(ETH);
        assertEq(borrowRate, 0.02e18, "u = 0");
        uint40 a = depositFor(alice, 0, 100_000e6);
        uint40 b = depositFor(bob, 0, 100_000e6);
        fillAt(a, ETH, 400e18, 3000e18);
        fillAt(b, ETH, -400e18, 3000e18);
        (,,,, borrowRate) = governance.marketSnapshot(ETH);
        assertEq(borrowRate, 0.1e18, "u = 2.4M / 3M = 80%");
        fillAt(a, ETH, 100e18, 3000e18);
        fillAt(b, ETH, -100e18, 3000e18);
        (,,,, borrowRate) = governance.marketSnapshot(ETH);
        assertEq(borrowRate, 1e18, "u = 100%");
    }

    function test_borrowing_accruesPerSecondOnBothSides() public {
        _smallOpenInterestCap();
        uint40 a = depositFor(alice, 0, 100_000e6);
        uint40 b = depositFor(bob, 0, 100_000e6);
        fillAt(a, ETH, 400e18, 3000e18);
        fillAt(b, ETH, -400e18, 3000e18); // K = 0, u = 80%: 10% a year
        int256 ca = collateralOf(a);
        int256 cb = collateralOf(b);
        _warpAndPrice(1 days, 3000e18);
        (EngineBase.MarketState memory state,,,,) = governance.marketSnapshot(ETH);
        // 10% * 3000 * 86400 / 365 days, rounded up
        assertEq(state.cumBorrow, 821917808219178083, "borrow per unit");
        // funding at K = 0 is the interest rate: 0.01% * 3000 * 3 intervals = 0.9 per unit
        assertEq(state.cumFunding, 0.9e18, "funding per unit");
        assertEq(equityOf(a), ca - 360e18 - 328.7671232876712332e18, "long: funding + borrowing");
        assertEq(equityOf(b), cb + 360e18 - 328.7671232876712332e18, "short: + funding - borrowing");
        // the pool's receivable: both sides' borrowing; funding nets to zero at K = 0
        assertEq(_poolReceivable(), 2 * 328.7671232876712332e18, "borrowing goes to LPs");
        assertLedgerCovered();
    }

    /* ------------------------------- fuzzing ------------------------------- */

    /// @dev SPEC invariant 3: what longs owe = what shorts receive + the pool's receivable, with the
    /// per-position rounding in the protocol's favour (at most 1 wei per position).
    function testFuzz_funding_zeroSum(uint256 longSize, uint256 shortSize, uint256 dt, uint256 price) public {
        _noBorrowing();
        longSize = bound(longSize, 1e15, 2_000e18);
        shortSize = bound(shortSize, 1e15, 2_000e18);
        dt = bound(dt, 1, 3 days);
        price = bound(price, 1_000e18, 4_000e18);
        uint40 a = depositFor(alice, 0, 1_000_000e6);
        uint40 b = depositFor(bob, 0, 1_000_000e6);
        fillAt(a, ETH, int256(longSize), 3000e18);
        fillAt(b, ETH, -int256(shortSize), 3000e18);
        int256 receivableBefore = _poolReceivable();
        assertEq(receivableBefore, 0, "nothing accrued yet");
        _warpAndPrice(dt, price);
        // accrue the market in storage at the new price (the pool view accrues at the stored price)
        uint40 c = depositFor(carol, 0, 100e6);
        fillAt(c, ETH, 0, price);
        int256 longOwes = collateralOf(a) + _pnl(a) - equityOf(a);
        int256 shortOwes = collateralOf(b) + _pnl(b) - equityOf(b);
        int256 receivable = _poolReceivable();
        assertLe(receivable, longOwes + shortOwes, "pool books no more than traders owe");
        assertGe(receivable + 2, longOwes + shortOwes, "at most 1 wei per position");
        assertLedgerCovered();
    }

    function _pnl(uint40 id) internal view returns (int256) {
        EngineBase.Position memory p = engine.getPosition(id, ETH);
        (, uint256 price,,,) = governance.marketSnapshot(ETH);
        int256 sp = int256(p.size) * int256(price);
        int256 floored = sp / 1e18;
        if (sp < 0 && sp % 1e18 != 0) floored -= 1;
        return floored - p.cost;
    }

    function test_fundingPerUnit_usesTheLatestPriceAndStatus() public view {
        (, uint256 price, ChainlinkLib.Status status,,) = governance.marketSnapshot(ETH);
        assertEq(price, 3000e18, "latest price");
        assertTrue(status == ChainlinkLib.Status.Valid, "valid");
    }
}
