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
        assertEq(engine.getAccount(a).reservedMargin, 0, "nothing reserved");
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
        assertEq(engine.getAccount(a).reservedMargin, expectedReservation(1e18, 3000e18, false), "reserved");

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.NotOrderOwner.selector, key, bob));
        book.cancelOrder(key);

        vm.expectEmit();
        emit OrderBook.OrderCancelled(key, a, OrderBook.CancelReason.Owner, "", 0);
        vm.prank(alice);
        book.cancelOrder(key);
        assertEq(book.nativeCredits(alice), MIN_FEE, "fee refunded as credit");
        assertEq(engine.getAccount(a).reservedMargin, 0, "margin released");
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
        vm.deal(alice, MIN_FEE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.TooManyPendingOrders.selector, a, uint256(8)));
        book.createOrder{value: MIN_FEE}(
            OrderBook.CreateOrderParams({
                subaccount: 0,
                marketId: BTC,
                orderType: OrderBook.OrderType.Limit,
                reduceOnly: false,
                sizeDelta: 0.01e18,
                triggerPrice: 50_000e18,
                acceptablePrice: type(uint256).max
            })
        );
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        marketOrder(alice, 0, ETH, 0.1e18, type(uint256).max); // a slot is free again
        assertEq(book.pendingOrders(a).length, 8, "eight pending");
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
        assertEq(uint256(book.pendingMask(a)), 0xff, "all eight slots taken");
        uint256[] memory pending = book.pendingOrders(a);
        for (uint256 i; i < 8; ++i) {
            assertEq(pending[i], keys[i], "each key in its slot");
        }

        // Slot 5 (the second slot word) frees and is taken again without disturbing its neighbours.
        vm.prank(alice);
        book.cancelOrder(keys[5]);
        assertEq(uint256(book.pendingMask(a)), 0xdf, "slot 5 free");
        keys[5] = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.1e18, 1900e18);
        pending = book.pendingOrders(a);
        for (uint256 i; i < 8; ++i) {
            assertEq(pending[i], keys[i], "keys after the slot is reused");
        }
    }

    function test_initialMarginRateIsTheTierOfTheMarketsOpenInterest() public {
        assertEq(engine.initialMarginRate(ETH, 3000e18), 0.028572e18, "no open interest: the first tier");
        fundPool(10_000_000e6); // the reserve check allows 0.8 * 20M of notional
        depositFor(alice, 0, 1_000_000e6);
        marketOrder(alice, 0, ETH, 4000e18, type(uint256).max); // 12M USD of open interest
        vm.warp(START + 1);
        setPrice(ethFeed, 3000e18);
        executeAt(keeper, ETH, round1(2));
        assertEq(engine.initialMarginRate(ETH, 3000e18), 0.05e18, "12M USD: the second tier");
        vm.expectRevert(abi.encodeWithSelector(EngineBase.UnknownMarket.selector, uint256(7)));
        engine.initialMarginRate(7, 3000e18);
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
        uint256 queuedKey = marketOrder(alice, 0, ETH, 0.01e18, type(uint256).max);
        uint256 limitKey = conditionalOrder(alice, 0, ETH, OrderBook.OrderType.Limit, false, 0.01e18, 2000e18);
        assertEq(book.pendingOrders(a).length, 2, "two pending");
        assertEq(engine.getAccount(a).reservedMargin, 2 * expectedReservation(0.01e18, 3000e18, false), "reserved");
        vm.warp(START + 3);
        marketOrder(bob, 0, ETH, 1e18, type(uint256).max);

        vm.warp(START + 10);
        setPrice(ethFeed, 2880e18);
        (, bool liquidatable) = engine.accountHealth(a);
        assertTrue(liquidatable, "alice liquidatable");
        vm.expectEmit();
        emit OrderBook.OrderCancelled(queuedKey, a, OrderBook.CancelReason.Liquidated, "", 0);
        vm.expectEmit();
        emit OrderBook.OrderCancelled(limitKey, a, OrderBook.CancelReason.Liquidated, "", 0);
        vm.prank(carol);
        liquidator.liquidate(a);

        assertEq(book.nativeCredits(carol), 2 * MIN_FEE, "both fees to the liquidator");
        assertEq(engine.getAccount(a).reservedMargin, 0, "no reservation left");
        assertEq(book.pendingOrders(a).length, 0, "no pending order");
        assertEq(book.getOrder(queuedKey).accountId, 0, "queued order gone");
        assertEq(book.getOrder(limitKey).accountId, 0, "conditional order gone");
        vm.expectRevert(abi.encodeWithSelector(OrderBook.UnknownOrder.selector, limitKey));
        book.triggerOrder(limitKey);

        // The queue skips alice's hole and executes bob's order at his fill round.
        executeAt(keeper, ETH, round1(3));
        assertPosition(b, ETH, 1e18, 2880e18, "bob filled");
        (uint64 head, uint64 tail) = book.queues(ETH);
        assertEq(uint256(head), 3, "head past the hole and bob");
        assertEq(uint256(tail), 3, "tail");
    }
}
