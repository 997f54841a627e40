// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What the clearing engine needs from the order book.
interface IOrderBook {
    /// @notice Cancels every pending order of a liquidated account; their execution fees are
    /// credited to `liquidator`. Only the clearing engine calls it.
    function cancelAccountOrders(uint40 accountId, address liquidator) external;
}
