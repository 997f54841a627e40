// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoolFixture} from "./utils/PoolFixture.sol";
import {LiquidityPool} from "../../contracts/LiquidityPool.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";

contract LiquidityPoolTest is PoolFixture {
    address internal lp1 = address(0x1111);
    address internal lp2 = address(0x2222);

    function setUp() public {
        setUpPool();
    }

    function test_depositSettlesAtTheEpochAndMintsAtOneSharePerDollarFirst() public {
        requestDepositFor(lp1, 1_000_000e6);
        assertEq(pool.pendingDepositRequest(0, lp1), 1_000_000e6, "pending");
        settleCurrentEpoch(3000e18, 60_000e18);
        // Fee 0.1% stays in the pool; the first depositor buys at 1 share per dollar (virtual 1:1).
        uint256 shares = claimShares(lp1);
        assertEq(shares, 999_000e18, "shares");
        assertEq(uint256(engine.poolCash()), 1_000_000e18, "pool cash holds the whole deposit");
        assertEq(pool.pendingDepositRequest(0, lp1), 0, "nothing pending");
    }

    function test_requestIsIrrevocableOnceTheCutoffPasses() public {
        requestDepositFor(lp1, 1_000e6);
        (uint64 cutoff,,,,,,,) = pool.epochs(1);
        vm.warp(cutoff);
        vm.prank(lp1);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.RequestIrrevocable.selector, uint64(1), cutoff));
        pool.cancelDepositRequest(lp1, lp1);
    }

    function test_cancelBeforeTheCutoffReturnsTheAssets() public {
        requestDepositFor(lp1, 1_000e6);
        vm.prank(lp1);
        pool.cancelDepositRequest(lp1, lp1);
        assertEq(usdc.balanceOf(lp1), 1_000e6, "assets back");
        assertEq(pool.pendingDepositAssets(), 0, "no pending assets");
    }

    function test_redeemRoundTripAtConstantPriceLoses() public {
        requestDepositFor(lp1, 100_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 shares = claimShares(lp1);
        vm.prank(lp1);
        pool.requestRedeem(shares, lp1, lp1);
        settleCurrentEpoch(3000e18, 60_000e18);
        assertEq(pool.claimableRedeemRequest(0, lp1), shares, "all shares filled");
        vm.prank(lp1);
        uint256 assets = pool.redeem(shares, lp1, lp1);
        assertLt(assets, 100_000e6, "round trip loses the fees");
        assertGt(assets, 99_700e6, "but only the fees");
    }

    function test_epochIsPricedOnTheStateAtItsCutoffNotOnTradesAfterIt() public {
        requestDepositFor(lp1, 1_000_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        claimShares(lp1);
        requestDepositFor(lp2, 100_000e6);
        (uint64 cutoff,,,,,,,) = pool.epochs(pool.currentEpoch());
        vm.warp(cutoff + 1);
        // The first rounds after the cutoff.
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(3000e18, 60_000e18);
        // After the cutoff a trader pays fees and impact to the pool: the epoch must not see it.
        uint40 a = depositFor(alice, 0, 100_000e6);
        vm.prank(address(book));
        engine.fill(EngineBase.FillRequest(a, ETH, false, 100e18, 3000e18, type(uint256).max, 0, 0));
        assertGt(uint256(engine.poolCash()), 1_000_000e18, "the pool earned after the cutoff");
        pool.settleEpoch(rounds, previous);
        uint256 shares = claimShares(lp2);
        // lp2 bought at the cutoff value (1,000,000 USD for 999,000 shares), not the value after the trade.
        uint256 expected = uint256(99_900e18) * (999_000e18 + 1e18) / (1_000_000e18 + 1e18);
        assertEq(shares, expected, "priced at the cutoff");
    }

}
