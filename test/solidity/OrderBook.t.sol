// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./utils/OrderBookFixture.sol";
import {OrderBook} from "../../contracts/OrderBook.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {ChainlinkLib} from "../../contracts/libraries/ChainlinkLib.sol";
import {SkewCurveLib} from "../../contracts/libraries/SkewCurveLib.sol";
import {MockAggregator} from "../../contracts/mocks/MockAggregator.sol";

/// @dev SPEC section 6 for market orders: the fill round proof, the first-in-first-out queue, no
/// free option (binding orders, late executions, reservations), expiry, and every execution
/// ending in a fill or a cancel.
contract OrderBookTest is OrderBookFixture {
    uint256 internal constant RESERVATION_1_ETH_AT_3000 = 103.23816e18; // 3030 * (0.0005 + 0.005 + 0.028572)

    function setUp() public {
        setUpOrderBook();
    }

    /* ------------------------------------------------------------------ */
    /*                               HELPERS                               */
    /* ------------------------------------------------------------------ */

    function assertPosition(uint40 accountId, uint8 marketId, int256 size, int256 cost, string memory what)
        internal
        view
    {
        EngineBase.Position memory pos = engine.getPosition(accountId, marketId);
        assertEq(int256(pos.size), size, string.concat(what, ": size"));
        assertEq(int256(pos.cost), cost, string.concat(what, ": cost"));
    }

    /// @dev Fill price and fee of a fill on an empty skew in ETH.
    function quoteOnEmptySkew(int256 sizeDelta, uint256 price) internal pure returns (SkewCurveLib.Quote memory) {
        return SkewCurveLib.quote(0, sizeDelta, price, 1_000_000e18, 0.005e18, 0.0005e18, 0.0002e18);
    }

    function expectCancel(uint256 key, uint40 accountId, OrderBook.CancelReason reason, bytes memory err, uint256 penalty)
        internal
    {
        vm.expectEmit();
        emit OrderBook.OrderCancelled(key, accountId, reason, err, penalty);
    }

    /* ------------------------------------------------------------------ */
    /*                          FILL ROUND PROOFS                          */
    /* ------------------------------------------------------------------ */

    function test_marketOrderFillsAtFirstRoundAfterCreationNotTheLatest() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 20);
        setPrice(ethFeed, 3100e18);

        SkewCurveLib.Quote memory q = quoteOnEmptySkew(1e18, 2900e18);
        vm.expectEmit();
        emit OrderBook.OrderExecuted(key, a, keeper, round1(2), 2900e18, q.fillPrice, q.takerFeeUsd);
        executeAt(keeper, ETH, round1(2));

        assertPosition(a, ETH, 1e18, 2900e18, "filled at the first round after creation");
        assertEq(book.getOrder(key).accountId, 0, "order deleted");
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), 0, "the engine forgets the filled order");
        assertFalse(engine.getAccount(a).usesOrderTable, "market orders alone use no table entry");
        (uint64 head, uint64 tail) = book.queues(ETH);
        assertEq(uint256(head), 1, "head moved");
        assertEq(uint256(tail), 1, "tail");
    }

    function test_roundInTheSameSecondAsCreationIsRefused() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        setPrice(ethFeed, 2900e18); // round 2, startedAt == createdAt
        vm.expectRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotAfterTime.selector, round1(2), uint256(START), uint256(START))
        );
        executeAt(keeper, ETH, round1(2));

        vm.warp(START + 1);
        setPrice(ethFeed, 2950e18);
        executeAt(keeper, ETH, round1(3));
        assertPosition(a, ETH, 1e18, 2950e18, "filled at the first round strictly after");
    }

    function test_laterRoundThanTheFirstIsRefused() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 20);
        setPrice(ethFeed, 2800e18);

        vm.expectRevert(
            abi.encodeWithSelector(
                ChainlinkLib.EarlierRoundQualifies.selector, round1(2), uint256(START + 10), uint256(START)
            )
        );
        executeAt(keeper, ETH, round1(3));
        assertPosition(a, ETH, 0, 0, "nothing filled");
    }

    function test_wrongPredecessorIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 20);
        setPrice(ethFeed, 2800e18);

        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.NotPredecessor.selector, round1(3), round1(1)));
        book.executeOrder(ETH, round1(3), round1(1));
        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.NotPredecessor.selector, round1(2), round1(2)));
        book.executeOrder(ETH, round1(2), round1(2));
    }

    function test_phaseChangeAcceptsFirstRoundOfNewPhaseWithLastRoundOfPreviousPhase() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        ethFeed.startNewPhase();
        vm.warp(START + 10);
        setPrice(ethFeed, 2950e18);
        uint80 firstOfPhase2 = uint80((uint256(2) << 64) | 1);

        uint80 wrong = uint80(uint256(2) << 64); // not a round of the previous phase
        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.NotPredecessor.selector, firstOfPhase2, wrong));
        book.executeOrder(ETH, firstOfPhase2, wrong);
        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.PredecessorBeforeAnchor.selector, round1(0), round1(1)));
        book.executeOrder(ETH, firstOfPhase2, round1(0));

        vm.prank(keeper);
        book.executeOrder(ETH, firstOfPhase2, round1(1));
        assertPosition(a, ETH, 1e18, 2950e18, "filled at the new phase's first round");
    }

    function test_phaseChangeRefusesNewPhaseWhenPreviousPhaseHadTheFirstRound() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 5);
        setPrice(ethFeed, 2900e18);
        ethFeed.startNewPhase();
        vm.warp(START + 10);
        setPrice(ethFeed, 2950e18);
        uint80 firstOfPhase2 = uint80((uint256(2) << 64) | 1);

        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.PredecessorNotLastOfPhase.selector, round1(1)));
        book.executeOrder(ETH, firstOfPhase2, round1(1));
        vm.expectRevert(
            abi.encodeWithSelector(
                ChainlinkLib.EarlierRoundQualifies.selector, round1(2), uint256(START + 5), uint256(START)
            )
        );
        book.executeOrder(ETH, firstOfPhase2, round1(2));

        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 2900e18, "filled at the old phase's round");
    }

    /* ------------------------------------------------------------------ */
    /*                                FIFO                                 */
    /* ------------------------------------------------------------------ */

    function test_twoTradersOrdersExecuteInCreationOrder() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint40 b = depositFor(bob, 0, 10_000e6);
        uint256 keyA = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 5);
        uint256 keyB = marketOrder(bob, 0, ETH, -1e18, 0);
        assertEq(keyA, book.queuedKey(ETH, 0), "alice first");
        assertEq(keyB, book.queuedKey(ETH, 1), "bob second");
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);

        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 2900e18, "alice filled first");
        assertPosition(b, ETH, 0, 0, "bob still pending");
        assertEq(book.getOrder(keyB).accountId, b, "bob's order queued");

        executeAt(keeper, ETH, round1(2));
        assertPosition(b, ETH, -1e18, -2900e18, "bob filled second");
        vm.expectRevert(abi.encodeWithSelector(OrderBook.QueueEmpty.selector, ETH));
        executeAt(keeper, ETH, round1(2));
    }

    function test_executeOrderAlwaysTakesTheHead() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint40 b = depositFor(bob, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max); // created START
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18); // alice's fill round
        vm.warp(START + 20);
        marketOrder(bob, 0, ETH, 1e18, type(uint256).max); // created START + 20
        vm.warp(START + 30);
        setPrice(ethFeed, 3100e18); // bob's fill round

        // A keeper cannot take bob's order first: the proof is checked against the head, alice's.
        vm.expectRevert(
            abi.encodeWithSelector(
                ChainlinkLib.EarlierRoundQualifies.selector, round1(2), uint256(START + 10), uint256(START)
            )
        );
        executeAt(keeper, ETH, round1(3));

        uint80[] memory rounds = new uint80[](2);
        uint80[] memory previous = new uint80[](2);
        (rounds[0], rounds[1], previous[0], previous[1]) = (round1(2), round1(3), round1(1), round1(2));
        book.executeOrders(ETH, rounds, previous);
        assertPosition(a, ETH, 1e18, 2900e18, "alice at her round");
        int256 bobCost = 3100e18;
        assertPosition(b, ETH, 1e18, bobCost, "bob at his round");
    }

    function test_ownOrderCannotJumpAheadOfAnotherTradersOrder() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint40 b = depositFor(bob, 0, 10_000e6);
        marketOrder(bob, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18); // alice sees the round, then orders
        marketOrder(alice, 0, ETH, -1e18, 0);
        vm.warp(START + 11);
        setPrice(ethFeed, 2950e18);

        // Alice, as executor, can only execute the head: bob's order, at round 2.
        vm.expectRevert(
            abi.encodeWithSelector(
                ChainlinkLib.EarlierRoundQualifies.selector, round1(2), uint256(START + 10), uint256(START)
            )
        );
        executeAt(alice, ETH, round1(3));
        executeAt(alice, ETH, round1(2));
        assertPosition(b, ETH, 1e18, 2900e18, "bob first");
        assertPosition(a, ETH, 0, 0, "alice not yet");
        executeAt(alice, ETH, round1(3));
        assertPosition(a, ETH, -1e18, -2950e18, "alice after, at the round after her order");
    }

    /* ------------------------------------------------------------------ */
    /*                              QUEUE RING                             */
    /* ------------------------------------------------------------------ */

    /// @dev Queued orders live in a ring: the order that reuses a position rewrites exactly the
    /// slots the position's executed order wrote, and only live keys read an order.
    function test_queueRingReusesAnExecutedOrdersSlots() public {
        uint40 a = depositFor(alice, 0, 100_000e6);
        uint64 ring = book.QUEUE_RING_SIZE();
        bytes32[] memory firstWrites;
        bytes32[] memory reuseWrites;
        for (uint64 i; i <= ring + 1; ++i) {
            int256 size = ringOrderSize(i);
            if (i == 1 || i == ring + 1) vm.record();
            uint256 key = marketOrder(alice, 0, ETH, size, size > 0 ? type(uint256).max : 0);
            if (i == 1) (, firstWrites) = vm.accesses(address(book));
            if (i == ring + 1) {
                (, reuseWrites) = vm.accesses(address(book));
                assertEq(int256(book.getOrder(key).sizeDelta), size, "the live order at position 1");
                assertEq(book.getOrder(book.queuedKey(ETH, 1)).accountId, 0, "the executed order it replaced");
                assertEq(book.getOrder(book.queuedKey(ETH, ring)).accountId, 0, "an executed order left in place");
                assertEq(book.getOrder(book.queuedKey(ETH, 2 * ring + 1)).accountId, 0, "a future key");
            }
            vm.warp(START + 1 + i);
            setPrice(ethFeed, 3000e18);
            executeAt(keeper, ETH, round1(i + 2));
        }
        assertSameSlots(firstWrites, reuseWrites, "order ring + 1 rewrites order 1's slots");
        int256 expected;
        for (uint64 i; i <= ring + 1; ++i) {
            expected += ringOrderSize(i);
        }
        assertEq(int256(engine.getPosition(a, ETH).size), expected, "every order filled once");
    }

    /// @dev With the ring full, orders go to fresh slots, and keep going there while that run has
    /// orders left, even once ring positions are free: otherwise an order placed in the ring between
    /// two overflowing ones would fall inside the run's interval and be lost. Nothing is overwritten,
    /// the queue stays in order, and once the run drains orders return to the ring.
    function test_aFullRingOverflowsToFreshSlotsUntilItsRunDrains() public {
        uint64 ring = book.QUEUE_RING_SIZE();
        uint256 count = ring + 3;
        uint40[] memory ids = new uint40[](count / 8 + 1);
        for (uint16 s; s < ids.length; ++s) {
            ids[s] = depositFor(alice, s, 10_000e6);
        }
        uint40 b = depositFor(bob, 0, 10_000e6);
        uint256[] memory keys = new uint256[](count);
        bytes32[] memory order3Writes;
        for (uint64 i; i <= ring; ++i) {
            if (i == 3) vm.record();
            keys[i] = placeRingOrder(i);
            if (i == 3) (, order3Writes) = vm.accesses(address(book));
        }
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        executeAt(keeper, ETH, round1(2)); // positions 0 and 1 are free, the run [ring, ring + 1) is live
        keys[ring + 1] = placeRingOrder(ring + 1);
        keys[ring + 2] = placeRingOrder(ring + 2); // the ring is full again
        for (uint64 i = 2; i < count; ++i) {
            OrderBook.Order memory o = book.getOrder(keys[i]);
            assertEq(o.accountId, i == 3 ? b : ids[i / 8], "each pending order reads its own account");
            assertEq(int256(o.sizeDelta), ringOrderSize(i), "and its own size");
        }

        vm.warp(START + 2);
        setPrice(ethFeed, 3000e18);
        uint80[] memory rounds = new uint80[](ring - 1);
        uint80[] memory previous = new uint80[](ring - 1);
        for (uint256 i; i < ring - 1; ++i) {
            (rounds[i], previous[i]) = (round1(2), round1(1));
        }
        book.executeOrders(ETH, rounds, previous); // orders 2 .. ring
        executeAt(keeper, ETH, round1(3)); // orders ring + 1 and ring + 2, created after round 2
        executeAt(keeper, ETH, round1(3));
        for (uint256 s; s < ids.length; ++s) {
            int256 expected;
            for (uint64 i = uint64(s * 8); i < count && i < s * 8 + 8; ++i) {
                if (i != 3) expected += ringOrderSize(i);
            }
            assertEq(int256(engine.getPosition(ids[s], ETH).size), expected, "every order filled once");
        }
        assertEq(int256(engine.getPosition(b, ETH).size), ringOrderSize(3), "bob's order filled once");

        // The run has drained: order ring + 3, bob's next, takes ring position 3 again.
        vm.record();
        marketOrder(bob, 0, ETH, -ringOrderSize(3), type(uint256).max);
        (, bytes32[] memory writes) = vm.accesses(address(book));
        assertSameSlots(order3Writes, writes, "order ring + 3 rewrites order 3's slots");
    }

    /// @dev Order `i` of a ring test, with a distinct size: bob's for order 3, else alice's subaccount i / 8.
    /// @dev Executions leave an account's pending-order entries claimed, so a liquidation cancels
    /// only the entries whose orders are still pending: by then a finished order's ring position
    /// can hold another account's pending order, which must survive.
    function test_liquidationSkipsAFinishedOrderWhoseRingPositionAnotherOrderHolds() public {
        uint64 ring = book.QUEUE_RING_SIZE();
        uint40 a = depositFor(alice, 0, 150e6);
        uint40 c = depositFor(carol, 0, 10_000e6);
        depositFor(bob, 0, 100_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max); // order 0, alice's first entry
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        uint64 round = 2;
        executeAt(keeper, ETH, round1(round));
        // Bob's orders 1 .. ring - 1, eight at a time, each batch filled at the next round.
        uint64 seq = 1;
        for (uint64 t = 2; seq < ring; ++t) {
            uint64 end = seq + 8 < ring ? seq + 8 : ring;
            for (uint64 i = seq; i < end; ++i) {
                marketOrder(bob, 0, ETH, ringOrderSize(i), ringOrderSize(i) > 0 ? type(uint256).max : 0);
            }
            vm.warp(START + t);
            setPrice(ethFeed, 3000e18);
            ++round;
            for (; seq < end; ++seq) {
                executeAt(keeper, ETH, round1(round));
            }
        }
        uint256 carolsKey = marketOrder(carol, 0, ETH, 0.1e18, type(uint256).max);
        assertEq(carolsKey, book.queuedKey(ETH, ring), "order ring: ring position 0, alice's finished order's");
        assertEq(book.pendingOrders(a).length, 0, "alice has no pending order");

        vm.warp(START + 100);
        setPrice(ethFeed, 2880e18);
        ++round;
        (, bool liquidatable) = liquidator.accountHealth(a);
        assertTrue(liquidatable, "alice liquidatable");
        address liquidationKeeper = address(0x11D);
        vm.record();
        vm.prank(liquidationKeeper);
        liquidator.liquidate(a);
        (bytes32[] memory bookReads,) = vm.accesses(address(book));
        assertEq(bookReads.length, 0, "no order pending: the liquidation does not ask the order book");
        assertEq(book.getOrder(carolsKey).accountId, c, "carol's order survives alice's liquidation");
        assertEq(book.nativeCredits(liquidationKeeper), 0, "no fee from a finished order");
        executeAt(keeper, ETH, round1(round));
        assertEq(int256(engine.getPosition(c, ETH).size), 0.1e18, "and fills");
    }

    function placeRingOrder(uint64 i) internal returns (uint256) {
        int256 size = ringOrderSize(i);
        return marketOrder(i == 3 ? bob : alice, i == 3 ? 0 : uint16(i / 8), ETH, size, size > 0 ? type(uint256).max : 0);
    }

    /// @dev Distinct sizes, alternating long and short.
    function ringOrderSize(uint256 i) internal pure returns (int256) {
        int256 size = int256(0.01e18 + i * 1e12);
        return i % 2 == 0 ? size : -size;
    }

    function assertSameSlots(bytes32[] memory left, bytes32[] memory right, string memory what) internal pure {
        for (uint256 i; i < left.length; ++i) {
            assertTrue(contains(right, left[i]), what);
        }
        for (uint256 i; i < right.length; ++i) {
            assertTrue(contains(left, right[i]), what);
        }
    }

    function contains(bytes32[] memory list, bytes32 item) internal pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == item) return true;
        }
        return false;
    }

    /* ------------------------------------------------------------------ */
    /*                            NO FREE OPTION                           */
    /* ------------------------------------------------------------------ */

    function test_ownerCannotCancelAQueuedOrder() public {
        depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.OrderQueued.selector, key));
        book.cancelOrder(key);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.OrderQueued.selector, key));
        book.cancelOrder(key);
    }

    function test_anyoneCanExecuteOnceTheFillRoundExistsAndEarnsTheFee() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        executeAt(carol, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 2900e18, "filled");
        assertEq(book.nativeCredits(carol), MIN_FEE, "executor credited the fee");
        assertEq(address(book).balance, MIN_FEE, "book holds the fee");

        vm.prank(carol);
        uint256 claimed = book.claimNativeCredits(payable(carol));
        assertEq(claimed, MIN_FEE, "claimed");
        assertEq(carol.balance, MIN_FEE, "sent");
        assertEq(book.nativeCredits(carol), 0, "credits cleared");
        vm.prank(carol);
        vm.expectRevert(OrderBook.NothingToClaim.selector);
        book.claimNativeCredits(payable(carol));
    }

    function test_lateBuyFillsAtTheWorseOfFillRoundAndLatest() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 71); // fill round updatedAt + lateDelay + 1
        setPrice(ethFeed, 3100e18);
        SkewCurveLib.Quote memory q = quoteOnEmptySkew(1e18, 3100e18);
        vm.expectEmit();
        emit OrderBook.OrderExecuted(key, a, keeper, round1(2), 3100e18, q.fillPrice, q.takerFeeUsd);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 3100e18, "late buy at the higher latest price");
    }

    function test_lateBuyKeepsTheFillRoundWhenItIsWorse() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 200);
        setPrice(ethFeed, 2800e18);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 2900e18, "late buy at the higher fill round price");
    }

    function test_lateSellFillsAtTheWorseOfFillRoundAndLatest() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, -1e18, 0);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 100);
        setPrice(ethFeed, 2800e18);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, -1e18, -2800e18, "late sell at the lower latest price");
    }

    function test_lateSellKeepsTheFillRoundWhenItIsWorse() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, -1e18, 0);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 100);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, -1e18, -2900e18, "late sell at the lower fill round price");
    }

    function test_executionWithinLateDelayFillsAtTheFillRound() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        vm.warp(START + 70); // exactly updatedAt + lateDelay
        setPrice(ethFeed, 3100e18);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 2900e18, "on time: the fill round");
    }

    function test_reservedMarginCannotBeWithdrawn() public {
        uint40 a = depositFor(alice, 0, 200e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        assertEq(RESERVATION_1_ETH_AT_3000, expectedReservation(1e18, 3000e18, false), "reservation formula");
        assertEq(reservedMargin(a), RESERVATION_1_ETH_AT_3000, "reserved");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(100e18), RESERVATION_1_ETH_AT_3000)
        );
        engine.withdraw(0, 100e6, alice);
        vm.prank(alice);
        engine.withdraw(0, 96e6, alice); // 104 left covers the 103.24 reserved
        assertEq(int256(engine.getAccount(a).collateral), 104e18, "the free part left");
    }

    function test_reservedMarginCannotBeUsedByAnotherOrder() public {
        uint40 a = depositFor(alice, 0, 200e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.deal(alice, MIN_FEE);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(200e18), 2 * RESERVATION_1_ETH_AT_3000)
        );
        book.createOrder{value: MIN_FEE}(
            OrderBook.CreateOrderParams({
                subaccount: 0,
                marketId: ETH,
                orderType: OrderBook.OrderType.Market,
                reduceOnly: false,
                sizeDelta: 1e18,
                triggerPrice: 0,
                acceptablePrice: type(uint256).max
            })
        );
        assertEq(reservedMargin(a), RESERVATION_1_ETH_AT_3000, "one reservation");
    }

    /* ------------------------------------------------------------------ */
    /*                                EXPIRY                               */
    /* ------------------------------------------------------------------ */

    function test_firstRoundAfterMaxOrderAgeExpiresTheOrder() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 1 hours + 1);
        setPrice(ethFeed, 2900e18);
        expectCancel(key, a, OrderBook.CancelReason.Expired, "", 0);
        executeAt(carol, ETH, round1(2));

        assertPosition(a, ETH, 0, 0, "never fills");
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(book.nativeCredits(carol), MIN_FEE / 10, "executor: expiryRewardShare of the fee");
        assertEq(book.nativeCredits(alice), MIN_FEE - MIN_FEE / 10, "owner: the rest");
        assertEq(uint256(book.pendingMask(a)), 0, "pending slot freed");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), 0, "the engine forgets the expired order");
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18, "no penalty");
    }

    function test_firstRoundExactlyAtMaxOrderAgeStillFills() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 1 hours);
        setPrice(ethFeed, 2900e18);
        executeAt(carol, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 2900e18, "filled");
        assertEq(book.nativeCredits(carol), MIN_FEE, "full fee");
    }

    function test_noRoundFor24HoursExpiresWithoutAProof() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 24 hours);
        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.UnsupportedPhaseJump.selector, round1(1), uint80(0)));
        book.executeOrder(ETH, 0, 0);

        vm.warp(START + 24 hours + 1);
        expectCancel(key, a, OrderBook.CancelReason.Expired, "", 0);
        vm.prank(carol);
        book.executeOrder(ETH, 0, 0);
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(book.nativeCredits(carol), MIN_FEE / 10, "executor reward");
        assertEq(book.nativeCredits(alice), MIN_FEE - MIN_FEE / 10, "owner refund");
    }

    /* ------------------------------------------------------------------ */
    /*                    EVERY EXECUTION FILLS OR CANCELS                  */
    /* ------------------------------------------------------------------ */

    function test_acceptablePriceExceededCancelsWithPenaltyToThePool() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, 2950e18);
        vm.warp(START + 10);
        setPrice(ethFeed, 3000e18);
        int256 poolBefore = engine.poolCash();
        SkewCurveLib.Quote memory q = quoteOnEmptySkew(1e18, 3000e18);
        uint256 penalty = 1.5e18; // 5 bps of 3000
        expectCancel(
            key,
            a,
            OrderBook.CancelReason.RejectedWithPenalty,
            abi.encodeWithSelector(EngineBase.AcceptablePriceExceeded.selector, q.fillPrice, uint256(2950e18)),
            penalty
        );
        executeAt(keeper, ETH, round1(2));

        assertPosition(a, ETH, 0, 0, "not filled");
        assertEq(engine.poolCash(), poolBefore + int256(penalty), "penalty to the pool");
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18 - int256(penalty), "penalty from the account");
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), 0, "the engine forgets the rejected order");
        assertEq(book.nativeCredits(keeper), MIN_FEE, "executor paid");
    }

    function test_reduceOnlyViolationCancelsWithPenalty() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = placeOrder(alice, 0, ETH, OrderBook.OrderType.Market, true, -1e18, 0, 0, MIN_FEE);
        assertEq(reservedMargin(a), expectedReservation(1e18, 3000e18, true), "fee and impact only");
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        int256 poolBefore = engine.poolCash();
        expectCancel(
            key,
            a,
            OrderBook.CancelReason.RejectedWithPenalty,
            abi.encodeWithSelector(EngineBase.ReduceOnlyViolated.selector, int256(0), int256(-1e18)),
            1.45e18
        );
        executeAt(keeper, ETH, round1(2));
        assertEq(engine.poolCash(), poolBefore + 1.45e18, "penalty to the pool");
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18 - 1.45e18, "penalty from the account");
        assertEq(reservedMargin(a), 0, "reservation released");
    }

    function test_insufficientMarginAtTheFillPriceCancelsWithPenalty() public {
        uint40 a = depositFor(alice, 0, 104e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 3600e18);
        int256 poolBefore = engine.poolCash();
        // At 3600: collateral 104 - fee 1.8 - impact 0.0018 against IM 3600 * 2.8572%.
        expectCancel(
            key,
            a,
            OrderBook.CancelReason.RejectedWithPenalty,
            abi.encodeWithSelector(EngineBase.InsufficientMargin.selector, int256(102.1982e18), uint256(102.8592e18)),
            1.8e18
        );
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 0, 0, "not filled");
        assertEq(engine.poolCash(), poolBefore + 1.8e18, "penalty to the pool");
        assertEq(int256(engine.getAccount(a).collateral), 104e18 - 1.8e18, "penalty from the account");
    }

    function test_openInterestCapRejectionCancelsWithoutPenalty() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        EngineBase.MarketConfig memory config = engine.marketConfig(ETH);
        config.maxOpenInterestUsd = 1_000e18;
        governance.setMarketConfig(ETH, config);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        int256 poolBefore = engine.poolCash();
        expectCancel(
            key,
            a,
            OrderBook.CancelReason.Rejected,
            abi.encodeWithSelector(EngineBase.OpenInterestCapExceeded.selector, ETH, uint256(2900e18), uint256(1_000e18)),
            0
        );
        executeAt(keeper, ETH, round1(2));
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18, "no penalty");
        assertEq(engine.poolCash(), poolBefore, "pool unchanged");
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(book.nativeCredits(keeper), MIN_FEE, "executor paid");
    }

    function test_openingPausedRejectionCancelsWithoutPenalty() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        governance.setOpeningPaused(true);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18);
        expectCancel(
            key, a, OrderBook.CancelReason.Rejected, abi.encodeWithSelector(EngineBase.OpeningPaused.selector), 0
        );
        executeAt(keeper, ETH, round1(2));
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18, "no penalty");
        assertEq(reservedMargin(a), 0, "reservation released");
    }

    function test_staleSecondMarketCancelsAnIncreasingHeadAndTheQueueMovesOn() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint40 b = depositFor(bob, 0, 10_000e6);
        marketOrder(alice, 0, BTC, 0.1e18, type(uint256).max);
        vm.warp(START + 1);
        setPrice(btcFeed, 60_000e18);
        executeAt(keeper, BTC, round1(2));
        assertPosition(a, BTC, 0.1e18, 6_000e18, "alice holds BTC");

        vm.warp(START + 100);
        uint256 keyA = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        marketOrder(bob, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 3700); // BTC's last round (START + 1) is past its heartbeat
        setPrice(ethFeed, 2900e18);
        int256 collateralBefore = engine.getAccount(a).collateral;

        expectCancel(
            keyA, a, OrderBook.CancelReason.Rejected, abi.encodeWithSelector(EngineBase.PricesInvalid.selector, a), 0
        );
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 0, 0, "alice cancelled");
        assertEq(int256(engine.getAccount(a).collateral), collateralBefore, "no penalty");
        assertEq(reservedMargin(a), 0, "reservation released");

        executeAt(keeper, ETH, round1(2));
        assertPosition(b, ETH, 1e18, 2900e18, "bob fills next");
    }

    function test_notPositiveFillRoundCancelsAndTheQueueMovesOn() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint40 b = depositFor(bob, 0, 10_000e6);
        uint256 keyA = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 3);
        ethFeed.setRound(-1, START + 3, START + 3); // round 2: alice's fill round, invalid
        vm.warp(START + 4);
        setPrice(ethFeed, 3000e18); // round 3
        vm.warp(START + 5);
        marketOrder(bob, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        setPrice(ethFeed, 2900e18); // round 4: bob's fill round

        expectCancel(keyA, a, OrderBook.CancelReason.InvalidRound, "", 0);
        executeAt(keeper, ETH, round1(2));
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18, "no penalty");
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(book.nativeCredits(keeper), MIN_FEE, "executor paid");

        executeAt(keeper, ETH, round1(4));
        assertPosition(b, ETH, 1e18, 2900e18, "bob fills next");
    }

    function test_outOfBoundsFillRoundCancels() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        ethFeed.setRound(2_000_000e8, START + 10, START + 10); // above maxPrice
        expectCancel(key, a, OrderBook.CancelReason.InvalidRound, "", 0);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 0, 0, "not filled");
        assertEq(reservedMargin(a), 0, "reservation released");
    }

    function test_sequencerDownCancelsTheOrder() public {
        MockAggregator uptime = new MockAggregator(0, "L2 sequencer uptime");
        uptime.setRound(0, START - 2 hours, START - 2 hours);
        governance.setSequencer(address(uptime), 1 hours);
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 10);
        uptime.setRound(1, START + 10, START + 10);
        setPrice(ethFeed, 2900e18);
        expectCancel(key, a, OrderBook.CancelReason.InvalidRound, "", 0);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 0, 0, "not filled");
        assertEq(int256(engine.getAccount(a).collateral), 10_000e18, "no penalty");
        assertEq(reservedMargin(a), 0, "reservation released");
        assertEq(book.nativeCredits(keeper), MIN_FEE, "executor paid");
    }
}

contract OrderBookPhaseJumpTest is OrderBookFixture {
    function setUp() public {
        setUpOrderBook();
    }

    /// @dev A feed that changed phase twice since an order's anchor leaves no provable fill round:
    /// the order must still reach an end (expiry after 24 hours) instead of blocking its queue.
    function test_anOrderUnprovableAcrossTwoPhaseChangesExpiresAfter24Hours() public {
        depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        uint256 createdAt = block.timestamp;
        vm.warp(createdAt + 10);
        ethFeed.startNewPhase();
        ethFeed.setPrice(3000e8);
        ethFeed.startNewPhase();
        uint80 phase3Round = ethFeed.setPrice(3000e8);
        vm.expectRevert();
        book.executeOrder(ETH, phase3Round, 0);
        vm.warp(createdAt + 24 hours + 1);
        ethFeed.setPrice(3000e8);
        book.executeOrder(ETH, 0, 0);
        (uint64 head, uint64 tail) = book.queues(ETH);
        assertEq(uint256(head), uint256(tail), "the queue moved on");
        assertEq(reservedMargin(1), 0, "reservation released");
        assertEq(book.nativeCredits(alice), MIN_FEE - MIN_FEE / 10, "the owner gets the fee back less the expiry reward");
    }
}
