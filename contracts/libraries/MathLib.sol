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

    /// @dev x * y / d rounded down, exact. A product that fits 256 bits divides directly; Math.mulDiv's
    /// 512-bit path runs only when it overflows, or for d = 0, where it panics.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256 z) {
        bool direct;
        assembly ("memory-safe") {
            let product := mul(x, y)
            direct := and(gt(d, 0), or(iszero(x), eq(div(product, x), y)))
            z := div(product, d)
        }
        if (!direct) z = Math.mulDiv(x, y, d);
    }

    /// @dev x * y / d rounded up, exact (see `mulDivDown`).
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256 z) {
        bool direct;
        assembly ("memory-safe") {
            let product := mul(x, y)
            direct := and(gt(d, 0), or(iszero(x), eq(div(product, x), y)))
            // A remainder means d >= 2, so the quotient is below 2**255 and the + 1 cannot overflow.
            z := add(div(product, d), gt(mod(product, d), 0))
        }
        if (!direct) z = Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, y, WAD);
    }

    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, WAD, y);
    }

    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, WAD, y);
    }

    /// @dev x * y / d for a signed x, rounded toward minus infinity.
    function mulDivFloor(int256 x, uint256 y, uint256 d) internal pure returns (int256) {
        if (x >= 0) return SafeCast.toInt256(mulDivDown(uint256(x), y, d));
        return -SafeCast.toInt256(mulDivUp(abs(x), y, d));
    }

    /// @dev x * y / d for a signed x, rounded toward plus infinity.
    function mulDivCeil(int256 x, uint256 y, uint256 d) internal pure returns (int256) {
        if (x >= 0) return SafeCast.toInt256(mulDivUp(uint256(x), y, d));
        return -SafeCast.toInt256(mulDivDown(abs(x), y, d));
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
