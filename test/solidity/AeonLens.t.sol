// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./utils/OrderBookFixture.sol";
import {AeonLens} from "../../contracts/AeonLens.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {ChainlinkLib} from "../../contracts/libraries/ChainlinkLib.sol";

contract AeonLensTest is OrderBookFixture {
    AeonLens internal lens;

    function setUp() public {
        setUpOrderBook();
        lens = new AeonLens(engine, book);
    }

    function test_accountInOneCall_positionsHealthAndPendingOrders() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        vm.startPrank(address(book));
        engine.fill(EngineBase.FillRequest(a, ETH, false, 2e18, 3000e18, type(uint256).max, 0, 0));
        engine.fill(EngineBase.FillRequest(a, BTC, false, -0.1e18, 60_000e18, 0, 0, 0));
        vm.stopPrank();
        uint256 key = marketOrder(alice, 0, ETH, 1e18, type(uint256).max);

        AeonLens.AccountView memory v = lens.accountOf(alice, 0);
        assertEq(uint256(v.accountId), uint256(a), "account id");
        assertEq(v.account.owner, alice, "owner");
        assertEq(v.positions.length, 2, "two positions");
        assertEq(uint256(v.positions[0].marketId), uint256(ETH), "ETH first");
        assertEq(int256(v.positions[0].position.size), 2e18, "ETH size");
        assertEq(uint256(v.positions[1].marketId), uint256(BTC), "then BTC");
        assertEq(int256(v.positions[1].position.size), -0.1e18, "BTC size");
        (EngineBase.Health memory h, bool liquidatable) = liquidator.accountHealth(a);
        assertEq(v.health.equity, h.equity, "equity");
        assertEq(v.health.initialMargin, h.initialMargin, "initial requirement");
        assertEq(v.health.maintenanceMargin, h.maintenanceMargin, "maintenance requirement");
        assertEq(v.liquidatable, liquidatable, "flag");
        assertEq(v.pendingOrderKeys.length, 1, "one pending order");
        assertEq(v.pendingOrderKeys[0], key, "its key");
        assertEq(int256(v.pendingOrders[0].sizeDelta), 1e18, "its size");
        assertEq(uint256(v.account.reservedUnits) * 1e12, uint256(v.pendingOrders[0].reservation) * 1e12, "reservation");
    }

    function test_unknownAccountIsEmpty() public view {
        AeonLens.AccountView memory v = lens.accountOf(bob, 7);
        assertEq(uint256(v.accountId), 0, "no account");
        assertEq(v.positions.length, 0, "no positions");
    }

    function test_marketInOneCall() public {
        uint40 a = depositFor(alice, 0, 10_000e6);
        vm.prank(address(book));
        engine.fill(EngineBase.FillRequest(a, ETH, false, 2e18, 3000e18, type(uint256).max, 0, 0));
        marketOrder(alice, 0, ETH, 1e18, type(uint256).max);
        AeonLens.MarketView[] memory all = lens.markets();
        assertEq(all.length, 2, "both markets");
        AeonLens.MarketView memory v = all[ETH];
        assertEq(v.price, 3000e18, "price");
        assertTrue(v.status == ChainlinkLib.Status.Valid, "valid");
        assertEq(uint256(v.state.longSize), 2e18, "long open interest");
        assertEq(v.tiers.length, 3, "tiers");
        assertEq(uint256(v.config.skewScale), 1_000_000e18, "config");
        // rate = clamp(K / S + interest) = 2 / 1e6 + 0.0001
        assertEq(v.fundingRate, int256(2e18 * 1e18 / 1_000_000e18 + 0.0001e18), "funding rate");
        assertEq(v.nextFundingSettlement, START + 8 hours, "next settlement");
        assertEq(uint256(v.queueTail - v.queueHead), 1, "one queued order");
    }
}
