// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MathLib} from "./MathLib.sol";

/// @title FundingLib
/// @notice Funding and borrowing rates (SPEC sections 4 and 5). Funding is instantaneous:
/// `clamp(K / S + interestRate, -cap, +cap)` per interval for the current skew, accrued per
/// second into a per-unit-size index at the latest price, so it never lags the skew. Borrowing
/// follows a kinked curve on utilization with a floor and accrues per unit of |size|.
library FundingLib {
    uint256 internal constant YEAR = 365 days;

    /// @return rate funding rate per interval (WAD, positive: longs pay)
    /// @return premium K / S (WAD)
    function fundingRate(int256 skew, uint256 skewScale, int256 interestRate, uint256 cap)
        internal
        pure
        returns (int256 rate, int256 premium)
    {
        premium = MathLib.mulDivFloor(skew, MathLib.WAD, skewScale);
        rate = premium + interestRate;
        int256 capInt = MathLib.toInt(cap);
        if (rate > capInt) rate = capInt;
        if (rate < -capInt) rate = -capInt;
    }

    /// @notice Funding per unit of size accrued over `dt` seconds at `price` (USD WAD, signed).
    function fundingPerUnit(int256 rate, uint256 price, uint256 dt, uint256 interval) internal pure returns (int256) {
        return MathLib.mulDivFloor(rate, price * dt, interval * MathLib.WAD);
    }

    /// @notice Yearly borrowing rate (WAD) at utilization `u` (WAD): `floor` at 0, `kinkRate` at `kink`,
    /// `maxRate` at 1, linear in between; above 1 it stays at `maxRate`.
    function borrowRate(uint256 u, uint256 floor, uint256 kink, uint256 kinkRate, uint256 maxRate)
        internal
        pure
        returns (uint256)
    {
        if (u >= MathLib.WAD) return maxRate;
        if (u <= kink) return floor + (kinkRate - floor).mulDivUp(u, kink);
        return kinkRate + (maxRate - kinkRate).mulDivUp(u - kink, MathLib.WAD - kink);
    }

    /// @notice Borrowing per unit of |size| accrued over `dt` seconds at `price` (USD WAD), rounded up.
    function borrowPerUnit(uint256 yearlyRate, uint256 price, uint256 dt) internal pure returns (uint256) {
        return yearlyRate.mulDivUp(price * dt, YEAR * MathLib.WAD);
    }

    using MathLib for uint256;
}
