// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./utils/OrderBookFixture.sol";
import {OrderBook} from "../../contracts/OrderBook.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {ChainlinkLib} from "../../contracts/libraries/ChainlinkLib.sol";

/// @dev SPEC section 6 for limit, stop-market and take-profit orders, the bounds checked at
/// creation, and liquidation cancelling an account's pending orders.
contract OrderBookConditionalTest is OrderBookFixture {
    function setUp() public {
        setUpOrderBook();
    }

    function assertPosition(uint40 accountId, uint8 marketId, int256 size, int256 cost, string memory what)
        internal
        view
    {
        EngineBase.Position memory pos = engine.getPosition(accountId, marketId);
        assertEq(int256(pos.size), size, string.concat(what, ": size"));
        assertEq(int256(pos.cost), cost, string.concat(what, ": cost"));
    }

    function trigger(address who, uint256 key) internal returns (uint256 queuedKey) {
        vm.prank(who);
        queuedKey = book.triggerOrder(key);
    }

    /// @dev Creates a conditional order at START, then writes rounds at START + 10, + 20 with
    /// `notMet` and `met`, checks the first does not trigger and the second does, then fills at
    /// a round at START + 30 with `fillPrice`.
    function checkTrigger(OrderBook.OrderType orderType, int256 size, uint256 triggerPrice, uint256 notMet, uint256 met)
        internal
        returns (uint40 a)
    {
        a = depositFor(alice, 0, 10_000e6);
        uint256 key = conditionalOrder(alice, 0, ETH, orderType, false, size, triggerPrice);
        vm.warp(START + 10);
        setPrice(ethFeed, notMet);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TriggerNotMet.selector, notMet, triggerPrice));
        trigger(carol, key);
        vm.warp(START + 20);
        setPrice(ethFeed, met);
        uint256 queued = trigger(carol, key);
        assertEq(queued, book.queuedKey(ETH, 0), "queued at the tail");
        vm.warp(START + 30);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(4));
        assertPosition(a, ETH, size, size * 3000, "filled at the round after the trigger");
    }

    /* ------------------------------------------------------------------ */
    /*                              TRIGGERS                               */
    /* ------------------------------------------------------------------ */

    function test_limitBuyTriggersAtOrBelowItsPrice() public {
        checkTrigger(OrderBook.OrderType.Limit, 1e18, 2900e18, 2901e18, 2900e18);
    }

    function test_limitSellTriggersAtOrAboveItsPrice() public {
        checkTrigger(OrderBook.OrderType.Limit, -1e18, 3100e18, 3099e18, 3100e18);
    }

    function test_stopMarketBuyTriggersAtOrAboveItsPrice() public {
        checkTrigger(OrderBook.OrderType.StopMarket, 1e18, 3100e18, 3099e18, 3100e18);
    }

    function test_stopMarketSellTriggersAtOrBelowItsPrice() public {
        checkTrigger(OrderBook.OrderType.StopMarket, -1e18, 2900e18, 2901e18, 2900e18);
    }

    function test_takeProfitOfALongTriggersAtOrAboveAndReduces() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        uint256 key = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.TakeProfit, true, -1e18, 3100e18);
        vm.warp(START + 10);
        setPrice(ethFeed, 3099e18);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TriggerNotMet.selector, 3099e18, 3100e18));
        trigger(carol, key);
        vm.warp(START + 20);
        setPrice(ethFeed, 3150e18);
        trigger(carol, key);
        vm.warp(START + 30);
        setPrice(ethFeed, 3120e18);
        executeAt(keeper, ETH, round1(5));
        assertPosition(a, ETH, 0, 0, "closed");
        assertEq(reservedMargin(a), 0, "nothing reserved");
    }

    function test_takeProfitMustBeReduceOnly() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(OrderBook.TakeProfitMustReduce.selector);
        conditionalOrder(alice, 0, ETH, OrderBook.OrderType.TakeProfit, false, -1e18, 3100e18);
    }

    function test_limitOrderInTheMoneyAtAStalePriceCannotFillAtThatPrice() public {
        // Created at START when the latest round (START, 3000) is already below the 3100 limit.
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 1e18, 3100e18);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TriggerRoundTooOld.selector, uint256(START), uint256(START)));
        trigger(carol, key);
        setPrice(ethFeed, 3000e18); // a round in the same second is observed at the creation too
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TriggerRoundTooOld.selector, uint256(START), uint256(START)));
        trigger(carol, key);
        vm.warp(START + 10);
        setPrice(ethFeed, 3200e18);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TriggerNotMet.selector, 3200e18, 3100e18));
        trigger(carol, key);
        assertPosition(a, ETH, 0, 0, "no fill at the stale price");
    }

    function test_triggerWithAStaleLatestRoundIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        uint256 key = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 1e18, 3100e18);
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        vm.warp(START + 1 + 3601);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.PriceUnavailable.selector, ETH, ChainlinkLib.Status.Stale));
        trigger(carol, key);
    }

    function test_triggererEarnsItsShareAndTheOrderFillsAtTheRoundAfterTheTrigger() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 1e18, 2900e18);
        vm.warp(START + 20);
        setPrice(ethFeed, 2850e18); // round 2 triggers
        vm.warp(START + 25);
        vm.expectEmit();
        emit OrderBook.OrderTriggered(key, book.queuedKey(ETH, 0), carol, round1(2), 2850e18);
        uint256 queued = trigger(carol, key);
        assertEq(book.nativeCredits(carol), MIN_FEE / 5, "triggerRewardShare of the fee");
        OrderBook.Order memory o = book.getOrder(queued);
        assertEq(uint256(o.createdAt), START + 25, "created at the trigger");
        assertEq(uint256(o.anchorRoundId), round1(2), "anchored at the trigger round");
        assertEq(uint256(o.executionFeeGwei) * 1 gwei, MIN_FEE - MIN_FEE / 5, "remaining fee");
        assertEq(book.getOrder(key).accountId, 0, "conditional entry gone");
        uint256[] memory pending = book.pendingOrders(a);
        assertEq(pending.length, 1, "still one pending order");
        assertEq(pending[0], queued, "pending key updated");

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.OrderQueued.selector, queued));
        book.cancelOrder(queued);

        // The trigger round itself cannot be the fill round.
        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.PredecessorBeforeAnchor.selector, round1(1), round1(2)));
        executeAt(keeper, ETH, round1(2));
        vm.warp(START + 30);
        setPrice(ethFeed, 2950e18);
        executeAt(keeper, ETH, round1(3));
        assertPosition(a, ETH, 1e18, 2950e18, "filled at the first round after the trigger");
        assertEq(book.nativeCredits(keeper), MIN_FEE - MIN_FEE / 5, "executor gets the rest");
    }

    function test_ownerCancelsAnUntriggeredOrderForARefundAndNobodyElseCan() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 key = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 1e18, 2900e18);
        assertEq(reservedMargin(a), expectedReservation(1e18, 3000e18, false), "reserved");

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.NotOrderOwner.selector, key, bob));
        book.cancelOrder(key);

        vm.expectEmit();
        emit OrderBook.OrderCancelled(key, a, OrderBook.CancelReason.Owner, "", 0);
        vm.prank(alice);
        book.cancelOrder(key);
        assertEq(book.nativeCredits(alice), MIN_FEE, "fee refunded as credit");
        assertEq(reservedMargin(a), 0, "margin released");
        assertEq(book.pendingOrders(a).length, 0, "no pending order");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.UnknownOrder.selector, key));
        book.cancelOrder(key);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.UnknownOrder.selector, key));
        book.triggerOrder(key);
    }

    /* ------------------------------------------------------------------ */
    /*                         BOUNDS AT CREATION                          */
    /* ------------------------------------------------------------------ */

    function test_atMostEightPendingOrdersPerAccount() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        for (uint256 i; i < 8; ++i) {
            marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max);
        }
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TooManyPendingOrders.selector, a, uint256(8)));
        conditionalOrder(alice, 0, BTC, OrderBook.OrderType.Limit, false, 0.01e18, 50_000e18);
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max); // a slot is free again
        assertEq(book.pendingOrders(a).length, 8, "eight pending");
    }

    /// @dev Orders waiting for their trigger live in the 7-entry table; only a market order can
    /// be the eighth (the engine keeps the latest).
    function test_atMostSevenConditionalOrdersThenAMarketOrder() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        for (uint256 i; i < 7; ++i) {
            conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.1e18, 2000e18);
        }
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TooManyPendingOrders.selector, a, uint256(8)));
        conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.1e18, 2000e18);
        uint256 key = marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max);
        assertEq(book.pendingOrders(a).length, 8, "eight pending");
        assertEq(book.pendingOrders(a)[7], key, "the market order last");
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TooManyPendingOrders.selector, a, uint256(8)));
        marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max);
    }

    function test_eightPendingOrdersKeepTheirKeysInThePackedTable() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256[] memory keys = new uint256[](8);
        for (uint256 i; i < 8; ++i) {
            // Queued keys carry the queue flag (bit 72) and the market: the widest keys the table holds.
            keys[i] = i % 2 == 0
                ? marketOrder(alice, 0, BTC, 0.01e18, type(uint256).max)
                : conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.1e18, 2000e18);
        }
        // Each market order displaces the previous one, still pending, into the next free entry.
        uint256[8] memory entries = [keys[1], keys[0], keys[3], keys[2], keys[5], keys[4], keys[7], keys[6]];
        assertEq(uint256(book.pendingMask(a)), 0xff, "seven table entries and the latest market order");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), keys[6], "the engine keeps the latest market order");
        uint256[] memory pending = book.pendingOrders(a);
        for (uint256 i; i < 8; ++i) {
            assertEq(pending[i], entries[i], "each key in its entry");
        }

        // Entry 4 (the second slot word) frees and is taken again without disturbing its neighbours.
        vm.prank(alice);
        book.cancelOrder(keys[5]);
        assertEq(uint256(book.pendingMask(a)), 0xef, "entry 4 free");
        entries[4] = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.1e18, 1900e18);
        pending = book.pendingOrders(a);
        for (uint256 i; i < 8; ++i) {
            assertEq(pending[i], entries[i], "keys after the entry is reused");
        }
    }

    /// @dev The engine keeps an account's latest market order in the slot the reservation writes,
    /// so a market order writes no pending-order entry here unless the previous one is still
    /// pending: that one moves to the table.
    function test_latestMarketOrderStaysInTheEngineUntilDisplacedWhilePending() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        vm.record();
        uint256 first = marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max);
        (, bytes32[] memory writes) = vm.accesses(address(book));
        assertEq(distinctSlots(writes), 3, "the queue and the order's two slots, no pending-order entry");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), first, "in the engine");
        assertEq(uint256(book.pendingMask(a)), 0x80, "bit 7: the latest market order");

        uint256 second = marketOrder(alice, 0, ETH, 0.2e18, type(uint256).max);
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), second, "the new one in the engine");
        assertEq(uint256(book.pendingMask(a)), 0x81, "the pending one moved to entry 0");
        uint256[] memory pending = book.pendingOrders(a);
        assertEq(pending.length, 2, "both pending");
        assertEq(pending[0], first, "the table first");
        assertEq(pending[1], second, "then the latest");

        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        executeAt(keeper, ETH, round1(2));
        assertEq(uint256(book.pendingMask(a)), 0, "both filled");
        assertEq(int256(engine.getPosition(a, ETH).size), 0.3e18, "both sizes");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), 0, "the engine forgets a filled order");
        assertTrue(engine.getAccount(a).usesOrderTable, "the displaced order used the table");

        // Displacing a finished order writes nothing here; entry 0 stays claimed but finished.
        vm.record();
        uint256 third = marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max);
        (, writes) = vm.accesses(address(book));
        assertEq(distinctSlots(writes), 3, "again only the queue and the order");
        assertEq(uint256(book.pendingMask(a)), 0x80, "only the latest pending");
        assertEq(book.pendingOrders(a)[0], third, "its key");
        assertEq(reservedMargin(a), expectedReservation(0.1e18, 3000e18, false), "one reservation");
    }

    function distinctSlots(bytes32[] memory slots) internal pure returns (uint256 count) {
        for (uint256 i; i < slots.length; ++i) {
            bool seen;
            for (uint256 j; j < i && !seen; ++j) {
                seen = slots[j] == slots[i];
            }
            if (!seen) ++count;
        }
    }

    function test_initialMarginRateIsTheTierOfTheMarketsOpenInterest() public {
        assertEq(governance.initialMarginRate(ETH, 3000e18), 0.028572e18, "no open interest: the first tier");
        fundPool(10_000_000e6); // the reserve check allows 0.8 * 20M of notional
        depositFor(alice, 0, 1_000_000e6);
        marketOrder(alice, 0, ETH, 4000e18, type(uint256).max); // 12M USD of open interest
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        assertEq(governance.initialMarginRate(ETH, 3000e18), 0.05e18, "12M USD: the second tier");
        vm.expectRevert(abi.encodeWithSelector(EngineBase.UnknownMarket.selector, uint256(7)));
        governance.initialMarginRate(7, 3000e18);
    }

    function test_executionFeeBelowTheMinimumIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.ExecutionFeeTooLow.selector, MIN_FEE - 1 gwei, MIN_FEE));
        placeOrder(alice, 0, ETH, OrderBook.OrderType.Market, false, 1e18, 0, type(uint256).max, MIN_FEE - 1 gwei);
    }

    function test_executionFeeMustBeWholeGwei() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.ExecutionFeeNotWholeGwei.selector, MIN_FEE + 1));
        placeOrder(alice, 0, ETH, OrderBook.OrderType.Market, false, 1e18, 0, type(uint256).max, MIN_FEE + 1);
    }

    function test_notionalBelowTheMinimumIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.NotionalTooSmall.selector, uint256(9e18), uint256(10e18)));
        marketOrder(alice, 0, ETH, 0.003e18, type(uint256).max);
    }

    function test_sizeAboveTheMaximumIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.SizeTooLarge.selector, uint256(1_000_001e18), uint256(1_000_000e18))
        );
        marketOrder(alice, 0, ETH, -1_000_001e18, 0);
    }

    function test_zeroSizeIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(OrderBook.ZeroSize.selector);
        marketOrder(alice, 0, ETH, 0, 0);
    }

    function test_marketOrderWithATriggerPriceIsRefused() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.InvalidTriggerPrice.selector, OrderBook.OrderType.Market, uint256(3000e18))
        );
        placeOrder(alice, 0, ETH, OrderBook.OrderType.Market, false, 1e18, 3000e18, type(uint256).max, MIN_FEE);
    }

    function test_conditionalOrderNeedsATriggerPriceThatFits() public {
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.InvalidTriggerPrice.selector, OrderBook.OrderType.Limit, uint256(0))
        );
        conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 1e18, 0);
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.InvalidTriggerPrice.selector, OrderBook.OrderType.StopMarket, uint256(1) << 80)
        );
        conditionalOrder(alice, 0, ETH, OrderBook.OrderType.StopMarket, false, 1e18, uint256(1) << 80);
    }

    function test_acceptablePriceThatDoesNotFitIsRefusedNotWidened() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        uint256 tooLarge = uint256(type(uint80).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.InvalidAcceptablePrice.selector, tooLarge, uint256(type(uint80).max))
        );
        marketOrder(alice, 0, ETH, 1e18, tooLarge);
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max); // no bound is still allowed
        assertEq(book.getOrder(key).accountId, a, "unbounded buy queued");
    }

    function test_executeOrdersNeedsOnePredecessorPerRound() public {
        uint80[] memory rounds = new uint80[](2);
        uint80[] memory previous = new uint80[](1);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.LengthMismatch.selector, uint256(2), uint256(1)));
        book.executeOrders(ETH, rounds, previous);
    }

    function test_orderForAnUnknownAccountOrMarketIsRefused() public {
        vm.expectRevert(abi.encodeWithSelector(OrderBook.UnknownAccount.selector, alice, uint16(0)));
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        depositFor(alice, 0, 10_000e6);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.UnknownMarket.selector, uint8(2)));
        marketOrder(alice, 0, 2, 1e18, type(uint256).max);
    }

    /* ------------------------------------------------------------------ */
    /*                             LIQUIDATION                             */
    /* ------------------------------------------------------------------ */

    function test_liquidationCancelsPendingOrdersPaysTheLiquidatorAndTheQueueSkipsTheHole() public {
        uint40 a = depositFor(alice, 0, 150e6);
        uint40 b = depositFor(bob, 0, 10_000e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 3000e18, "alice long");

        vm.warp(START + 2);
        // The first market order moves to the table when the second (kept by the engine) is created.
        uint256 displacedKey = marketOrder(alice, 0, ETH, 0.01e18, type(uint256).max);
        uint256 limitKey = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.01e18, 2000e18);
        uint256 queuedKey = marketOrder(alice, 0, ETH, 0.01e18, type(uint256).max);
        assertEq(book.pendingOrders(a).length, 3, "three pending");
        assertEq(uint256(book.pendingMask(a)), 0x83, "two table entries and the engine's");
        assertEq(reservedMargin(a), 3 * expectedReservation(0.01e18, 3000e18, false), "reserved");
        vm.warp(START + 3);
        marketOrder(bob, 0, ETH, 1e18, type(uint256).max);

        vm.warp(START + 10);
        setPrice(ethFeed, 2880e18);
        (, bool liquidatable) = liquidator.accountHealth(a);
        assertTrue(liquidatable, "alice liquidatable");
        vm.expectEmit();
        emit OrderBook.OrderCancelled(queuedKey, a, OrderBook.CancelReason.Liquidated, "", 0);
        vm.expectEmit();
        emit OrderBook.OrderCancelled(limitKey, a, OrderBook.CancelReason.Liquidated, "", 0);
        vm.expectEmit();
        emit OrderBook.OrderCancelled(displacedKey, a, OrderBook.CancelReason.Liquidated, "", 0);
        vm.prank(carol);
        liquidator.liquidate(a);

        assertEq(book.nativeCredits(carol), 3 * MIN_FEE, "every fee to the liquidator");
        assertEq(reservedMargin(a), 0, "no reservation left");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), 0, "the engine forgets its order");
        assertFalse(engine.getAccount(a).usesOrderTable, "the table is empty again");
        assertEq(book.pendingOrders(a).length, 0, "no pending order");
        assertEq(book.getOrder(queuedKey).accountId, 0, "queued order gone");
        assertEq(book.getOrder(displacedKey).accountId, 0, "displaced queued order gone");
        assertEq(book.getOrder(limitKey).accountId, 0, "conditional order gone");
        vm.expectRevert(abi.encodeWithSelector(OrderBook.UnknownOrder.selector, limitKey));
        book.triggerOrder(limitKey);

        // The queue skips alice's holes and executes bob's order at his fill round.
        executeAt(keeper, ETH, round1(3));
        assertPosition(b, ETH, 1e18, 2880e18, "bob filled");
        (uint64 head, uint64 tail) = book.queues(ETH);
        assertEq(uint256(head), 4, "head past the holes and bob");
        assertEq(uint256(tail), 4, "tail");
    }

    /// @dev The engine forgets a filled market order, so only the table can still hold one: a
    /// market order displaced while pending marks it, and the liquidation still finds that order.
    function test_liquidationFindsADisplacedOrderAfterTheLatestFilled() public {
        uint40 a = depositFor(alice, 0, 150e6);
        // A reduce-only BTC order waits in its queue; the ETH order that displaces it fills first.
        uint256 btcKey = placeOrder(alice, 0, BTC, OrderBook.OrderType.Market, true, -0.01e18, 0, 0, MIN_FEE);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        assertTrue(engine.getAccount(a).usesOrderTable, "the displaced order took a table entry");
        openAliceLongAndCrash(a, btcKey);
    }

    /// @dev An order waiting for its trigger marks the table when the engine keeps no market order.
    function test_liquidationFindsAConditionalOrderWhenNoMarketOrderIsPending() public {
        uint40 a = depositFor(alice, 0, 150e6);
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        assertFalse(engine.getAccount(a).usesOrderTable, "a market order alone uses no table entry");
        uint256 takeProfit = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.TakeProfit, true, -1e18, 3500e18);
        assertTrue(engine.getAccount(a).usesOrderTable, "the conditional order took a table entry");
        openAliceLongAndCrash(a, takeProfit);
    }

    /// @dev Fills alice's 1 ETH long at 3000, then liquidates her at 2880: `pendingKey`, the one
    /// order left pending, is cancelled and its fee paid to the liquidator.
    function openAliceLongAndCrash(uint40 a, uint256 pendingKey) internal {
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        assertPosition(a, ETH, 1e18, 3000e18, "alice long");
        assertEq(uint256(engine.getAccount(a).latestMarketOrder), 0, "the engine forgets the filled order");
        assertEq(book.pendingOrders(a).length, 1, "one order left, in the table");

        vm.warp(START + 10);
        setPrice(ethFeed, 2880e18);
        vm.expectEmit();
        emit OrderBook.OrderCancelled(pendingKey, a, OrderBook.CancelReason.Liquidated, "", 0);
        vm.prank(carol);
        liquidator.liquidate(a);
        assertEq(book.nativeCredits(carol), MIN_FEE, "its fee to the liquidator");
        assertEq(book.getOrder(pendingKey).accountId, 0, "cancelled");
        assertFalse(engine.getAccount(a).usesOrderTable, "the table is empty again");
    }
}
