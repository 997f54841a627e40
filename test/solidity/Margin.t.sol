// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {MockAggregator} from "../../contracts/mocks/MockAggregator.sol";

/// @dev SPEC section 3 (accounts and margin) and the caps of section 4, on the fixture's
/// defaults: ETH S = 1,000,000, tier 0 imr 2.8572% / mmr 1.4286%, taker 5 bps, maker 2 bps,
/// keeperRewardFloor 5, minCollateral 10, pool 10M with reserveFactor 80%.
contract MarginTest is EngineFixture {
    function setUp() public {
        setUpEngine();
    }

    /* ------------------------------ opening ------------------------------ */

    function test_open_allowedWhileEquityCoversInitialMargin() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        // 100 - taker 1.5 - impact 3000 * 1 / 2e6 = 0.0015
        assertEq(collateralOf(a), 98.4985e18, "collateral after fees");
        (EngineBase.Health memory h,) = liquidator.accountHealth(a);
        assertEq(h.initialMargin, 85.716e18, "IM = 3000 * 2.8572%");
        assertEq(h.maintenanceMargin, 42.858e18 + 5e18, "MM = 3000 * 1.4286% + floor");
        assertLedgerCovered();
    }

    function test_open_revertsBelowInitialMarginWithNumbers() public {
        uint40 a = depositFor(alice, 0, 100e6);
        // 1.2 ETH: fee 1.8, impact 3600 * 1.2 / 2e6 = 0.00216; IM = 3600 * 2.8572% = 102.8592
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(98.19784e18), uint256(102.8592e18)));
        fillAt(a, ETH, 1.2e18, 3000e18);
        assertLedgerCovered();
    }

    function test_open_unrealizedProfitDoesNotBackNewRisk() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        setPrice(ethFeed, 3100e18);
        // +0.2 ETH at 3100: fee 0.31, impact 620 * (1 + 1.2) / 2e6 = 0.000682; profit 100 excluded.
        // IM of 1.2 ETH at 3100 = 3720 * 2.8572% = 106.28784
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(98.187818e18), uint256(106.28784e18)));
        fillAt(a, ETH, 0.2e18, 3100e18);
    }

    function test_freshPosition_showsNoProfitAtTheIndex() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        uint40 b = depositFor(bob, 0, 1_000e6);
        setPrice(ethFeed, 3000.12345678e18);
        fillAt(a, ETH, 0.333333333333333333e18, 3000.12345678e18);
        fillAt(b, ETH, -0.777777777777777777e18, 3000.12345678e18);
        (EngineBase.Health memory ha,) = liquidator.accountHealth(a);
        (EngineBase.Health memory hb,) = liquidator.accountHealth(b);
        assertEq(ha.positivePnl, 0, "long shows no profit");
        assertEq(hb.positivePnl, 0, "short shows no profit");
        assertLe(ha.equity, collateralOf(a), "long equity <= collateral");
        assertGe(ha.equity, collateralOf(a) - 1, "long: at most 1 wei of rounding");
        assertLe(hb.equity, collateralOf(b), "short equity <= collateral");
        assertGe(hb.equity, collateralOf(b) - 1, "short: at most 1 wei of rounding");
        assertLedgerCovered();
    }

    /// @dev SPEC invariant 9.
    function test_equity_doesNotMoveWhenAnotherAccountTrades() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint40 b = depositFor(bob, 0, 1_000_000e6);
        fillAt(a, ETH, 2e18, 3000e18);
        fillAt(a, BTC, -0.1e18, 60_000e18);
        vm.warp(block.timestamp + 1 hours);
        setPrice(ethFeed, 3000e18);
        setPrice(btcFeed, 60_000e18);
        int256 before = equityOf(a);
        fillAt(b, ETH, 1_000e18, 3000e18);
        assertEq(equityOf(a), before, "after another's open");
        fillAt(b, ETH, -1_500e18, 3000e18);
        assertEq(equityOf(a), before, "after another's flip");
        fillAt(b, BTC, 5e18, 60_000e18);
        assertEq(equityOf(a), before, "after another's trade in the other market");
        assertLedgerCovered();
    }

    /* ---------------------------- withdrawing ----------------------------- */

    function test_withdraw_unrealizedProfitCannotLeave() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        setPrice(ethFeed, 3100e18);
        // collateral 98.4985 - 50 = 48.4985, profit 100 not counted; IM 3100 * 2.8572% = 88.5732
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(48.4985e18), uint256(88.5732e18)));
        vm.prank(alice);
        engine.withdraw(0, 50e6, alice);
    }

    function test_withdraw_reservedMarginStaysUntouched() public {
        uint40 a = depositFor(alice, 0, 100e6);
        // 1,000 USD at the first tier's 2.8572% initial margin, 0.05% taker fee and 0.5% kMax.
        (uint40 id, uint256 reserved,) = engine.reserveOrderMargin(alice, 0, ETH, 1_000e18, 3000e18, true, 0);
        assertEq(id, a, "the owner's account");
        assertEq(reserved, 34.072e18, "reservation");
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(30e18), uint256(34.072e18)));
        vm.prank(alice);
        engine.withdraw(0, 70e6, alice);
        vm.prank(alice);
        engine.withdraw(0, 65e6, alice);
        assertEq(collateralOf(a), 35e18, "reserved part stays");
        assertEq(usdc.balanceOf(alice), 65e6, "withdrawn");
        assertLedgerCovered();
    }

    function test_reserve_reduceOnlyHoldsFeeAndImpactOnlyAndAnUnknownAccountGetsNothing() public {
        uint40 a = depositFor(alice, 0, 100e6);
        // No initial margin for an order that cannot grow a position: 0.55% of 1,000 USD, and no
        // margin check (the same order growing exposure would need 34.072 USD).
        (uint40 id, uint256 reserved,) = engine.reserveOrderMargin(alice, 0, ETH, 1_000e18, 3000e18, false, 0);
        assertEq(id, a, "the owner's account");
        assertEq(reserved, 5.5e18, "fee and impact");
        // Rounded up to whole 1e-6 USD.
        (, reserved,) = engine.reserveOrderMargin(alice, 0, ETH, 1e18 + 1, 3000e18, false, 0);
        assertEq(reserved, 0.005501e18, "1 wei more notional rounds up to the next unit");
        assertEq(reservedMargin(a), 5.505501e18, "both held");
        (id, reserved,) = engine.reserveOrderMargin(alice, 1, ETH, 1_000e18, 3000e18, true, 0);
        assertEq(id, 0, "no such account");
        assertEq(reserved, 0, "nothing reserved");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.NotOrderBook.selector, alice));
        engine.reserveOrderMargin(alice, 0, ETH, 1_000e18, 3000e18, false, 0);
    }

    function test_reserve_keepsTheLatestMarketOrderAndReturnsTheOneItDisplaces() public {
        uint40 a = depositFor(alice, 0, 100e6);
        uint256 first = (1 << 72) | 5; // queued keys: the queue flag, the market, the position
        uint256 second = (1 << 72) | (uint256(ETH) << 64) | type(uint64).max;
        (,, uint256 displaced) = engine.reserveOrderMargin(alice, 0, ETH, 100e18, 3000e18, false, first);
        assertEq(displaced, 0, "no earlier market order");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), first, "kept");
        (,, displaced) = engine.reserveOrderMargin(alice, 0, ETH, 100e18, 3000e18, false, second);
        assertEq(displaced, first, "the earlier one is handed back");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), second, "the widest key fits");
        // An order waiting for its trigger leaves it alone.
        (,, displaced) = engine.reserveOrderMargin(alice, 0, ETH, 100e18, 3000e18, false, 0);
        assertEq(displaced, 0, "nothing displaced");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), second, "unchanged");
        assertEq(reservedMargin(a), 3 * 0.55e18, "the three reservations share the slot");
        assertEq(collateralOf(a), 100e18, "collateral untouched");
    }

    function test_withdraw_cannotLeaveAPositionBelowMinimumCollateral() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 0.01e18, 3000e18);
        // collateral 100 - 0.015 - 0.00000015; withdrawing 90 leaves 9.98499985 < 10
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientCollateral.selector, int256(9.98499985e18), uint256(10e18)));
        vm.prank(alice);
        engine.withdraw(0, 90e6, alice);
    }

    /// @dev SPEC invariant 4: after a withdrawal that requires E >= IM the account is not
    /// liquidatable, even for a small position whose MM (with the keeper floor) exceeds its IM.
    function test_withdraw_neverLeavesTheAccountLiquidatable() public {
        uint40 a = depositFor(alice, 0, 20e6);
        fillAt(a, ETH, 0.01e18, 3000e18);
        setPrice(ethFeed, 2500e18);
        // collateral 19.98499985 - 9.984999 = 10.00000085, loss 5: E = 5.00000085;
        // IM 0.7143 but MM = 25 * 1.4286% + 5 = 5.35715
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(5.00000085e18), uint256(5.35715e18)));
        vm.prank(alice);
        engine.withdraw(0, 9.984999e6, alice);
    }

    function test_minimumCollateral_requiredToOpen() public {
        uint40 a = depositFor(alice, 0, 10e6);
        // fee 0.015, impact 30 * 0.01 / 2e6 = 0.00000015
        vm.expectRevert(abi.encodeWithSelector(EngineBase.InsufficientCollateral.selector, int256(9.98499985e18), uint256(10e18)));
        fillAt(a, ETH, 0.01e18, 3000e18);
    }

    /* ------------------------- debt to the pool ------------------------- */

    /// @dev Long 1 ETH and short 0.05 BTC; both halve: the ETH close realizes -1500 while the BTC
    /// short (+1500) keeps the account far above maintenance.
    function _openHedgeAndRealizeLoss() internal returns (uint40 a) {
        a = depositFor(alice, 0, 1_000e6);
        fillAt(a, ETH, 1e18, 3000e18);
        fillAt(a, BTC, -0.05e18, 60_000e18);
        assertEq(collateralOf(a), 996.997e18, "after two opens: 2 * (1.5 + 0.0015)");
        setPrice(ethFeed, 1500e18);
        setPrice(btcFeed, 30_000e18);
        fillAt(a, ETH, -1e18, 1500e18); // maker fee 0.3
    }

    function test_debt_createdByRealizedLossWhileOtherPositionsKeepTheAccountHealthy() public {
        uint40 a = _openHedgeAndRealizeLoss();
        assertEq(collateralOf(a), -503.303e18, "996.997 - 1500 - 0.3");
        assertEq(engine.totalDebt(), 503.303e18, "debt recorded");
        (EngineBase.Health memory h, bool liquidatable) = liquidator.accountHealth(a);
        assertEq(h.equity, 996.697e18, "equity = -503.303 + 1500");
        assertFalse(liquidatable, "still healthy");
        assertLedgerCovered();
    }

    function test_debt_nothingCanBeWithdrawn() public {
        _openHedgeAndRealizeLoss();
        vm.expectRevert(abi.encodeWithSelector(EngineBase.WithdrawExceedsCollateral.selector, uint256(1e18), int256(-503.303e18)));
        vm.prank(alice);
        engine.withdraw(0, 1e6, alice);
    }

    function test_debt_repaidFirstByADepositIntoPoolCash() public {
        uint40 a = _openHedgeAndRealizeLoss();
        int256 cashBefore = engine.poolCash();
        depositFor(alice, 0, 600e6);
        assertEq(collateralOf(a), 96.697e18, "600 - 503.303");
        assertEq(engine.totalDebt(), 0, "debt repaid");
        assertEq(engine.poolCash() - cashBefore, 503.303e18, "pool cash grows by the repaid part");
        assertLedgerCovered();
        // the ledger is exact: nothing the vault holds is unaccounted for
        address[] memory keepers = new address[](0);
        assertEq(usdc.balanceOf(address(vault)) * 1e12, engineLedgerTotal(keepers), "vault == ledger");
    }

    /// @dev SPEC invariant 6: closing everything and withdrawing pays collateral + realized PnL -
    /// fees - impact - funding - borrowing, rounded down to token units, never more.
    function test_closeAndWithdraw_paysExactlyTheLedgerNeverMore() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        EngineBase.FillResult memory open = fillAt(a, ETH, 1e18, 3000e18);
        vm.warp(START + 1 hours);
        setPrice(ethFeed, 3050e18);
        setPrice(btcFeed, 60_000e18);
        EngineBase.FillResult memory close = fillAt(a, ETH, -1e18, 3050e18);
        assertEq(close.realizedPnl, 50e18, "realized");
        // funding 1 h at K = 1: (1/1e6 + 0.01%) * 3050 / 8; borrowing 2% a year (u ~ 0) for 1 h
        int256 funding = 0.03850625e18; // 1 * 1.01e14 * 3050 * 3600 / 28800 (exact)
        int256 expected = 1_000e18 + 50e18 - int256(open.feeUsd + open.impactUsd + close.feeUsd) - funding;
        int256 collateral = collateralOf(a);
        assertLe(collateral, expected, "funding and borrowing were charged");
        assertGe(collateral, expected - 0.0071e18, "borrowing: 2%+ of 3050 for 1 h is ~0.00697");
        uint256 all = uint256(collateral) / 1e12;
        vm.prank(alice);
        engine.withdraw(0, all, alice);
        assertEq(usdc.balanceOf(alice), all, "paid in token units");
        assertLt(uint256(collateralOf(a)), 1e12, "only dust below a token unit stays");
        vm.expectRevert(abi.encodeWithSelector(EngineBase.WithdrawExceedsCollateral.selector, uint256(1e12), collateralOf(a)));
        vm.prank(alice);
        engine.withdraw(0, 1, alice);
        assertLedgerCovered();
    }

    /* ---------------------------- margin tiers ---------------------------- */

    function test_tier_fixedWhenOpenedAnotherTradersOpenCannotRaiseIt() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        uint40 b = depositFor(bob, 0, 400_000e6);
        uint40 c = depositFor(carol, 0, 400_000e6);
        fillAt(a, ETH, 1e18, 3000e18);
        fillAt(b, ETH, 2_000e18, 3000e18);
        fillAt(c, ETH, -2_000e18, 3000e18); // total OI 12,003,000 > 10M: tier 1 for new risk
        assertEq(engine.getPosition(a, ETH).tier, 0, "alice stays in tier 0");
        assertEq(engine.getPosition(c, ETH).tier, 1, "carol opened in tier 1");
        (EngineBase.Health memory h,) = liquidator.accountHealth(a);
        assertEq(h.initialMargin, 85.716e18, "alice's IM is unchanged");
        // growing the position moves it to the current tier
        fillAt(a, ETH, 0.1e18, 3000e18);
        assertEq(engine.getPosition(a, ETH).tier, 1, "increase refixes the tier");
        (h,) = liquidator.accountHealth(a);
        assertEq(h.initialMargin, 165e18, "3300 * 5%");
        assertLedgerCovered();
    }

    /* ------------------------------ reductions ----------------------------- */

    function test_reduction_alwaysPassesEvenBelowMaintenance() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        setPrice(ethFeed, 2920e18);
        (, bool liquidatable) = liquidator.accountHealth(a);
        assertTrue(liquidatable, "below maintenance");
        fillAt(a, ETH, -0.5e18, 2920e18);
        assertEq(engine.getPosition(a, ETH).size, 0.5e18, "reduced");
        // realized -40, maker fee 1460 * 2 bps = 0.292
        assertEq(collateralOf(a), 98.4985e18 - 40e18 - 0.292e18, "collateral");
        assertLedgerCovered();
    }

    /* -------------------------------- caps -------------------------------- */

    function test_positionCap_sixteenMarkets() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        fillAt(a, ETH, 0.01e18, 3000e18);
        fillAt(a, BTC, 0.001e18, 60_000e18);
        for (uint256 i = 2; i < 17; ++i) {
            MockAggregator feed = new MockAggregator(8, "X / USD");
            feed.setPrice(100e8);
            uint8 m = governance.listMarket(defaultMarketConfig(address(feed), 1_000_000e18), defaultTiers());
            assertEq(m, i, "market id");
            if (i < 16) fillAt(a, m, 1e18, 100e18);
        }
        (EngineBase.Health memory h,) = liquidator.accountHealth(a);
        assertEq(h.positionCount, 16, "sixteen positions");
        vm.expectRevert(abi.encodeWithSelector(EngineBase.TooManyPositions.selector, uint256(17)));
        fillAt(a, 16, 1e18, 100e18);
        assertLedgerCovered();
    }

    function _smallSkewScale() internal {
        setMarketConfig(ETH, defaultMarketConfig(address(ethFeed), 100_000e18)); // bound 500 ETH
    }

    function test_skewBound_increasesRevertReductionsPass() public {
        _smallSkewScale();
        uint40 a = depositFor(alice, 0, 200_000e6);
        uint40 b = depositFor(bob, 0, 200_000e6);
        fillAt(b, ETH, -100e18, 3000e18);
        fillAt(a, ETH, 600e18, 3000e18); // skew 500: at the bound
        vm.expectRevert(abi.encodeWithSelector(EngineBase.SkewBoundExceeded.selector, uint256(501e18), uint256(500e18)));
        fillAt(a, ETH, 1e18, 3000e18);
        // bob's close grows |K| to 600, past the bound: reductions always pass
        fillAt(b, ETH, 100e18, 3000e18);
        assertEq(engine.getPosition(b, ETH).size, 0, "closed");
        // a flip whose opening part grows |K| past the bound does not pass
        vm.expectRevert(abi.encodeWithSelector(EngineBase.SkewBoundExceeded.selector, uint256(601e18), uint256(500e18)));
        fillAt(b, ETH, 1e18, 3000e18);
        assertLedgerCovered();
    }

    function test_openInterestCap_perSide() public {
        EngineBase.MarketConfig memory config = defaultMarketConfig(address(ethFeed), 1_000_000e18);
        config.maxOpenInterestUsd = 1_000_000e18;
        setMarketConfig(ETH, config);
        uint40 a = depositFor(alice, 0, 100_000e6);
        vm.expectRevert(
            abi.encodeWithSelector(EngineBase.OpenInterestCapExceeded.selector, ETH, uint256(1_002_000e18), uint256(1_000_000e18))
        );
        fillAt(a, ETH, 334e18, 3000e18);
        fillAt(a, ETH, 333e18, 3000e18);
    }

    function test_openInterestCap_bindsOnlyTheSideThatGrows() public {
        EngineBase.MarketConfig memory config = defaultMarketConfig(address(ethFeed), 1_000_000e18);
        config.maxOpenInterestUsd = 1_000_000e18;
        setMarketConfig(ETH, config);
        uint40 a = depositFor(alice, 0, 100_000e6);
        uint40 b = depositFor(bob, 0, 100_000e6);
        fillAt(a, ETH, 333e18, 3000e18);
        // A price rise takes the longs over their cap (333 * 3100 = 1,032,300).
        setPrice(ethFeed, 3100e18);
        fillAt(b, ETH, -10e18, 3100e18);
        assertEq(engine.getPosition(b, ETH).size, -10e18, "a short still opens against an over-cap long side");
        vm.expectRevert(
            abi.encodeWithSelector(EngineBase.OpenInterestCapExceeded.selector, ETH, uint256(1_035_400e18), uint256(1_000_000e18))
        );
        fillAt(a, ETH, 1e18, 3100e18);
    }

    function test_reserve_againstPoolBaseValue() public {
        uint40 a = depositFor(alice, 0, 300_000e6);
        // 2700 ETH = 8.1M > 80% of the pool's 10M base value
        vm.expectRevert(abi.encodeWithSelector(EngineBase.ReserveExceeded.selector, uint256(8_100_000e18), uint256(8_000_000e18)));
        fillAt(a, ETH, 2_700e18, 3000e18);
    }

    /* -------------------------------- pause -------------------------------- */

    function test_pause_blocksOpensNeverClosesWithdrawalsOrLiquidations() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        uint40 b = depositFor(bob, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        fillAt(b, ETH, 1e18, 3000e18);
        governance.setOpeningPaused(true);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.OpeningPaused.selector));
        fillAt(a, ETH, 0.1e18, 3000e18);
        fillAt(a, ETH, -0.5e18, 3000e18);
        vm.prank(alice);
        engine.withdraw(0, 100e6, alice);
        setPrice(ethFeed, 2900e18);
        liquidator.liquidate(b);
        assertEq(engine.getPosition(b, ETH).size, 0, "liquidated while paused");
        assertLedgerCovered();
    }
}
