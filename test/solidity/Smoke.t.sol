// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
import {Test} from "./utils/Test.sol";
import {MathLib} from "../../contracts/libraries/MathLib.sol";
contract SmokeTest is Test {
    function test_warp() public { vm.warp(1000); assertEq(block.timestamp, 1000, "warp"); }
    function testFuzz_mulDivUpGeDown(uint256 x, uint256 y) public pure {
        x = bound(x, 0, 1e40); y = bound(y, 0, 1e30);
        assertGe(MathLib.mulDivUp(x, y, 7), MathLib.mulDivDown(x, y, 7), "up>=down");
    }
}
