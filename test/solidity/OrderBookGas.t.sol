// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./utils/OrderBookFixture.sol";
import {Vm} from "./utils/Test.sol";
import {OrderBook} from "../../contracts/OrderBook.sol";
import {MockAggregator} from "../../contracts/mocks/MockAggregator.sol";

/// @dev A feed whose latest-round read costs `burn` gas (a heavy but working proxy), in front of
/// a mock aggregator.
contract SlowFeed {
    MockAggregator public immutable inner;
    uint256 public immutable burn;

    constructor(MockAggregator inner_, uint256 burn_) {
        inner = inner_;
        burn = burn_;
    }

    function decimals() external view returns (uint8) {
        return inner.decimals();
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        uint256 start = gasleft();
        while (start - gasleft() < burn) {}
        return inner.latestRoundData();
    }

    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        return inner.getRoundData(roundId);
    }
}

/// @dev An executor must not be able to turn a binding order into a penalty-free cancel by
/// giving the execution just too little gas for the engine's feed reads (SPEC section 6: once
/// the fill price exists nobody can back out; ChainlinkLib: a caller cannot starve a feed call).
contract OrderBookGasTest is OrderBookFixture {
    uint8 internal constant SLOW_MARKETS = 5;

    error CancelledWith(uint256 gas, bytes reason);

    function setUp() public {
        setUpOrderBook();
    }

    function test_starvingTheEnginesFeedReadsNeverCancelsABindingOrder() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        OrderBook.MarketOrderConfig memory bounds =
            OrderBook.MarketOrderConfig({minExecutionFee: uint64(MIN_FEE), minNotionalUsd: 10e18, maxSize: 1_000_000e18});
        // Alice holds positions in markets whose feeds are expensive to read, so the engine's
        // margin check of a fill reads feeds late in the call.
        uint256 time = START;
        for (uint8 i; i < SLOW_MARKETS; ++i) {
            MockAggregator inner = new MockAggregator(8, "SLOW / USD");
            inner.setPrice(3000e8);
            SlowFeed feed = new SlowFeed(inner, 180_000);
            uint8 marketId = governance.listMarket(defaultMarketConfig(address(feed), 1_000_000e18), defaultTiers());
            book.setMarketOrderConfig(marketId, bounds);
            marketOrder(alice, 0, marketId, 0.01e18, type(uint256).max);
            vm.warp(++time);
            inner.setPrice(3000e8);
            executeAt(keeper, marketId, round1(2));
            assertEq(int256(engine.getPosition(a, marketId).size), 0.01e18, "slow market position");
        }
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        vm.warp(time + 10);
        setPrice(ethFeed, 2900e18);
        bytes memory call = abi.encodeCall(OrderBook.executeOrder, (ETH, round1(2), round1(1)));

        uint256 successes;
        for (uint256 gas = 400_000; gas <= 3_000_000; gas += 5_000) {
            uint256 snapshot = vm.snapshotState();
            vm.recordLogs();
            (bool ok,) = address(book).call{gas: gas}(call);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (ok) {
                ++successes;
                if (engine.getPosition(a, ETH).size != 1e18) {
                    for (uint256 i; i < logs.length; ++i) {
                        if (logs[i].topics[0] == OrderBook.OrderCancelled.selector) {
                            (, bytes memory reason,) = abi.decode(logs[i].data, (uint8, bytes, uint256));
                            revert CancelledWith(gas, reason);
                        }
                    }
                    revert AssertionFailedUint("executed without filling, with gas", gas, 0);
                }
            }
            vm.revertToState(snapshot);
        }
        assertGt(successes, 0, "some gas is enough");
    }
}
