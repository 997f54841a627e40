// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {PoolTestBase} from "./utils/PoolTestBase.sol";
import {LiquidityPool} from "../../contracts/LiquidityPool.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {ChainlinkLib} from "../../contracts/libraries/ChainlinkLib.sol";

/// @dev LP epochs (SPEC section 6): pricing at the first round after the cutoff, the gap price,
/// the state at the cutoff, and the ERC-7540 request rules.
contract LiquidityPoolEpochsTest is PoolTestBase {
    address internal operator = address(0x0FE2);

    function setUp() public {
        setUpPool();
        seed(lp1, 1_000_000e6);
        // Traders net long ETH and net short BTC.
        trade(alice, ETH, 100e18, 3000e18);
        trade(bob, BTC, -2e18, 60_000e18);
        requestDepositFor(lp2, 100_000e6);
    }

    /* ------------------------------ pricing ------------------------------ */

    function test_settlingBeforeTheCutoffReverts() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff - 1);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.EpochNotOver.selector, uint64(2), cutoff));
        pool.settleEpoch(ids2(0, 0), ids2(0, 0));
    }

    function test_aRoundAtTheCutoffIsRefused() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff);
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(3000e18, 60_000e18);
        vm.expectRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotAfterTime.selector, rounds[0], uint256(cutoff), uint256(cutoff))
        );
        pool.settleEpoch(rounds, previous);
    }

    function test_aLaterRoundThanTheFirstIsRefusedAndTheFirstIsUsed() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff + 1);
        (uint80[] memory first, uint80[] memory beforeFirst) = postRounds(3100e18, 60_000e18);
        vm.warp(cutoff + 2);
        (uint80[] memory second,) = postRounds(3500e18, 50_000e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                ChainlinkLib.EarlierRoundQualifies.selector, first[0], uint256(cutoff + 1), uint256(cutoff)
            )
        );
        pool.settleEpoch(second, first);

        // The first rounds price the epoch: 3,100 and 60,000.
        uint256 snap = vm.snapshotState();
        valuation.checkpointAll();
        (int256 base, int256 pnl,) = valuation.epochValuation(prices2(3100e18, 60_000e18));
        uint256 expected = expectedShares(100_000e6, base, pnl);
        vm.revertToState(snap);
        pool.settleEpoch(first, beforeFirst);
        assertEq(claimShares(lp2), expected, "priced at the first rounds after the cutoff");
        assertLedger();
    }

    function test_aFirstRoundAfterThePriceWaitIsReplacedByTheGapPrice() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff + 15 minutes + 1);
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(3500e18, 50_000e18);
        // Against the depositor: ETH (traders net long) down 0.3%, BTC (net short) up 0.3%, so
        // the pool is valued high and the deposit dilutes nobody.
        uint256 expected = _expectedAtGapPrices();
        pool.settleEpoch(rounds, previous);
        assertEq(claimShares(lp2), expected, "gap prices");
        assertLedger();
    }

    function test_noRoundAfterTheWaitIsPricedAtTheGapPrice() public {
        uint64 cutoff = cutoffOf(2);
        uint256 waitUntil = uint256(cutoff) + 15 minutes;
        vm.warp(waitUntil);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.EpochPriceMissing.selector, uint8(0), waitUntil));
        pool.settleEpoch(ids2(0, 0), ids2(0, 0));

        vm.warp(waitUntil + 1);
        uint256 expected = _expectedAtGapPrices();
        pool.settleEpoch(ids2(0, 0), ids2(0, 0));
        assertEq(claimShares(lp2), expected, "gap prices");
        assertLedger();
    }

    function test_passingNoRoundWhenOneExistsReverts() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff + 1 hours);
        postRounds(3000e18, 60_000e18);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidityPool.EpochPriceMissing.selector, uint8(0), uint256(cutoff) + 15 minutes)
        );
        pool.settleEpoch(ids2(0, 0), ids2(0, 0));
    }

    function test_aProfitRealizedAfterTheCutoffDoesNotMoveTheEpochPrice() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff + 1);
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(3300e18, 60_000e18);
        uint256 snap = vm.snapshotState();
        valuation.checkpointAll();
        (int256 base, int256 pnl,) = valuation.epochValuation(prices2(3300e18, 60_000e18));
        uint256 expected = expectedShares(100_000e6, base, pnl);
        vm.revertToState(snap);

        // Alice takes her 30,000 profit after the cutoff: cash leaves, she pays a fee and funding.
        int256 cashBefore = engine.poolCash();
        trade(alice, ETH, -100e18, 3300e18);
        assertLt(engine.poolCash(), cashBefore - 29_000e18, "profit paid out");
        pool.settleEpoch(rounds, previous);
        assertEq(claimShares(lp2), expected, "priced on the state at the cutoff");
        assertLedger();
    }

    /// A trader's deposit moves no pool entry (unless it repays a debt, which turns a receivable
    /// into cash): after the cutoff it records no checkpoint and leaves the epoch's value as it was.
    function test_aDepositAfterTheCutoffLeavesTheEpochValueAlone() public {
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff + 1);
        uint256[] memory prices = prices2(3100e18, 60_000e18);
        uint256 snap = vm.snapshotState();
        valuation.checkpointAll();
        (int256 base, int256 pnl, uint256 reserved) = valuation.epochValuation(prices);
        vm.revertToState(snap);

        depositFor(carol, 0, 5_000e6); // a new account
        depositFor(alice, 0, 1_000e6); // an existing one
        vm.expectRevert(abi.encodeWithSelector(EngineBase.CheckpointMissing.selector, uint64(2), type(uint256).max));
        valuation.epochValuation(prices);
        valuation.checkpointAll();
        (int256 baseAfter, int256 pnlAfter, uint256 reservedAfter) = valuation.epochValuation(prices);
        assertEq(baseAfter, base, "base value");
        assertEq(pnlAfter, pnl, "traders' PnL");
        assertEq(reservedAfter, reserved, "reserved");
        assertLedger();
    }

    function _expectedAtGapPrices() internal returns (uint256 expected) {
        uint256 snap = vm.snapshotState();
        valuation.checkpointAll();
        (int256 base, int256 pnl,) = valuation.epochValuation(prices2(2991e18, 60_180e18));
        expected = expectedShares(100_000e6, base, pnl);
        vm.revertToState(snap);
    }

    /* ------------------------------ requests ------------------------------ */

    function test_cancelRedeemBeforeTheCutoffReturnsTheShares() public {
        uint256 shares = pool.balanceOf(lp1);
        redeemRequest(lp1, shares / 3);
        assertEq(pool.pendingRedeemRequest(0, lp1), shares / 3, "pending");
        vm.prank(lp1);
        pool.cancelRedeemRequest(lp1, lp1);
        assertEq(pool.balanceOf(lp1), shares, "shares back");
        assertEq(pool.pendingRedeemRequest(0, lp1), 0, "nothing pending");
        vm.warp(cutoffOf(2));
        vm.prank(lp1);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.NoPendingRequest.selector, lp1));
        pool.cancelRedeemRequest(lp1, lp1);
    }

    function test_redeemRequestIsIrrevocableAfterTheCutoff() public {
        redeemRequest(lp1, 1e18);
        uint64 cutoff = cutoffOf(2);
        vm.warp(cutoff);
        vm.prank(lp1);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.RequestIrrevocable.selector, uint64(2), cutoff));
        pool.cancelRedeemRequest(lp1, lp1);
    }

    function test_operatorsRequestAndClaimForTheirController() public {
        usdc.mint(lp1, 5_000e6);
        vm.prank(lp1);
        usdc.approve(address(vault), 5_000e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.NotAuthorized.selector, lp1, stranger));
        pool.requestDeposit(5_000e6, lp1, lp1);

        vm.prank(lp1);
        pool.setOperator(operator, true);
        vm.prank(operator);
        pool.requestDeposit(5_000e6, lp1, lp1);
        vm.prank(operator);
        pool.requestRedeem(1e18, lp1, lp1); // an operator needs no allowance
        settleCurrentEpoch(3000e18, 60_000e18);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.NotAuthorized.selector, lp1, stranger));
        pool.deposit(5_000e6, stranger, lp1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.NotAuthorized.selector, lp1, stranger));
        pool.redeem(1e18, stranger, lp1);

        uint256 before = pool.balanceOf(lp1);
        vm.prank(operator);
        uint256 shares = pool.deposit(5_000e6, lp1, lp1);
        assertEq(pool.balanceOf(lp1), before + shares, "shares to the receiver");
        vm.prank(operator);
        uint256 assets = pool.redeem(1e18, operator, lp1);
        assertEq(usdc.balanceOf(operator), assets, "assets to the receiver");
        assertGt(assets, 0, "paid");
        assertLedger();
    }

    function test_requestRedeemByANonOwnerNeedsAnAllowance() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, stranger, uint256(0), uint256(1e18))
        );
        pool.requestRedeem(1e18, stranger, lp1);
        vm.prank(lp1);
        pool.approve(stranger, 1e18);
        vm.prank(stranger);
        pool.requestRedeem(1e18, stranger, lp1);
        assertEq(pool.allowance(lp1, stranger), 0, "allowance spent");
        assertEq(pool.pendingRedeemRequest(0, stranger), 1e18, "pending for the controller");
    }

    function test_onePendingRequestPerControllerAcrossEpochs() public {
        vm.warp(cutoffOf(2)); // lp2's request sits in epoch 2, whose cutoff has passed
        usdc.mint(lp2, 1_000e6);
        vm.startPrank(lp2);
        usdc.approve(address(vault), 1_000e6);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.PendingRequestInOtherEpoch.selector, uint64(2), uint64(3)));
        pool.requestDeposit(1_000e6, lp2, lp2);
        vm.stopPrank();
    }

    function test_claimsBeyondClaimableRevert() public {
        settleCurrentEpoch(3000e18, 60_000e18);
        vm.prank(lp2);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidityPool.ExceedsClaimable.selector, uint256(100_001e18), uint256(100_000e18))
        );
        pool.deposit(100_001e6, lp2, lp2);
        vm.prank(lp2);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.ExceedsClaimable.selector, uint256(1), uint256(0)));
        pool.redeem(1, lp2, lp2);
    }

    function test_previewsAreAsyncOnly() public {
        vm.expectRevert(LiquidityPool.AsyncOnly.selector);
        pool.previewDeposit(1e6);
        vm.expectRevert(LiquidityPool.AsyncOnly.selector);
        pool.previewRedeem(1e18);
    }

    function test_aRolledRequestCannotBeCancelledByToppingItUp() public {
        // Traders win past the cap: epoch 2 defers and lp2's deposit rolls into epoch 3.
        trade(carol, ETH, 100e18, 3000e18);
        settleCurrentEpoch(8000e18, 60_000e18); // 200 ETH long gain 1,000,000 > 0.9 * base
        assertEq(pool.pendingDepositRequest(0, lp2), 100_000e6, "rolled");
        // lp2 has seen the price of its epoch: it must not be able to take the deposit back.
        usdc.mint(lp2, 1e6);
        vm.startPrank(lp2);
        usdc.approve(address(vault), 1e6);
        pool.requestDeposit(1e6, lp2, lp2);
        vm.expectRevert(abi.encodeWithSelector(LiquidityPool.RequestIrrevocable.selector, uint64(2), cutoffOf(2)));
        pool.cancelDepositRequest(lp2, lp2);
        vm.stopPrank();
        assertLedger();
    }

    function test_aRequestDeferredOverMoreEpochsThanOneResolutionStepsCanBeResolved() public {
        trade(carol, ETH, 100e18, 3000e18);
        for (uint256 i; i < 40; ++i) {
            settleCurrentEpoch(8000e18, 60_000e18); // deferred: profit above the cap
        }
        settleCurrentEpoch(3000e18, 60_000e18); // filled
        // Anyone can move settled results into the controller's claim, 32 epochs per call.
        pool.resolveRequests(lp2);
        pool.resolveRequests(lp2);
        assertEq(pool.pendingDepositRequest(0, lp2), 0, "nothing pending");
        assertEq(pool.claimableDepositRequest(0, lp2), 100_000e6, "claimable");
        assertGt(claimShares(lp2), 0, "shares");
        assertLedger();
    }

    function test_manyDepositorsWithOddAmountsAndPartialClaimsNeverGetMoreThanMinted() public {
        address[3] memory lps = [address(0xA1), address(0xA2), address(0xA3)];
        uint256[3] memory amounts = [uint256(1_000_001), 33_333_333_333, 7_777_777_777_777];
        for (uint256 i; i < 3; ++i) {
            requestDepositFor(lps[i], amounts[i]);
        }
        uint256 poolSharesBefore = pool.balanceOf(address(pool));
        settleCurrentEpoch(3000e18, 60_000e18);
        (,,,, uint128 minted,,,) = pool.epochs(2);
        uint256 claimed;
        for (uint256 i; i < 3; ++i) {
            // Two partial claims: a third, then the rest.
            vm.startPrank(lps[i]);
            claimed += pool.deposit(amounts[i] / 3, lps[i], lps[i]);
            claimed += pool.deposit(amounts[i] - amounts[i] / 3, lps[i], lps[i]);
            vm.stopPrank();
            assertEq(pool.claimableDepositRequest(0, lps[i]), 0, "all claimed");
        }
        claimed += claimShares(lp2);
        assertLe(claimed, minted, "never more than minted");
        assertLe(minted - claimed, 8, "to rounding");
        assertGe(pool.balanceOf(address(pool)), poolSharesBefore, "the pool keeps the dust");
        assertLedger();

        // And out again with partial claims: never more than the epoch paid.
        for (uint256 i; i < 3; ++i) {
            redeemRequest(lps[i], pool.balanceOf(lps[i]));
        }
        settleCurrentEpoch(3000e18, 60_000e18);
        (,,,,,,, uint128 paid) = pool.epochs(3);
        uint256 out;
        for (uint256 i; i < 3; ++i) {
            uint256 c = pool.claimableRedeemRequest(0, lps[i]);
            vm.startPrank(lps[i]);
            out += pool.redeem(c / 3, lps[i], lps[i]);
            out += pool.redeem(c - c / 3, lps[i], lps[i]);
            vm.stopPrank();
        }
        assertLe(out * 1e12, paid, "never more than paid");
        assertLedger();
    }

    function test_aRequestAfterTheCutoffJoinsTheNextEpoch() public {
        vm.warp(cutoffOf(2));
        uint256 requestId = requestDepositFor(lp1, 5_000e6);
        assertEq(requestId, 3, "next epoch");
        settleCurrentEpoch(3000e18, 60_000e18);
        assertEq(pool.pendingDepositRequest(0, lp1), 5_000e6, "still pending after epoch 2");
        assertEq(pool.claimableDepositRequest(0, lp2), 100_000e6, "epoch 2 filled");
        settleCurrentEpoch(3000e18, 60_000e18);
        assertEq(pool.claimableDepositRequest(0, lp1), 5_000e6, "filled in epoch 3");
        assertLedger();
    }

    function test_theGapPriceStartsFromTheFeedsLastRoundBeforeTheCutoffNotAStaleStoredPrice() public {
        // ETH falls to 2,000 before the cutoff; nobody touches the market, so the engine still
        // stores 3,000. No round follows the cutoff within the wait.
        setPrice(ethFeed, 2000e18);
        vm.warp(uint256(cutoffOf(2)) + 15 minutes + 1);
        uint256 snap = vm.snapshotState();
        valuation.checkpointAll();
        (int256 base, int256 pnl,) = valuation.epochValuation(prices2(1994e18, 60_180e18));
        uint256 expected = expectedShares(100_000e6, base, pnl);
        vm.revertToState(snap);
        pool.settleEpoch(ids2(0, 0), ids2(0, 0));
        assertEq(claimShares(lp2), expected, "2,000 moved 0.3% against the depositor, not 3,000");
        assertLedger();
    }

    function test_theGapPriceOfALateFirstRoundStartsFromItsPredecessor() public {
        setPrice(ethFeed, 2000e18);
        vm.warp(uint256(cutoffOf(2)) + 15 minutes + 1);
        (uint80[] memory rounds, uint80[] memory previous) = postRounds(2500e18, 60_000e18);
        uint256 snap = vm.snapshotState();
        valuation.checkpointAll();
        (int256 base, int256 pnl,) = valuation.epochValuation(prices2(1994e18, 60_180e18));
        uint256 expected = expectedShares(100_000e6, base, pnl);
        vm.revertToState(snap);
        pool.settleEpoch(rounds, previous);
        assertEq(claimShares(lp2), expected, "the round before the cutoff, moved 0.3% against the depositor");
        assertLedger();
    }
}
