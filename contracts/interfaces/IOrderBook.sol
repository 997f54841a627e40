// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What the clearing engine needs from the order book.
interface IOrderBook {
    /// @notice Cancels every pending order of a liquidated account; their execution fees are
    /// credited to `liquidator`. Only the clearing engine calls it.
    /// @param accountId the account
    /// @param latestMarketOrder the account's latest market order, which the engine keeps (0: none)
    /// @param liquidator who earns the fees
    function cancelAccountOrders(uint40 accountId, uint256 latestMarketOrder, address liquidator) external;
}
