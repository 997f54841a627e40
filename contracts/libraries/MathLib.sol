// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title MathLib
/// @notice The protocol's one fixed-point library. Values are WAD (18 decimals). Every function
/// names its rounding: `Down`/`Up` round an unsigned result toward zero/away from zero, `Floor`/
/// `Ceil` round a signed result toward minus/plus infinity. Call sites pick the direction that
/// goes against the party initiating the action (SPEC section 1): what a user owes rounds up,
/// what a user receives rounds down.
library MathLib {
    uint256 internal constant WAD = 1e18;

    /// @dev x * y / d rounded down, exact on 512-bit intermediates.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    /// @dev x * y / d rounded up, exact on 512-bit intermediates.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD);
    }

    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD, Math.Rounding.Ceil);
    }

    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y);
    }

    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y, Math.Rounding.Ceil);
    }

    /// @dev x * y / d for a signed x, rounded toward minus infinity.
    function mulDivFloor(int256 x, uint256 y, uint256 d) internal pure returns (int256) {
        if (x >= 0) return SafeCast.toInt256(Math.mulDiv(uint256(x), y, d));
        return -SafeCast.toInt256(Math.mulDiv(abs(x), y, d, Math.Rounding.Ceil));
    }

    /// @dev x * y / d for a signed x, rounded toward plus infinity.
    function mulDivCeil(int256 x, uint256 y, uint256 d) internal pure returns (int256) {
        if (x >= 0) return SafeCast.toInt256(Math.mulDiv(uint256(x), y, d, Math.Rounding.Ceil));
        return -SafeCast.toInt256(Math.mulDiv(abs(x), y, d));
    }

    function wMulFloor(int256 x, uint256 y) internal pure returns (int256) {
        return mulDivFloor(x, y, WAD);
    }

    function wMulCeil(int256 x, uint256 y) internal pure returns (int256) {
        return mulDivCeil(x, y, WAD);
    }

    /// @dev Converts a token amount to WAD; exact for tokens with at most 18 decimals.
    function toWad(uint256 amount, uint8 decimals) internal pure returns (uint256) {
        return amount * 10 ** (18 - decimals);
    }

    /// @dev Converts WAD to token units, rounded down (what a user receives).
    function fromWadDown(uint256 wad, uint8 decimals) internal pure returns (uint256) {
        return wad / 10 ** (18 - decimals);
    }

    /// @dev Converts WAD to token units, rounded up (what a user owes).
    function fromWadUp(uint256 wad, uint8 decimals) internal pure returns (uint256) {
        // Math.ceilDiv, not (wad + unit - 1) / unit, which overflows for wad near 2**256.
        return Math.ceilDiv(wad, 10 ** (18 - decimals));
    }

    /// @dev |x|; defined for type(int256).min too (2**255 fits a uint256, while -x would overflow).
    function abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-(x + 1)) + 1;
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    function minInt(int256 a, int256 b) internal pure returns (int256) {
        return a < b ? a : b;
    }

    function maxInt(int256 a, int256 b) internal pure returns (int256) {
        return a > b ? a : b;
    }

    /// @dev Positive part of x.
    function pos(int256 x) internal pure returns (uint256) {
        return x > 0 ? uint256(x) : 0;
    }

    function toInt(uint256 x) internal pure returns (int256) {
        return SafeCast.toInt256(x);
    }
}
