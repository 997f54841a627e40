// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";

contract EngineSmokeTest is EngineFixture {
    function setUp() public {
        setUpEngine();
    }

    function test_openAndCloseAtSamePriceLosesFeesAndImpact() public {
        uint40 a = depositFor(alice, 0, 1_000e6);
        EngineBase.FillResult memory open = fillAt(a, ETH, 1e18, 3000e18);
        (EngineBase.Health memory h,) = liquidator.accountHealth(a);
        assertEq(h.positionCount, 1, "one position");
        EngineBase.FillResult memory close = fillAt(a, ETH, -1e18, 3000e18);
        int256 collateral = engine.getAccount(a).collateral;
        int256 expected = 1_000e18 - int256(open.feeUsd + open.impactUsd + close.feeUsd + close.impactUsd);
        assertEq(collateral, expected, "collateral");
    }
}
