// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";

/// @dev SPEC section 7: liquidation fee from positive equity only, keeper reward (floor 5, 20%
/// share, cap 500), the rest to the insurance fund, shortfall from the insurance fund then the pool.
contract LiquidationTest is EngineFixture {
    event BadDebt(uint40 indexed accountId, uint256 shortfall, uint256 fromInsurance, uint256 fromPool);

    function setUp() public {
        setUpEngine();
    }

    function _fundInsurance(uint256 amount) internal {
        usdc.mint(address(this), amount);
        usdc.approve(address(vault), amount);
        governance.fundInsurance(amount);
    }

    /// @dev 100 USD, long 1 ETH at 3000: collateral 98.4985.
    function _aliceLongOne() internal returns (uint40 a) {
        a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
    }

    function test_notLiquidatable_healthyAccountRevertsWithNumbers() public {
        uint40 a = _aliceLongOne();
        vm.expectRevert(abi.encodeWithSelector(EngineBase.NotLiquidatable.selector, int256(98.4985e18), uint256(47.858e18)));
        liquidator.liquidate(a);
    }

    function test_liquidation_positiveEquity_floorRewardRestToInsurance() public {
        uint40 a = _aliceLongOne();
        setPrice(ethFeed, 2945e18); // E = 43.4985 < MM = 42.07227 + 5
        uint256 insuranceBefore = engine.insuranceFund();
        vm.prank(keeper);
        liquidator.liquidate(a);
        // close at the index (shrinks K): maker 0.589; collateral 98.4985 - 55 - 0.589 = 42.9095
        // fee 14.725, reward max(2.945, 5) = 5, insurance 9.725 (+ 0.1178 of the maker fee)
        assertEq(engine.getPosition(a, ETH).size, 0, "closed");
        assertEq(collateralOf(a), 28.1845e18, "what equity is left stays the trader's");
        assertEq(engine.keeperCredits(keeper), 5e18, "keeper reward floor");
        assertEq(engine.insuranceFund() - insuranceBefore, 9.725e18 + 0.1178e18, "insurance");
        assertLedgerCovered();
    }

    function test_liquidation_rewardIsTwentyPercentOfTheFeeBetweenFloorAndCap() public {
        uint40 a = depositFor(alice, 0, 400e6);
        fillAt(a, ETH, 4e18, 3000e18);
        assertEq(collateralOf(a), 393.976e18, "400 - 6 - 0.024");
        setPrice(ethFeed, 2920e18);
        uint256 insuranceBefore = engine.insuranceFund();
        vm.prank(keeper);
        liquidator.liquidate(a);
        // collateral 393.976 - 320 - 2.336 = 71.64; fee 58.4, reward 11.68
        assertEq(collateralOf(a), 13.24e18, "71.64 - 58.4");
        assertEq(engine.keeperCredits(keeper), 11.68e18, "20% of the fee");
        assertEq(engine.insuranceFund() - insuranceBefore, 46.72e18 + 0.4672e18, "rest to insurance");
        vm.prank(keeper);
        governance.claimKeeperCredits(keeper);
        assertEq(usdc.balanceOf(keeper), 11.68e6, "claimed");
        assertLedgerCovered();
    }

    function test_badDebt_insuranceFundPaysThenThePool() public {
        _fundInsurance(50e6);
        uint40 a = _aliceLongOne();
        assertEq(engine.insuranceFund(), 50.3e18, "50 + 20% of the 1.5 taker fee");
        setPrice(ethFeed, 2800e18);
        // collateral 98.4985 - 200 - 0.56 = -102.0615; fee 14 cannot be taken; the reward (5)
        // comes from insurance (50.3 + 0.112 - 5 = 45.412 left), which then covers what it can.
        int256 baseBefore;
        (baseBefore,) = valuation.poolValue();
        vm.expectEmit(true, false, false, true, address(engine));
        emit BadDebt(a, 102.0615e18, 45.412e18, 56.6495e18);
        vm.prank(keeper);
        liquidator.liquidate(a);
        assertEq(engine.insuranceFund(), 0, "insurance emptied");
        assertEq(engine.keeperCredits(keeper), 5e18, "reward from insurance");
        assertEq(collateralOf(a), 0, "debt written off");
        assertEq(engine.totalDebt(), 0, "no receivable left");
        (int256 baseAfter,) = valuation.poolValue();
        // the pool: + 200 realized loss + 0.392 LP share of the maker fee - 102.0615 debt written off
        // + 45.412 from insurance; it had already booked -102.0615 as a receivable.
        assertEq(baseAfter - baseBefore, 200e18 + 0.392e18 - 56.6495e18, "pool loses only the rest");
        assertLedgerCovered();
    }

    function test_badDebt_emptyInsuranceFund_poolPaysAll() public {
        uint40 a = _aliceLongOne();
        setPrice(ethFeed, 2800e18);
        vm.expectEmit(true, false, false, true, address(engine));
        emit BadDebt(a, 102.0615e18, 0, 102.0615e18);
        vm.prank(keeper);
        liquidator.liquidate(a);
        // the insurance fund only held the fee shares (0.3 + 0.112): all of it to the keeper
        assertEq(engine.keeperCredits(keeper), 0.412e18, "reward capped by what insurance holds");
        assertEq(engine.insuranceFund(), 0, "empty");
        assertLedgerCovered();
    }

    function test_liquidateBatch_skipsHealthyAndReturnsTheCount() public {
        uint40 a = _aliceLongOne();
        uint40 b = depositFor(bob, 0, 10_000e6);
        fillAt(b, ETH, 1e18, 3000e18);
        setPrice(ethFeed, 2900e18);
        uint40[] memory ids = new uint40[](4);
        ids[0] = b;
        ids[1] = a;
        ids[2] = 999;
        ids[3] = a; // already liquidated: skipped
        vm.prank(keeper);
        uint256 count = liquidator.liquidateBatch(ids);
        assertEq(count, 1, "one liquidated");
        assertEq(engine.getPosition(a, ETH).size, 0, "alice liquidated");
        assertEq(engine.getPosition(b, ETH).size, 1e18, "bob untouched");
        assertLedgerCovered();
    }

    function test_pinnedSkew_neverBlocksACloseOrALiquidation() public {
        setMarketConfig(ETH, defaultMarketConfig(address(ethFeed), 100_000e18)); // bound 500
        uint40 b = depositFor(bob, 0, 20_000e6);
        uint40 a = depositFor(alice, 0, 100_000e6);
        fillAt(b, ETH, -200e18, 3000e18); // impact 600, fee 300
        fillAt(a, ETH, 700e18, 3000e18); // skew 500: pinned at the bound
        assertEq(collateralOf(b), 19_100e18, "bob after open");
        setPrice(ethFeed, 3060e18);
        vm.prank(keeper);
        liquidator.liquidate(b);
        // buy 200 from K = 500 to 700: premium (500+700)/2e5 = 0.6% capped at kMax 0.5%:
        // impact 612,000 * 0.5% = 3060, taker 306; 19,100 - 12,000 - 3,366 = 3,734;
        // fee 3,060 of which the reward is capped at 500.
        assertEq(engine.getPosition(b, ETH).size, 0, "liquidated past the bound");
        assertEq(collateralOf(b), 674e18, "3734 - 3060");
        assertEq(engine.keeperCredits(keeper), 500e18, "reward cap");
        fillAt(a, ETH, -700e18, 3060e18);
        assertEq(engine.getPosition(a, ETH).size, 0, "close passes");
        assertLedgerCovered();
    }

    function test_hedgedPair_liquidatingOneSideHandsTheOtherNoImpact() public {
        uint40 longId = depositFor(alice, 0, 100e6);
        uint40 shortId = depositFor(alice, 1, 1_000e6);
        fillAt(longId, ETH, 1e18, 3000e18);
        fillAt(shortId, ETH, -1e18, 3000e18); // shrinks K: index, maker 0.6
        assertEq(collateralOf(shortId), 999.4e18, "short after open");
        setPrice(ethFeed, 2900e18);
        int256 shortEquity = equityOf(shortId);
        assertEq(shortEquity, 1_099.4e18, "999.4 + 100");
        liquidator.liquidate(longId);
        assertEq(equityOf(shortId), shortEquity, "the other side's equity does not move");
        fillAt(shortId, ETH, 1e18, 2900e18); // shrinks K back to 0: index, maker 0.58
        assertEq(collateralOf(shortId), 1_098.82e18, "exactly PnL - maker fee, no impact collected");
        assertLedgerCovered();
    }

    function test_selfLiquidation_isNotProfitable() public {
        uint40 a = _aliceLongOne();
        setPrice(ethFeed, 2945e18);
        uint256 snapshot = vm.snapshotState();
        fillAt(a, ETH, -1e18, 2945e18);
        int256 closedNormally = collateralOf(a);
        assertEq(closedNormally, 42.9095e18, "close");
        vm.revertToState(snapshot);
        vm.prank(alice);
        liquidator.liquidate(a);
        int256 selfLiquidated = collateralOf(a) + int256(engine.keeperCredits(alice));
        assertEq(selfLiquidated, 33.1845e18, "28.1845 + reward 5");
        assertLt(selfLiquidated, closedNormally, "self-liquidation costs more than closing");
        assertLedgerCovered();
    }
}
