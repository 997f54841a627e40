// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Receives a call from CallbackToken on every transfer.
interface ITokenTransferHook {
    /// @notice Called after the balances of a transfer or transferFrom have moved.
    /// @param from The sender.
    /// @param to The recipient.
    /// @param amount The amount moved.
    function onTokenTransfer(address from, address to, uint256 amount) external;
}

/// @title CallbackToken
/// @notice Test token with 6 decimals that, on every transfer and transferFrom (not mints or burns),
/// calls `onTokenTransfer` on a configurable hook after moving the balances, like ERC-777 hooks do.
/// Used to attempt reentrancy into protocol contracts; a revert in the hook reverts the transfer.
contract CallbackToken is ERC20 {
    /// @notice The contract called on every transfer; zero disables the callback.
    address public hook;

    constructor() ERC20("Callback Token", "CBT") {}

    /// @notice Sets the hook called on every transfer; zero disables it. Open to anyone (tests only).
    /// @param hook_ The hook contract.
    function setHook(address hook_) external {
        hook = hook_;
    }

    /// @notice Mints `amount` to `to`; open to anyone (tests only).
    /// @param to The recipient.
    /// @param amount The amount in token units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice 6, like the settlement token it stands in for.
    /// @return The token's decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hook != address(0) && from != address(0) && to != address(0)) {
            ITokenTransferHook(hook).onTokenTransfer(from, to, value);
        }
    }
}
