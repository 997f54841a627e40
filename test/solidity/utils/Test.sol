// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev The cheatcodes Hardhat's Solidity test runner provides (the Foundry-compatible subset
/// these tests use).
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function deal(address who, uint256 amount) external;
    function expectRevert() external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(bool t1, bool t2, bool t3, bool data) external;
    function expectEmit(bool t1, bool t2, bool t3, bool data, address emitter) external;
    function assume(bool condition) external pure;
    function label(address who, string calldata name) external;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function record() external;
    function accesses(address target) external returns (bytes32[] memory reads, bytes32[] memory writes);
    function snapshotState() external returns (uint256);
    function revertToState(uint256 id) external returns (bool);
}

/// @dev Minimal test base: cheatcodes, bounded fuzz inputs and assertions that revert with the
/// values on failure.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what);
    error AssertionFailedUint(string what, uint256 left, uint256 right);
    error AssertionFailedInt(string what, int256 left, int256 right);
    error AssertionFailedAddress(string what, address left, address right);

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }

    function assertFalse(bool condition, string memory what) internal pure {
        if (condition) revert AssertionFailed(what);
    }

    function assertEq(uint256 left, uint256 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedUint(what, left, right);
    }

    function assertEq(int256 left, int256 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedInt(what, left, right);
    }

    function assertEq(address left, address right, string memory what) internal pure {
        if (left != right) revert AssertionFailedAddress(what, left, right);
    }

    function assertEq(bool left, bool right, string memory what) internal pure {
        if (left != right) revert AssertionFailed(what);
    }

    function assertEq(bytes32 left, bytes32 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedUint(what, uint256(left), uint256(right));
    }

    function assertGe(uint256 left, uint256 right, string memory what) internal pure {
        if (left < right) revert AssertionFailedUint(what, left, right);
    }

    function assertLe(uint256 left, uint256 right, string memory what) internal pure {
        if (left > right) revert AssertionFailedUint(what, left, right);
    }

    function assertGt(uint256 left, uint256 right, string memory what) internal pure {
        if (left <= right) revert AssertionFailedUint(what, left, right);
    }

    function assertLt(uint256 left, uint256 right, string memory what) internal pure {
        if (left >= right) revert AssertionFailedUint(what, left, right);
    }

    function assertGe(int256 left, int256 right, string memory what) internal pure {
        if (left < right) revert AssertionFailedInt(what, left, right);
    }

    function assertLe(int256 left, int256 right, string memory what) internal pure {
        if (left > right) revert AssertionFailedInt(what, left, right);
    }

    function assertGt(int256 left, int256 right, string memory what) internal pure {
        if (left <= right) revert AssertionFailedInt(what, left, right);
    }

    function assertLt(int256 left, int256 right, string memory what) internal pure {
        if (left >= right) revert AssertionFailedInt(what, left, right);
    }

    /// @dev Maps any fuzz input into [lo, hi] without rejecting runs.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (lo > hi) revert AssertionFailedUint("bound: lo > hi", lo, hi);
        if (x >= lo && x <= hi) return x;
        uint256 span = hi - lo;
        if (span == type(uint256).max) return x;
        return lo + (x % (span + 1));
    }

    function boundInt(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        if (lo > hi) revert AssertionFailedInt("boundInt: lo > hi", lo, hi);
        if (x >= lo && x <= hi) return x;
        uint256 span = uint256(hi - lo);
        uint256 offset = uint256(x < 0 ? -(x + 1) : x) % (span + 1);
        return lo + int256(offset);
    }
}
