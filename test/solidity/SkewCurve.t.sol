// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {SkewCurveLib} from "../../contracts/libraries/SkewCurveLib.sol";

/// @dev SPEC section 4: the part of a trade that grows |K| from a to b pays
/// index * (a + b) / (2S) per unit (capped at kMax) and the taker fee; the part that shrinks |K|
/// fills at the index with the maker fee. S = 1,000,000, kMax 0.5%, taker 5 bps, maker 2 bps.
contract SkewCurveTest is EngineFixture {
    uint256 internal constant S = 1_000_000e18;
    uint256 internal constant KMAX = 0.005e18;
    uint256 internal constant TAKER = 0.0005e18;
    uint256 internal constant MAKER = 0.0002e18;

    function setUp() public {
        setUpEngine();
    }

    function _quote(int256 skew, int256 sizeDelta, uint256 price) internal pure returns (SkewCurveLib.Quote memory) {
        return SkewCurveLib.quote(skew, sizeDelta, price, S, KMAX, TAKER, MAKER);
    }

    /* --------------------------- worked examples --------------------------- */

    function test_growingFromZero_buy1000At3000() public pure {
        SkewCurveLib.Quote memory q = _quote(0, 1_000e18, 3000e18);
        // growNotional 3,000,000 * (0 + 1000) / (2 * 1e6) = 1,500
        assertEq(q.growSize, 1_000e18, "grow");
        assertEq(q.shrinkSize, 0, "shrink");
        assertEq(q.impactUsd, 1_500e18, "impact");
        assertEq(q.fillPrice, 3_001.5e18, "fill price");
        assertEq(q.takerFeeUsd, 1_500e18, "taker 5 bps of 3M");
        assertEq(q.makerFeeUsd, 0, "no maker fee");
    }

    function test_growingFromZero_sell1000At3000() public pure {
        SkewCurveLib.Quote memory q = _quote(0, -1_000e18, 3000e18);
        assertEq(q.impactUsd, 1_500e18, "impact");
        assertEq(q.fillPrice, 2_998.5e18, "fill price below the index");
        assertEq(q.takerFeeUsd, 1_500e18, "taker");
    }

    function test_growingFurther_buy1000FromSkew1000() public pure {
        SkewCurveLib.Quote memory q = _quote(1_000e18, 1_000e18, 3000e18);
        // 3,000,000 * (1000 + 2000) / 2e6 = 4,500
        assertEq(q.impactUsd, 4_500e18, "impact");
        assertEq(q.fillPrice, 3_004.5e18, "fill price");
    }

    function test_shrinking_fillsAtTheIndexWithTheMakerFee() public pure {
        SkewCurveLib.Quote memory q = _quote(1_000e18, -400e18, 3000e18);
        assertEq(q.shrinkSize, 400e18, "shrink");
        assertEq(q.growSize, 0, "grow");
        assertEq(q.impactUsd, 0, "no impact");
        assertEq(q.fillPrice, 3000e18, "index");
        assertEq(q.makerFeeUsd, 240e18, "1,200,000 * 2 bps");
        assertEq(q.takerFeeUsd, 0, "no taker fee");
    }

    function test_crossingZero_isSplit() public pure {
        SkewCurveLib.Quote memory q = _quote(1_000e18, -1_500e18, 3000e18);
        // 1000 shrink at the index (maker 600); 500 grow from 0 (impact 1.5M * 500 / 2e6 = 375, taker 750)
        assertEq(q.shrinkSize, 1_000e18, "shrink");
        assertEq(q.growSize, 500e18, "grow");
        assertEq(q.impactUsd, 375e18, "impact");
        assertEq(q.makerFeeUsd, 600e18, "maker");
        assertEq(q.takerFeeUsd, 750e18, "taker");
        assertEq(q.fillPrice, 2_999.75e18, "3000 - 375 / 1500");
    }

    function test_kMaxCapsThePremium() public pure {
        // growing 4000 -> 8000: average premium 0.6% > kMax 0.5%: impact 12,000,000 * 0.5%
        SkewCurveLib.Quote memory q = _quote(4_000e18, 4_000e18, 3000e18);
        assertEq(q.impactUsd, 60_000e18, "capped impact");
        assertEq(q.fillPrice, 3_015e18, "3000 * 1.005");
        // growing 4000 -> 6000: average premium exactly kMax: the same per unit
        q = _quote(4_000e18, 2_000e18, 3000e18);
        assertEq(q.impactUsd, 30_000e18, "at the cap");
    }

    function test_roundsUp_oneWei() public pure {
        SkewCurveLib.Quote memory q = _quote(0, 1, 3000e18);
        assertEq(q.impactUsd, 1, "impact of 1 wei rounds up to 1 wei");
        assertEq(q.takerFeeUsd, 2, "1.5 wei of fee rounds up to 2");
        q = _quote(5e18, -1, 3000e18);
        assertEq(q.makerFeeUsd, 1, "0.6 wei of maker fee rounds up to 1");
        assertEq(q.impactUsd, 0, "shrinking: no impact");
    }

    function test_roundsUp_oddSize() public pure {
        SkewCurveLib.Quote memory q = _quote(0, 1e18 + 1, 3000e18);
        // growNotional = 3000e18 + 3000; impact = (3000e18 + 3000)(1e18 + 1) / 2e24 = 1.5e15 + 0.003
        assertEq(q.impactUsd, 1_500_000_000_000_001, "impact rounded up");
        // fee = (3000e18 + 3000) * 5e14 / 1e18 = 1.5e18 + 1.5
        assertEq(q.takerFeeUsd, 1_500_000_000_000_000_002, "fee rounded up");
    }

    function test_engine_chargesTheQuoteToTheTrader() public {
        uint40 a = depositFor(alice, 0, 1_000_000e6);
        EngineBase.FillResult memory r = fillAt(a, ETH, 1_000e18, 3000e18);
        assertEq(r.fillPrice, 3_001.5e18, "fill price");
        assertEq(r.impactUsd, 1_500e18, "impact");
        assertEq(r.feeUsd, 1_500e18, "fee");
        assertEq(collateralOf(a), 1_000_000e18 - 3_000e18, "collateral pays impact and fee");
        assertEq(engine.getPosition(a, ETH).cost, 3_000_000e18, "cost basis at the index");
        // fee split: LPs 70%, insurance 20%, treasury 10%
        assertEq(engine.insuranceFund(), 300e18, "insurance share");
        assertEq(engine.treasury(), 150e18, "treasury share");
        assertLedgerCovered();
    }

    /* ------------------------------- fuzzing ------------------------------- */

    function testFuzz_quote_boundsAndDirection(int256 skew, int256 sizeDelta, uint256 price) public pure {
        skew = boundInt(skew, -10_000e18, 10_000e18);
        sizeDelta = boundInt(sizeDelta, -10_000e18, 10_000e18);
        vm.assume(sizeDelta != 0);
        price = bound(price, 1e18, 1_000_000e18);
        SkewCurveLib.Quote memory q = _quote(skew, sizeDelta, price);
        if (sizeDelta > 0) assertGe(q.fillPrice, price, "buys fill at or above the index");
        else assertLe(q.fillPrice, price, "sells fill at or below the index");
        uint256 size = sizeDelta > 0 ? uint256(sizeDelta) : uint256(-sizeDelta);
        assertEq(q.growSize + q.shrinkSize, size, "split covers the trade");
        // impact <= notional of the growing part * kMax (a few wei of rounding)
        uint256 capUsd = q.growSize * price / 1e18 * KMAX / 1e18;
        assertLe(q.impactUsd, capUsd + 3, "impact per unit <= kMax * price");
    }

    /// @dev Moving the skew and back never returns money: a trader who opens and closes at the
    /// same index ends with less, whatever the skew others left.
    function testFuzz_roundTrip_neverProfits(int256 othersSize, int256 size, uint256 price) public {
        othersSize = boundInt(othersSize, -300e18, 300e18);
        size = boundInt(size, -300e18, 300e18);
        vm.assume(size != 0);
        price = bound(price, 100e18, 10_000e18);
        setPrice(ethFeed, price);
        uint40 b = depositFor(bob, 0, 10_000_000e6);
        uint40 a = depositFor(alice, 0, 10_000_000e6);
        if (othersSize != 0) fillAt(b, ETH, othersSize, price);
        int256 before = collateralOf(a);
        fillAt(a, ETH, size, price);
        fillAt(a, ETH, -size, price);
        assertLt(collateralOf(a), before, "round trip costs money");
        // and the other way round: the other trader shifting the skew and back also pays
        before = collateralOf(b);
        fillAt(b, ETH, size, price);
        fillAt(b, ETH, -size, price);
        assertLt(collateralOf(b), before, "round trip costs money");
        assertLedgerCovered();
    }
}
