// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoolFixture} from "./PoolFixture.sol";
import {EngineBase} from "../../../contracts/EngineBase.sol";

/// @dev Pool-test helpers on top of the pool fixture: seeding LPs, trading against the pool as
/// the order book, the epoch's expected valuation and the ledger invariant (SPEC 9.1).
abstract contract PoolTestBase is PoolFixture {
    address internal lp1 = address(0x1111);
    address internal lp2 = address(0x2222);
    address internal stranger = address(0x5757);

    uint256 internal constant VIRTUAL = 1e18;
    uint256 internal constant FEE = 0.001e18;

    /// @dev Requests, settles at the default prices and claims: the LP's shares.
    function seed(address lp, uint256 amount) internal returns (uint256 shares) {
        requestDepositFor(lp, amount);
        settleCurrentEpoch(3000e18, 60_000e18);
        shares = claimShares(lp);
    }

    /// @dev Fills `size` for `who` (subaccount 0, 1M USDC of collateral on first use) at `price`,
    /// playing the order book.
    function trade(address who, uint8 marketId, int256 size, uint256 price) internal returns (uint40 a) {
        a = engine.accountIdOf(who, 0);
        if (a == 0) a = depositFor(who, 0, 1_000_000e6);
        vm.prank(address(book));
        engine.fill(EngineBase.FillRequest(a, marketId, false, size, price, size > 0 ? type(uint256).max : 0, 0, 0));
    }

    function redeemRequest(address lp, uint256 shares) internal {
        vm.prank(lp);
        pool.requestRedeem(shares, lp, lp);
    }

    function claimAssets(address lp) internal returns (uint256 assets) {
        uint256 claimable = pool.claimableRedeemRequest(0, lp);
        vm.prank(lp);
        assets = pool.redeem(claimable, lp, lp);
    }

    function cutoffOf(uint64 epochId) internal view returns (uint64 cutoff) {
        (cutoff,,,,,,,) = pool.epochs(epochId);
    }

    function prices2(uint256 eth, uint256 btc) internal pure returns (uint256[] memory p) {
        p = new uint256[](2);
        p[0] = eth;
        p[1] = btc;
    }

    function ids2(uint80 a, uint80 b) internal pure returns (uint80[] memory p) {
        p = new uint80[](2);
        p[0] = a;
        p[1] = b;
    }

    /// @dev Shares a lone depositor of `assets` (token units) gets at the epoch value: the pool's
    /// formula, recomputed here (fee rounded up, shares rounded down).
    function expectedShares(uint256 assets, int256 base, int256 pnl) internal view returns (uint256) {
        uint256 wadIn = assets * 1e12;
        uint256 net = wadIn - (wadIn * FEE + 1e18 - 1) / 1e18;
        uint256 value = uint256(base - pnl);
        return net * (pool.totalSupply() + VIRTUAL) / (value + VIRTUAL);
    }

    /// @dev Assets (WAD, net of the redeem fee) `shares` fetch at the epoch value with traders'
    /// loss at a 50% haircut (rounded against the redeemer).
    function expectedRedeemWad(uint256 shares, int256 base, int256 pnl) internal view returns (uint256) {
        int256 counted = pnl < 0 ? -((-pnl) / 2) : pnl;
        uint256 value = uint256(base - counted);
        uint256 gross = shares * (value + VIRTUAL) / (pool.totalSupply() + VIRTUAL);
        return gross - (gross * FEE + 1e18 - 1) / 1e18;
    }

    /// @dev Live price per share for depositors: totalAssets (token units) per share, scaled.
    function pricePerShare() internal view returns (uint256) {
        return pool.totalAssets() * 1e30 / pool.totalSupply();
    }

    /// @dev SPEC 9.1: the vault's balance covers every ledger entry, the pool's buckets included.
    function assertLedger() internal view {
        int256 entries = engine.totalCollateral() + int256(engine.totalDebt()) + engine.poolCash()
            + int256(engine.insuranceFund() + engine.treasury() + engine.keeperCredits(keeper))
            + int256(engine.keeperCredits(address(this)) + pool.pendingDepositAssets() + pool.claimableAssets());
        assertGe(int256(usdc.balanceOf(address(vault)) * 1e12), entries, "vault balance covers the ledger");
    }
}
