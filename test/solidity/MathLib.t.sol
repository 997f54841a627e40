// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MathLib} from "../../contracts/libraries/MathLib.sol";

/// @dev External entry points, so that reverts inside the (inlined) library can be expected.
contract MathLibHarness {
    function wMulDown(uint256 x, uint256 y) external pure returns (uint256) {
        return MathLib.wMulDown(x, y);
    }

    function mulDivFloor(int256 x, uint256 y, uint256 d) external pure returns (int256) {
        return MathLib.mulDivFloor(x, y, d);
    }

    function mulDivDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return MathLib.mulDivDown(x, y, d);
    }

    function toWad(uint256 amount, uint8 decimals) external pure returns (uint256) {
        return MathLib.toWad(amount, decimals);
    }

    function toInt(uint256 x) external pure returns (int256) {
        return MathLib.toInt(x);
    }
}

contract MathLibTest is Test {
    uint256 internal constant WAD = 1e18;
    /// Sizes and prices the protocol must handle without overflow: 1e30 raw WAD units (1e12 whole units).
    uint256 internal constant MAX_VALUE = 1e30;

    MathLibHarness internal harness = new MathLibHarness();

    // ---------------------------------------------------------------- worked examples

    function test_workedExamples_unsigned() public pure {
        assertEq(MathLib.wMulUp(1, 1), 1, "wMulUp(1,1): 1e-36 rounds up to 1 wei");
        assertEq(MathLib.wMulDown(1, 1), 0, "wMulDown(1,1): 1e-36 rounds down to 0");
        assertEq(MathLib.wMulDown(1.5e18, 2e18), 3e18, "1.5 * 2 = 3");
        assertEq(MathLib.wMulDown(3, 0.5e18), 1, "3 wei * 0.5 = 1.5 -> 1");
        assertEq(MathLib.wMulUp(3, 0.5e18), 2, "3 wei * 0.5 = 1.5 -> 2");
        assertEq(MathLib.wDivDown(1e18, 3e18), 333333333333333333, "1/3 down");
        assertEq(MathLib.wDivUp(1e18, 3e18), 333333333333333334, "1/3 up");
        assertEq(MathLib.wDivDown(6e18, 2e18), 3e18, "6/2 exact");
        assertEq(MathLib.wDivUp(6e18, 2e18), 3e18, "6/2 exact up");
        assertEq(MathLib.mulDivDown(7, 1, 2), 3, "7/2 down");
        assertEq(MathLib.mulDivUp(7, 1, 2), 4, "7/2 up");
        assertEq(MathLib.mulDivUp(0, 5, 3), 0, "0 up is 0");
    }

    function test_workedExamples_signed() public pure {
        assertEq(MathLib.mulDivFloor(-7, 1, 2), -4, "-3.5 floor");
        assertEq(MathLib.mulDivCeil(-7, 1, 2), -3, "-3.5 ceil");
        assertEq(MathLib.mulDivFloor(7, 1, 2), 3, "3.5 floor");
        assertEq(MathLib.mulDivCeil(7, 1, 2), 4, "3.5 ceil");
        assertEq(MathLib.mulDivFloor(-8, 1, 2), -4, "-4 exact floor");
        assertEq(MathLib.mulDivCeil(-8, 1, 2), -4, "-4 exact ceil");
        assertEq(MathLib.wMulFloor(-1, 1), -1, "-1e-36 floors to -1 wei");
        assertEq(MathLib.wMulCeil(-1, 1), 0, "-1e-36 ceils to 0");
        assertEq(MathLib.wMulFloor(-2e18, 1.5e18), -3e18, "-2 * 1.5");
        assertEq(MathLib.wMulCeil(1, 1), 1, "1e-36 ceils to 1 wei");
    }

    function test_workedExamples_decimals() public pure {
        assertEq(MathLib.toWad(1, 6), 1e12, "1 USDC wei = 1e12 WAD wei");
        assertEq(MathLib.toWad(1_500_000, 6), 1.5e18, "1.5 USDC");
        assertEq(MathLib.toWad(1, 0), 1e18, "0-decimal token");
        assertEq(MathLib.fromWadDown(1, 6), 0, "1 WAD wei pays 0 USDC wei");
        assertEq(MathLib.fromWadUp(1, 6), 1, "1 WAD wei owes 1 USDC wei");
        assertEq(MathLib.fromWadDown(1.5e18 + 1, 6), 1_500_000, "down drops the dust");
        assertEq(MathLib.fromWadUp(1.5e18 + 1, 6), 1_500_001, "up charges the dust");
        assertEq(MathLib.fromWadUp(1.5e18, 6), 1_500_000, "exact stays exact");
        assertEq(MathLib.fromWadDown(1, 18), 1, "18 decimals is identity (down)");
        assertEq(MathLib.fromWadUp(1, 18), 1, "18 decimals is identity (up)");
    }

    function test_workedExamples_helpers() public pure {
        assertEq(MathLib.abs(-5), 5, "abs(-5)");
        assertEq(MathLib.abs(5), 5, "abs(5)");
        assertEq(MathLib.abs(0), 0, "abs(0)");
        assertEq(MathLib.abs(type(int256).min), uint256(1) << 255, "abs(int256.min) = 2**255");
        assertEq(MathLib.abs(type(int256).max), uint256(type(int256).max), "abs(int256.max)");
        assertEq(MathLib.pos(-5), 0, "pos(-5)");
        assertEq(MathLib.pos(5), 5, "pos(5)");
        assertEq(MathLib.pos(0), 0, "pos(0)");
        assertEq(MathLib.pos(type(int256).min), 0, "pos(int256.min)");
        assertEq(MathLib.min(2, 3), 2, "min");
        assertEq(MathLib.max(2, 3), 3, "max");
        assertEq(MathLib.minInt(-2, 3), -2, "minInt");
        assertEq(MathLib.maxInt(-2, 3), 3, "maxInt");
        assertEq(MathLib.toInt(uint256(type(int256).max)), type(int256).max, "toInt at the bound");
    }

    /// The edge values that reverted before the fix: abs(int256.min) and fromWadUp near 2**256.
    function test_edgeValues_doNotOverflow() public pure {
        assertEq(MathLib.mulDivFloor(type(int256).min, 1, 2), -(int256(1) << 254), "int256.min / 2 floor");
        assertEq(MathLib.mulDivCeil(type(int256).min, 1, 2), -(int256(1) << 254), "int256.min / 2 ceil");
        assertEq(MathLib.fromWadUp(type(uint256).max, 6), type(uint256).max / 1e12 + 1, "fromWadUp(max)");
        assertEq(MathLib.fromWadUp(type(uint256).max, 18), type(uint256).max, "fromWadUp(max, 18)");
    }

    // ---------------------------------------------------------------- stated limits

    function test_revert_toIntAboveInt256Max() public {
        vm.expectRevert();
        harness.toInt(uint256(type(int256).max) + 1);
    }

    function test_revert_toWadWithMoreThan18Decimals() public {
        vm.expectRevert();
        harness.toWad(1, 19);
    }

    function test_revert_divisionByZero() public {
        vm.expectRevert();
        harness.mulDivDown(1, 1, 0);
    }

    /// The documented ceiling: two values of 1e30 whole units (1e48 raw) overflow the result.
    function test_revert_wMulBeyondTheLimit() public {
        vm.expectRevert();
        harness.wMulDown(1e48, 1e48);
    }

    function test_revert_mulDivFloorResultBelowInt256() public {
        vm.expectRevert();
        harness.mulDivFloor(type(int256).min, 2, 1);
    }

    // ---------------------------------------------------------------- unsigned rounding

    function testFuzz_mulDiv_upIsDownOrDownPlusOne(uint256 x, uint256 y, uint256 d) public pure {
        x = bound(x, 0, 1e38);
        y = bound(y, 0, 1e38);
        d = bound(d, 1, type(uint128).max);
        uint256 down = MathLib.mulDivDown(x, y, d);
        uint256 up = MathLib.mulDivUp(x, y, d);
        assertGe(up, down, "up >= down");
        assertLe(up - down, 1, "up - down <= 1");
        // Bracket: down * d <= x * y < (down + 1) * d (no overflow: x * y <= 1e76).
        assertLe(down * d, x * y, "down * d <= x * y");
        assertLt(x * y, (down + 1) * d, "x * y < (down + 1) * d");
        assertGe(up * d, x * y, "up * d >= x * y");
        assertEq(up == down, (x * y) % d == 0, "up == down iff exact");
    }

    /// The direct path (a product below 2**256) and the 512-bit path agree with Math.mulDiv on the
    /// whole domain: unbounded inputs overflow the product about half the time.
    function testFuzz_mulDiv_matchesFullPrecision(uint256 x, uint256 y, uint256 d, bool small) public pure {
        d = bound(d, 1, type(uint256).max);
        if (small) (x, y) = (bound(x, 0, type(uint128).max), bound(y, 0, type(uint128).max));
        (uint256 high,) = Math.mul512(x, y);
        // Math.mulDiv reverts when the quotient does not fit: keep the inputs where it does.
        if (high >= d) return;
        assertEq(MathLib.mulDivDown(x, y, d), Math.mulDiv(x, y, d), "down = Math.mulDiv");
        assertEq(MathLib.mulDivUp(x, y, d), Math.mulDiv(x, y, d, Math.Rounding.Ceil), "up = Math.mulDiv ceil");
    }

    function test_mulDiv_bothPathsAtTheOverflowEdge() public pure {
        uint256 root = type(uint128).max;
        // (2**128 - 1)**2 fits 256 bits: the direct path.
        assertEq(MathLib.mulDivDown(root, root, root), root, "direct path, exact");
        assertEq(MathLib.mulDivUp(root, root, root - 1), root + 2, "direct path, rounded up");
        // 2**128 * 2**128 overflows: the 512-bit path.
        assertEq(MathLib.mulDivDown(root + 1, root + 1, root + 1), root + 1, "512-bit path, exact");
        assertEq(MathLib.mulDivDown(type(uint256).max, 3, 4), type(uint256).max / 4 * 3 + 2, "512-bit path, down");
        assertEq(MathLib.mulDivUp(type(uint256).max, 3, 4), type(uint256).max / 4 * 3 + 3, "512-bit path, up");
    }

    function testFuzz_mulDiv_exactWhenDivisible(uint256 q, uint256 y, uint256 d) public pure {
        d = bound(d, 1, 1e30);
        q = bound(q, 0, 1e30);
        y = bound(y, 1, 1e15);
        // x * y = q * d * y, so (x * y) / d = q * y exactly.
        uint256 x = q * d;
        assertEq(MathLib.mulDivDown(x, y, d), q * y, "down exact");
        assertEq(MathLib.mulDivUp(x, y, d), q * y, "up exact");
    }

    function testFuzz_wMul_rounding(uint256 x, uint256 y) public pure {
        x = bound(x, 0, 1e38);
        y = bound(y, 0, 1e38);
        uint256 down = MathLib.wMulDown(x, y);
        uint256 up = MathLib.wMulUp(x, y);
        assertEq(down, (x * y) / WAD, "wMulDown = floor(x * y / WAD)");
        assertGe(up, down, "up >= down");
        assertLe(up - down, 1, "up - down <= 1");
        assertEq(up, down + ((x * y) % WAD == 0 ? 0 : 1), "wMulUp = ceil");
        assertEq(MathLib.wMulDown(x, WAD), x, "x * 1 = x (down)");
        assertEq(MathLib.wMulUp(x, WAD), x, "x * 1 = x (up)");
    }

    function testFuzz_wDiv_rounding(uint256 x, uint256 y) public pure {
        x = bound(x, 0, 1e50);
        y = bound(y, 1, 1e50);
        uint256 down = MathLib.wDivDown(x, y);
        uint256 up = MathLib.wDivUp(x, y);
        assertEq(down, (x * WAD) / y, "wDivDown = floor(x * WAD / y)");
        assertGe(up, down, "up >= down");
        assertLe(up - down, 1, "up - down <= 1");
        assertLe(down * y, x * WAD, "down * y <= x * WAD");
        assertGe(up * y, x * WAD, "up * y >= x * WAD");
        assertEq(MathLib.wDivDown(x, WAD), x, "x / 1 = x (down)");
        assertEq(MathLib.wDivUp(x, WAD), x, "x / 1 = x (up)");
    }

    /// Rounding goes the stated way on a round trip: x * y / y never exceeds x when rounded down.
    function testFuzz_wMulThenWDiv_downNeverGains(uint256 x, uint256 y) public pure {
        x = bound(x, 0, MAX_VALUE);
        y = bound(y, 1, MAX_VALUE);
        assertLe(MathLib.wDivDown(MathLib.wMulDown(x, y), y), x, "down round trip <= x");
        assertGe(MathLib.wDivUp(MathLib.wMulUp(x, y), y), x, "up round trip >= x");
    }

    // ---------------------------------------------------------------- signed rounding

    function testFuzz_mulDivSigned_floorAndCeil(int256 x, uint256 y, uint256 d) public pure {
        x = boundInt(x, -1e38, 1e38);
        y = bound(y, 0, 1e38);
        d = bound(d, 1, type(uint128).max);
        int256 floor = MathLib.mulDivFloor(x, y, d);
        int256 ceil = MathLib.mulDivCeil(x, y, d);
        assertLe(floor, ceil, "floor <= ceil");
        assertLe(uint256(ceil - floor), 1, "ceil - floor <= 1");
        // Bracket in exact integer arithmetic: floor * d <= x * y <= ceil * d (|x * y| <= 1e76).
        int256 product = x * int256(y);
        assertLe(floor * int256(d), product, "floor * d <= x * y");
        assertGt((floor + 1) * int256(d), product, "(floor + 1) * d > x * y");
        assertGe(ceil * int256(d), product, "ceil * d >= x * y");
        assertLt((ceil - 1) * int256(d), product, "(ceil - 1) * d < x * y");
        assertEq(ceil == floor, product % int256(d) == 0, "floor == ceil iff exact");
    }

    function testFuzz_mulDivSigned_symmetry(uint256 a, uint256 y, uint256 d) public pure {
        a = bound(a, 0, 1e38);
        y = bound(y, 0, 1e38);
        d = bound(d, 1, type(uint128).max);
        int256 x = int256(a);
        assertEq(MathLib.mulDivFloor(-x, y, d), -MathLib.mulDivCeil(x, y, d), "floor(-x) = -ceil(x)");
        assertEq(MathLib.mulDivCeil(-x, y, d), -MathLib.mulDivFloor(x, y, d), "ceil(-x) = -floor(x)");
        assertEq(MathLib.mulDivFloor(x, y, d), int256(MathLib.mulDivDown(a, y, d)), "floor = down for x >= 0");
        assertEq(MathLib.mulDivCeil(x, y, d), int256(MathLib.mulDivUp(a, y, d)), "ceil = up for x >= 0");
        assertEq(MathLib.wMulFloor(-x, y), -MathLib.wMulCeil(x, y), "wMulFloor(-x) = -wMulCeil(x)");
        assertEq(MathLib.wMulFloor(x, y), MathLib.mulDivFloor(x, y, WAD), "wMulFloor = mulDivFloor by WAD");
        assertEq(MathLib.wMulCeil(x, y), MathLib.mulDivCeil(x, y, WAD), "wMulCeil = mulDivCeil by WAD");
    }

    function testFuzz_mulDivSigned_exactWhenDivisible(int256 q, uint256 y, uint256 d) public pure {
        q = boundInt(q, -1e30, 1e30);
        y = bound(y, 1, 1e15);
        d = bound(d, 1, 1e30);
        int256 x = q * int256(d);
        assertEq(MathLib.mulDivFloor(x, y, d), q * int256(y), "floor exact");
        assertEq(MathLib.mulDivCeil(x, y, d), q * int256(y), "ceil exact");
    }

    // ---------------------------------------------------------------- no overflow within the stated bounds

    /// Size (1e30 WAD raw) times price (1e30 WAD raw) by WAD never reverts, in any rounding.
    function testFuzz_noOverflow_sizeTimesPrice(uint256 size, uint256 price, bool negative) public pure {
        size = bound(size, 0, MAX_VALUE);
        price = bound(price, 0, MAX_VALUE);
        MathLib.wMulDown(size, price);
        MathLib.wMulUp(size, price);
        MathLib.mulDivDown(size, price, WAD);
        MathLib.mulDivUp(size, price, WAD);
        int256 signedSize = negative ? -int256(size) : int256(size);
        MathLib.wMulFloor(signedSize, price);
        MathLib.wMulCeil(signedSize, price);
        MathLib.wDivDown(size, price + 1);
        MathLib.wDivUp(size, price + 1);
        MathLib.toWad(MathLib.fromWadUp(size, 6), 6);
    }

    /// Far above the stated bound: raw values up to 1e47 (1e29 whole units) still fit a wMul.
    function testFuzz_noOverflow_headroom(uint256 x, uint256 y, bool negative) public pure {
        x = bound(x, 0, 1e47);
        y = bound(y, 0, 1e47);
        uint256 up = MathLib.wMulUp(x, y);
        int256 floor = MathLib.wMulFloor(negative ? -int256(x) : int256(x), y);
        assertEq(MathLib.abs(floor), negative ? up : MathLib.wMulDown(x, y), "signed magnitude");
    }

    // ---------------------------------------------------------------- decimals

    function testFuzz_decimals_roundTripFromToken(uint256 amount, uint8 decimals) public pure {
        decimals = uint8(bound(decimals, 0, 18));
        amount = bound(amount, 0, 1e40);
        uint256 wad = MathLib.toWad(amount, decimals);
        assertEq(wad, amount * 10 ** (18 - decimals), "toWad scales");
        assertEq(MathLib.fromWadDown(wad, decimals), amount, "token -> wad -> token (down)");
        assertEq(MathLib.fromWadUp(wad, decimals), amount, "token -> wad -> token (up)");
    }

    function testFuzz_decimals_roundTripFromWad(uint256 wad, bool sixDecimals) public pure {
        uint8 decimals = sixDecimals ? 6 : 18;
        uint256 unit = 10 ** (18 - decimals);
        wad = bound(wad, 0, 1e60);
        uint256 down = MathLib.fromWadDown(wad, decimals);
        uint256 up = MathLib.fromWadUp(wad, decimals);
        assertLe(MathLib.toWad(down, decimals), wad, "what a user receives is never more than owed to him");
        assertGt(MathLib.toWad(down, decimals) + unit, wad, "down loses less than one token unit");
        assertGe(MathLib.toWad(up, decimals), wad, "what a user owes is never less than the debt");
        assertLt(MathLib.toWad(up, decimals), wad + unit, "up charges less than one extra token unit");
        assertEq(up - down, wad % unit == 0 ? 0 : 1, "up = down + (dust ? 1 : 0)");
    }

    function testFuzz_decimals_oddAmounts6(uint256 whole) public pure {
        whole = bound(whole, 0, 1e30);
        // One USDC wei above a whole amount, and one WAD wei above that.
        uint256 amount = whole * 1e6 + 1;
        uint256 wad = MathLib.toWad(amount, 6);
        assertEq(wad, whole * 1e18 + 1e12, "1 wei of USDC is 1e12 WAD wei");
        assertEq(MathLib.fromWadDown(wad + 1, 6), amount, "1 WAD wei of dust is dropped when paying");
        assertEq(MathLib.fromWadUp(wad + 1, 6), amount + 1, "1 WAD wei of dust costs 1 USDC wei when owed");
        assertEq(MathLib.fromWadDown(wad - 1, 6), amount - 1, "1 WAD wei short pays 1 USDC wei less");
        assertEq(MathLib.fromWadUp(wad - 1, 6), amount, "1 WAD wei short still owes the amount");
    }

    // ---------------------------------------------------------------- helpers

    function testFuzz_absAndPos(int256 x) public pure {
        uint256 a = MathLib.abs(x);
        uint256 p = MathLib.pos(x);
        if (x >= 0) {
            assertEq(a, uint256(x), "abs of non-negative");
            assertEq(p, uint256(x), "pos of non-negative");
        } else {
            assertEq(p, 0, "pos of negative");
            assertGt(a, 0, "abs of negative > 0");
            if (x != type(int256).min) assertEq(a, uint256(-x), "abs of negative");
            if (x != type(int256).min) assertEq(MathLib.abs(-x), a, "abs(-x) = abs(x)");
        }
        assertLe(p, a, "pos <= abs");
    }

    function testFuzz_minMax(uint256 a, uint256 b, int256 c, int256 d) public pure {
        uint256 lo = MathLib.min(a, b);
        uint256 hi = MathLib.max(a, b);
        assertLe(lo, hi, "min <= max");
        assertTrue((lo == a && hi == b) || (lo == b && hi == a), "min and max are the inputs");
        assertLe(lo, a, "min <= a");
        assertLe(lo, b, "min <= b");
        assertGe(hi, a, "max >= a");
        assertGe(hi, b, "max >= b");
        int256 loI = MathLib.minInt(c, d);
        int256 hiI = MathLib.maxInt(c, d);
        assertLe(loI, hiI, "minInt <= maxInt");
        assertTrue((loI == c && hiI == d) || (loI == d && hiI == c), "minInt and maxInt are the inputs");
        assertLe(loI, c, "minInt <= c");
        assertGe(hiI, d, "maxInt >= d");
    }

    function testFuzz_toInt(uint256 x) public pure {
        x = bound(x, 0, uint256(type(int256).max));
        assertEq(uint256(MathLib.toInt(x)), x, "toInt is exact");
    }
}
