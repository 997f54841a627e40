// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";

/// @dev SPEC section 3: a market without a valid price blocks opens, increases and withdrawals
/// for the accounts holding it, never liquidation; its positions count at the last valid price
/// moved against the account by gapBuffer (0.3%) in E, IM and MM alike.
contract InvalidPricesTest is EngineFixture {
    function setUp() public {
        setUpEngine();
    }

    /// @dev A round older than the 3600 s heartbeat.
    function _staleEth(uint256 priceWad) internal {
        ethFeed.setRound(int256(priceWad / 1e10), block.timestamp - 3601, block.timestamp - 3601);
    }

    function _closeEth() internal {
        EngineBase.MarketConfig memory config = defaultMarketConfig(address(ethFeed), 1_000_000e18);
        config.closed = true;
        setMarketConfig(ETH, config);
    }

    function test_stale_blocksOpensAndWithdrawalsForHolders() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        uint40 b = depositFor(bob, 0, 1_000e6);
        fillAt(a, ETH, 1e18, 3000e18);
        _staleEth(3000e18);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.PricesInvalid.selector, a));
        fillAt(a, BTC, 0.01e18, 60_000e18);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.PricesInvalid.selector, a));
        vm.prank(alice);
        engine.withdraw(0, 1e6, alice);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.PricesInvalid.selector, a));
        engine.reserveOrderMargin(alice, 0, BTC, 600e18, 60_000e18, true, 0);
        // reducing still works
        fillAt(a, ETH, -0.5e18, 3000e18);
        // an account that does not hold the market is not affected
        fillAt(b, BTC, 0.01e18, 60_000e18);
        vm.prank(bob);
        engine.withdraw(0, 100e6, bob);
        assertLedgerCovered();
    }

    function test_stale_valuedAtLastPriceMovedAgainstTheAccount() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        uint40 b = depositFor(bob, 0, 1_000e6);
        fillAt(a, ETH, 1e18, 3000e18);
        fillAt(b, ETH, -1e18, 3000e18); // shrinks K: maker 0.6
        _staleEth(3000e18);
        (EngineBase.Health memory h,) = liquidator.accountHealth(a);
        assertFalse(h.pricesValid, "invalid");
        // long at 3000 * (1 - 0.3%) = 2991
        assertEq(h.equity, 998.4985e18 - 9e18, "E");
        assertEq(h.initialMargin, 85.458852e18, "IM = 2991 * 2.8572%");
        assertEq(h.maintenanceMargin, 42.729426e18 + 5e18, "MM = 2991 * 1.4286% + 5");
        // short at 3000 * (1 + 0.3%) = 3009
        (h,) = liquidator.accountHealth(b);
        assertEq(h.equity, 999.4e18 - 9e18, "short E");
        assertEq(h.initialMargin, 85.973148e18, "short IM = 3009 * 2.8572%");
    }

    function test_notPositiveAnswer_usesTheLastValidPrice() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        fillAt(a, ETH, 1e18, 3000e18);
        ethFeed.setPrice(0);
        (EngineBase.Health memory h,) = liquidator.accountHealth(a);
        assertFalse(h.pricesValid, "invalid");
        assertEq(h.equity, 998.4985e18 - 9e18, "last valid 3000 moved to 2991");
    }

    function test_closedMarket_blocksFillsAndWithdrawals() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        fillAt(a, ETH, 1e18, 3000e18);
        _closeEth();
        vm.expectRevert(abi.encodeWithSelector(EngineBase.MarketClosed.selector, ETH));
        fillAt(a, ETH, 1e18, 3000e18);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.PricesInvalid.selector, a));
        vm.prank(alice);
        engine.withdraw(0, 1e6, alice);
        vm.expectRevert(abi.encodeWithSelector(EngineBase.PricesInvalid.selector, a));
        fillAt(a, BTC, 0.01e18, 60_000e18);
        assertEq(equityOf(a), 998.4985e18 - 9e18, "valued at 2991");
    }

    function test_stale_neverMakesAnAccountUnliquidatable() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        _staleEth(2940e18); // valued at 2940 * 0.997 = 2931.18
        (EngineBase.Health memory h, bool liquidatable) = liquidator.accountHealth(a);
        assertEq(h.equity, 29.6785e18, "98.4985 - 68.82");
        assertTrue(liquidatable, "below MM");
        int256 cashBefore = engine.poolCash();
        vm.prank(keeper);
        liquidator.liquidate(a);
        // passed to the pool at 2931.18, no impact, no trading fee; fee 14.6559, reward 5
        assertEq(engine.getPosition(a, ETH).size, 0, "closed");
        assertEq(collateralOf(a), 29.6785e18 - 14.6559e18, "what is left");
        assertEq(engine.keeperCredits(keeper), 5e18, "reward");
        assertEq(engine.poolCash() - cashBefore, 68.82e18, "the pool takes the loss side");
        assertLedgerCovered();
    }

    function test_closedMarket_liquidationPassesToThePool() public {
        uint40 a = depositFor(alice, 0, 100e6);
        fillAt(a, ETH, 1e18, 3000e18);
        setPrice(ethFeed, 2940e18);
        _closeEth();
        (, bool liquidatable) = liquidator.accountHealth(a);
        assertTrue(liquidatable, "below MM at 2931.18");
        liquidator.liquidate(a);
        assertEq(collateralOf(a), 29.6785e18 - 14.6559e18, "same as a stale feed");
        assertLedgerCovered();
    }
}
