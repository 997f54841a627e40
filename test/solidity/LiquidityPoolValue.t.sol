// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoolTestBase} from "./utils/PoolTestBase.sol";

/// @dev The pool's value and share price (SPEC sections 4 and 9.5): inflation attack, dilution,
/// round trips, the profit cap, the reserve and the loss haircut.
contract LiquidityPoolValueTest is PoolTestBase {
    address internal attacker = address(0xBAD);
    address internal victim = address(0x71C71);

    function setUp() public {
        setUpPool();
    }

    function test_inflationAttackByDonationFailsAndTheAttackerLoses() public {
        // The attacker is the first depositor with the minimum: 1 USDC buys 0.999 shares.
        uint256 attackerShares = seed(attacker, 1e6);
        assertEq(attackerShares, 0.999e18, "attacker shares");
        // A donation straight to the vault does not move the ledger-based value.
        usdc.mint(attacker, 1_000_000e6);
        vm.prank(attacker);
        usdc.transfer(address(vault), 1_000_000e6);
        assertEq(pool.totalAssets(), 1e6, "a transfer to the vault is no pool value");
        // A real gift to pool cash (the most an attacker could route through fees) is shared
        // with the virtual share: model 10,000 USDC of it.
        usdc.mint(address(pool), 10_000e6);
        vm.startPrank(address(pool));
        usdc.approve(address(vault), 10_000e6);
        vault.pull(address(pool), 10_000e6);
        engine.movePoolCash(10_000e18);
        vm.stopPrank();

        requestDepositFor(victim, 10_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 victimShares = claimShares(victim);
        // 9,990 net at (10,001 + 1) / (0.999 + 1) per share.
        assertEq(victimShares, uint256(9990e18) * 1.999e18 / 10_002e18, "victim shares");
        assertGe(pool.convertToAssets(victimShares), 9990e6 - 1, "victim keeps its deposit net of the fee");

        // The attacker leaves: it gets back less than the 10,001 USDC it put in.
        redeemRequest(attacker, attackerShares);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 back = claimAssets(attacker);
        assertLt(back, 10_001e6, "attacker loses");
        assertLt(back, 5_010e6, "about half of its gift went to the virtual share and the victim");
        assertLedger();
    }

    function test_inflationThroughTheEpochDoesNotBeatTheVirtualShares() public {
        // Attacker's 1 USDC and the victim's deposit in the same epoch buy at the same price.
        requestDepositFor(attacker, 1e6);
        requestDepositFor(victim, 50_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 a = claimShares(attacker);
        uint256 v = claimShares(victim);
        assertEq(a, 0.999e18, "attacker");
        assertEq(v, 49_950e18, "victim at one share per dollar, net of the fee");
        assertGe(pool.convertToAssets(v), 49_950e6 - 1, "victim's shares are worth its net deposit");
        assertLedger();
    }

    function test_sharePriceNeverDropsOnAnotherLpsDepositOrRedemption() public {
        seed(lp1, 1_000_000e6);
        // Traders pay fees and impact into the pool and hold positions.
        trade(alice, ETH, 100e18, 3000e18);
        trade(bob, BTC, -5e18, 60_000e18);
        uint256 before = pricePerShare();

        requestDepositFor(lp2, 250_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 lp2Shares = claimShares(lp2);
        uint256 afterDeposit = pricePerShare();
        assertGe(afterDeposit, before, "deposit does not dilute");

        redeemRequest(lp2, lp2Shares);
        settleCurrentEpoch(3000e18, 60_000e18);
        claimAssets(lp2);
        uint256 afterRedeem = pricePerShare();
        assertGe(afterRedeem, afterDeposit, "redemption does not dilute");
        assertLedger();
    }

    function test_depositRedeemRoundTripLosesExactlyTheFeesAtConstantIndex() public {
        // Odd amount: 123,456.789012 USDC.
        uint256 amount = 123_456_789_012;
        uint256 shares = seed(lp1, amount);
        uint256 wadIn = amount * 1e12;
        uint256 fee = (wadIn * FEE + 1e18 - 1) / 1e18;
        assertEq(shares, wadIn - fee, "first deposit at one share per dollar");
        redeemRequest(lp1, shares);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 back = claimAssets(lp1);
        uint256 gross = shares * (wadIn + VIRTUAL) / (shares + VIRTUAL);
        uint256 expected = (gross - (gross * FEE + 1e18 - 1) / 1e18) / 1e12;
        assertEq(back, expected, "exact redemption");
        assertLt(back, amount, "round trip loses");
        assertLedger();
    }

    function test_impactNavRoundTripLoses() public {
        seed(lp1, 1_000_000e6);
        // The attacker is an LP and a trader.
        uint256 lpShares = seed(attacker, 1_000_000e6);
        uint40 account = trade(attacker, ETH, 500e18, 3000e18); // pays taker fee and impact into the pool
        uint256 collateralAfterOpen = uint256(int256(engine.getAccount(account).collateral));
        redeemRequest(attacker, lpShares);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 lpBack = claimAssets(attacker);
        trade(attacker, ETH, -500e18, 3000e18); // closes at the index
        uint256 collateralEnd = uint256(int256(engine.getAccount(account).collateral));
        assertLt(collateralEnd, collateralAfterOpen, "the close costs too");
        int256 total = int256(lpBack) * 1e12 - 1_000_000e18 + int256(collateralEnd) - 1_000_000e18;
        assertLt(total, 0, "open, leave the pool, close: loses");
        assertLedger();
    }

    function test_depositsAndRedemptionsWaitWhileTradersProfitExceedsTheCap() public {
        uint256 lp1Shares = seed(lp1, 1_000_000e6);
        trade(alice, ETH, 250e18, 3000e18); // 750,000 USD long, inside the reserve (0.8 of base)
        requestDepositFor(lp2, 100_000e6);
        redeemRequest(lp1, lp1Shares / 10);
        uint256 supply = pool.totalSupply();

        // ETH to 7,000: traders' profit 1,000,000 > 0.9 * base.
        settleCurrentEpoch(7000e18, 60_000e18);
        (, bool settled, bool depositsFilled,,,,,) = pool.epochs(2);
        assertTrue(settled && !depositsFilled, "epoch 2 deferred");
        assertEq(pool.pendingDepositRequest(0, lp2), 100_000e6, "deposit rolls");
        assertEq(pool.pendingRedeemRequest(0, lp1), lp1Shares / 10, "redemption rolls");
        assertEq(pool.claimableDepositRequest(0, lp2), 0, "nothing to claim");
        assertEq(pool.claimableRedeemRequest(0, lp1), 0, "nothing to claim");
        assertEq(pool.totalSupply(), supply, "nothing minted or burnt");
        assertEq(pool.claimableAssets(), 0, "nothing paid");
        assertEq(pool.pendingDepositAssets(), 100_000e18, "deposit still pending");
        assertLedger();

        // ETH back to 3,000: the profit is gone, the rolled requests fill (inside the reserve).
        settleCurrentEpoch(3000e18, 60_000e18);
        assertEq(pool.pendingDepositRequest(0, lp2), 0, "deposit filled");
        assertEq(pool.pendingRedeemRequest(0, lp1), 0, "redemption filled");
        assertEq(pool.claimableDepositRequest(0, lp2), 100_000e6, "deposit claimable");
        assertEq(pool.claimableRedeemRequest(0, lp1), lp1Shares / 10, "redemption claimable");
        assertGt(claimShares(lp2), 0, "shares");
        assertGt(claimAssets(lp1), 0, "assets");
        assertLedger();
    }

    function test_redemptionsBeyondTheReserveFillProRataAndTheRestRollsOver() public {
        requestDepositFor(lp1, 600_000e6);
        requestDepositFor(lp2, 400_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        uint256 s1 = claimShares(lp1);
        uint256 s2 = claimShares(lp2);
        trade(alice, ETH, 250e18, 3000e18); // reserves 750,000: base must stay >= 937,500
        redeemRequest(lp1, s1);
        redeemRequest(lp2, s2);
        settleCurrentEpoch(3000e18, 60_000e18);

        uint256 f1 = pool.claimableRedeemRequest(0, lp1);
        uint256 f2 = pool.claimableRedeemRequest(0, lp2);
        assertGt(f1, 0, "partly filled");
        assertLt(f1, s1 / 10, "only the free part");
        // Same fraction for both, to one wei of shares.
        assertLe(f1 * s2 / s1, f2 + 1, "same fraction (1)");
        assertLe(f2, f1 * s2 / s1 + 1, "same fraction (2)");
        assertEq(pool.pendingRedeemRequest(0, lp1), s1 - f1, "rest of lp1 rolls");
        assertEq(pool.pendingRedeemRequest(0, lp2), s2 - f2, "rest of lp2 rolls");
        (int256 base,) = valuation.poolValue();
        assertGe(uint256(base) * 0.8e18 / 1e18, 750_000e18, "the reserve stays covered");
        claimAssets(lp1);
        claimAssets(lp2);
        assertLedger();

        // The trader leaves: the rolled remainder fills in the next epoch.
        trade(alice, ETH, -250e18, 3000e18);
        settleCurrentEpoch(3000e18, 60_000e18);
        assertEq(pool.pendingRedeemRequest(0, lp1), 0, "lp1 filled");
        assertEq(pool.pendingRedeemRequest(0, lp2), 0, "lp2 filled");
        assertEq(pool.claimableRedeemRequest(0, lp1), s1 - f1, "lp1 claimable");
        assertEq(pool.claimableRedeemRequest(0, lp2), s2 - f2, "lp2 claimable");
        claimAssets(lp1);
        claimAssets(lp2);
        assertLedger();
    }

    function test_tradersLossCountsInFullForDepositsAndAtAHaircutForRedemptions() public {
        uint256 lp1Shares = seed(lp1, 1_000_000e6);
        trade(alice, ETH, 100e18, 3000e18);
        setPrice(ethFeed, 2000e18); // before the cutoff: traders lose about 100,000
        requestDepositFor(lp2, 100_000e6);
        redeemRequest(lp1, lp1Shares / 10);
        vm.warp(cutoffOf(2) + 1);
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(2000e18, 60_000e18);
        valuation.checkpointAll();
        (int256 base, int256 pnl,) = valuation.epochValuation(prices2(2000e18, 60_000e18));
        assertEq(pnl, -100_000e18, "traders' loss at 2,000: cost basis at the index");
        uint256 shares = expectedShares(100_000e6, base, pnl);
        uint256 assetsWad = expectedRedeemWad(lp1Shares / 10, base, pnl);
        // Price per share for depositors (base + 100,000) exceeds that for redeemers (base + 50,000).
        uint256 supply = pool.totalSupply() + VIRTUAL;
        assertGt(
            uint256(base + 100_000e18) * 1e18 / supply, uint256(base + 50_000e18) * 1e18 / supply, "deposit price higher"
        );

        pool.settleEpoch(rounds, previous);
        assertEq(claimShares(lp2), shares, "deposit counts the loss in full");
        assertEq(claimAssets(lp1), assetsWad / 1e12, "redemption counts half of it");
        assertLedger();
    }
}
