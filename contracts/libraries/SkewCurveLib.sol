// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MathLib} from "./MathLib.sol";

/// @title SkewCurveLib
/// @notice The one-sided price curve on the pool's skew (SPEC section 4). The part of a trade
/// that grows |K| pays the average premium across the skew it adds, `index * (a + b) / (2S)`
/// per unit (capped at kMax) plus the taker fee; the part that shrinks |K| fills at the index
/// and pays the maker fee. Impact is charged, never paid, so moving the skew and back costs
/// money.
library SkewCurveLib {
    using MathLib for uint256;

    struct Quote {
        uint256 shrinkSize; // part of |sizeDelta| that shrinks |K|
        uint256 growSize; // part of |sizeDelta| that grows |K|
        uint256 impactUsd; // price impact charged (WAD USD, rounded up)
        uint256 takerFeeUsd; // fee on the growing part (rounded up)
        uint256 makerFeeUsd; // fee on the shrinking part (rounded up)
        uint256 fillPrice; // average price including impact: above the index for buys, below for sells
    }

    /// @param skew long minus short open interest before the trade (size units, WAD)
    /// @param sizeDelta signed trade size (long > 0)
    /// @param price index price of the fill (WAD)
    function quote(
        int256 skew,
        int256 sizeDelta,
        uint256 price,
        uint256 skewScale,
        uint256 kMax,
        uint256 takerFee,
        uint256 makerFee
    ) internal pure returns (Quote memory q) {
        uint256 size = MathLib.abs(sizeDelta);
        uint256 skewAbs = MathLib.abs(skew);
        // A trade against the skew shrinks |K| until K reaches zero, then grows it on the other side.
        bool against = (skew > 0 && sizeDelta < 0) || (skew < 0 && sizeDelta > 0);
        q.shrinkSize = against ? MathLib.min(size, skewAbs) : 0;
        q.growSize = size - q.shrinkSize;
        q.fillPrice = price;
        if (q.growSize != 0) {
            uint256 from = against ? 0 : skewAbs;
            uint256 to = from + q.growSize;
            uint256 growNotional = q.growSize.mulDivUp(price, MathLib.WAD);
            // Average premium (from + to) / 2S, capped at kMax so no close ever pays more.
            uint256 premiumTimes2S = from + to;
            if (premiumTimes2S.mulDivUp(MathLib.WAD, 2 * skewScale) > kMax) {
                q.impactUsd = growNotional.mulDivUp(kMax, MathLib.WAD);
            } else {
                q.impactUsd = growNotional.mulDivUp(premiumTimes2S, 2 * skewScale);
            }
            q.takerFeeUsd = growNotional.mulDivUp(takerFee, MathLib.WAD);
            uint256 impactPerUnit = q.impactUsd.mulDivUp(MathLib.WAD, size);
            q.fillPrice = sizeDelta > 0 ? price + impactPerUnit : price - impactPerUnit;
        }
        if (q.shrinkSize != 0) {
            q.makerFeeUsd = q.shrinkSize.mulDivUp(price, MathLib.WAD).mulDivUp(makerFee, MathLib.WAD);
        }
    }
}
