// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./OrderBookFixture.sol";
import {LiquidityPool} from "../../../contracts/LiquidityPool.sol";

/// @dev The order-book fixture with the real liquidity pool wired in and started, and helpers
/// to request, settle epochs at the rounds after their cutoff, and claim.
abstract contract PoolFixture is OrderBookFixture {
    LiquidityPool internal pool;

    function deployPool() internal override returns (address) {
        pool = new LiquidityPool(engine, vault, defaultPoolConfig());
        vault.grantRole(vault.OPERATOR_ROLE(), address(pool));
        return address(pool);
    }

    function setUpPool() internal {
        setUpOrderBook();
        pool.start();
    }

    function defaultPoolConfig() internal pure returns (LiquidityPool.PoolConfig memory) {
        return LiquidityPool.PoolConfig({
            epochLength: 1 hours,
            epochPriceWait: 15 minutes,
            depositFee: 0.001e18,
            redeemFee: 0.001e18,
            minDeposit: 1e6
        });
    }

    function requestDepositFor(address lp, uint256 amount) internal returns (uint256 epoch) {
        usdc.mint(lp, amount);
        vm.startPrank(lp);
        usdc.approve(address(vault), amount);
        epoch = pool.requestDeposit(amount, lp, lp);
        vm.stopPrank();
    }

    /// @dev Warps past the current epoch's cutoff, posts a round on every feed one second later
    /// and settles with those rounds as each market's first round after the cutoff.
    function settleCurrentEpoch(uint256 ethPrice, uint256 btcPrice) internal {
        (uint64 cutoff,,,,,,,) = pool.epochs(pool.currentEpoch());
        if (block.timestamp < cutoff + 1) vm.warp(cutoff + 1);
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(ethPrice, btcPrice);
        pool.settleEpoch(rounds, previous);
    }

    function postRounds(uint256 ethPrice, uint256 btcPrice)
        internal
        returns (uint80[] memory rounds, uint80[] memory previous)
    {
        rounds = new uint80[](2);
        previous = new uint80[](2);
        (previous[0],,,,) = ethFeed.latestRoundData();
        (previous[1],,,,) = btcFeed.latestRoundData();
        rounds[0] = ethFeed.setPrice(int256(ethPrice / 1e10));
        rounds[1] = btcFeed.setPrice(int256(btcPrice / 1e10));
    }

    function claimShares(address lp) internal returns (uint256 shares) {
        uint256 claimable = pool.claimableDepositRequest(0, lp);
        vm.prank(lp);
        shares = pool.deposit(claimable, lp, lp);
    }
}
