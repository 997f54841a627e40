// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./EngineFixture.sol";
import {OrderBook} from "../../../contracts/OrderBook.sol";

/// @dev The engine fixture with the real order book wired in, SPEC defaults for its parameters
/// and helpers to create market orders and execute the head of a queue.
abstract contract OrderBookFixture is EngineFixture {
    OrderBook internal book;

    uint256 internal constant MIN_FEE = 0.0001 ether;

    function deployOrderBook() internal override returns (address) {
        book = new OrderBook(engine, defaultOrderConfig());
        return address(book);
    }

    function setUpOrderBook() internal {
        setUpEngine();
        OrderBook.MarketOrderConfig memory bounds =
            OrderBook.MarketOrderConfig({minExecutionFee: uint64(MIN_FEE), minNotionalUsd: 10e18, maxSize: 1_000_000e18});
        book.setMarketOrderConfig(ETH, bounds);
        book.setMarketOrderConfig(BTC, bounds);
    }

    function defaultOrderConfig() internal pure returns (OrderBook.OrderConfig memory) {
        return OrderBook.OrderConfig({
            maxOrderAge: 1 hours,
            lateDelay: 60,
            marginBuffer: 0.01e18,
            penaltyRate: 0.0005e18,
            triggerRewardShare: 0.2e18,
            expiryRewardShare: 0.1e18
        });
    }

    function marketOrder(address owner, uint16 subaccount, uint8 marketId, int256 sizeDelta, uint256 acceptablePrice)
        internal
        returns (uint256 key)
    {
        vm.deal(owner, owner.balance + MIN_FEE);
        vm.prank(owner);
        key = book.createOrder{value: MIN_FEE}(
            OrderBook.CreateOrderParams({
                subaccount: subaccount,
                marketId: marketId,
                orderType: OrderBook.OrderType.Market,
                reduceOnly: false,
                sizeDelta: sizeDelta,
                triggerPrice: 0,
                acceptablePrice: acceptablePrice
            })
        );
    }

    /// @dev Any order type, paying `fee` as its execution fee.
    function placeOrder(
        address owner,
        uint16 subaccount,
        uint8 marketId,
        OrderBook.OrderType orderType,
        bool reduceOnly,
        int256 sizeDelta,
        uint256 triggerPrice,
        uint256 acceptablePrice,
        uint256 fee
    ) internal returns (uint256 key) {
        vm.deal(owner, owner.balance + fee);
        vm.prank(owner);
        key = book.createOrder{value: fee}(
            OrderBook.CreateOrderParams({
                subaccount: subaccount,
                marketId: marketId,
                orderType: orderType,
                reduceOnly: reduceOnly,
                sizeDelta: sizeDelta,
                triggerPrice: triggerPrice,
                acceptablePrice: acceptablePrice
            })
        );
    }

    /// @dev A conditional order with the minimum fee and no slippage bound.
    function conditionalOrder(
        address owner,
        uint16 subaccount,
        uint8 marketId,
        OrderBook.OrderType orderType,
        bool reduceOnly,
        int256 sizeDelta,
        uint256 triggerPrice
    ) internal returns (uint256 key) {
        return placeOrder(
            owner,
            subaccount,
            marketId,
            orderType,
            reduceOnly,
            sizeDelta,
            triggerPrice,
            sizeDelta > 0 ? type(uint256).max : 0,
            MIN_FEE
        );
    }

    /// @dev Round `n` of phase 1 of a mock feed.
    function round1(uint64 n) internal pure returns (uint80) {
        return uint80((uint256(1) << 64) | n);
    }

    /// @dev Executes the head of a market's queue at `roundId`, whose predecessor in the same phase is `roundId - 1`.
    function executeAt(address executor, uint8 marketId, uint80 roundId) internal {
        vm.prank(executor);
        book.executeOrder(marketId, roundId, roundId - 1);
    }

    /// @dev Reservation the order book computes for an order at `indexPrice` with the market's first tier.
    function expectedReservation(uint256 size, uint256 indexPrice, bool reduceOnly) internal pure returns (uint256) {
        OrderBook.OrderConfig memory c = defaultOrderConfig();
        uint256 buffered = _mulDivUp(indexPrice, WAD + c.marginBuffer, WAD);
        uint256 notional = _mulDivUp(size, buffered, WAD);
        uint256 rate = 0.0005e18 + 0.005e18 + (reduceOnly ? 0 : defaultTiers()[0].imr);
        uint256 units = _mulDivUp(_mulDivUp(notional, rate, WAD), 1, 1e12);
        return units * 1e12;
    }

    function _mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return (x * y + d - 1) / d;
    }
}
