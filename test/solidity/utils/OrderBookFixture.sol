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
            OrderBook.MarketOrderConfig({minExecutionFee: uint96(MIN_FEE), minNotionalUsd: 10e18, maxSize: 1_000_000e18});
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
}
