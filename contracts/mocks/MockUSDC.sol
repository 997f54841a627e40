// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MockUSDC
/// @notice Test settlement token: 6 decimals, EIP-2612 permit (domain name "USD Coin", version "1"),
/// and a mint anyone can call.
contract MockUSDC is ERC20, ERC20Permit {
    constructor() ERC20("USD Coin", "USDC") ERC20Permit("USD Coin") {}

    /// @notice Mints `amount` to `to`; open to anyone (tests only).
    /// @param to The recipient.
    /// @param amount The amount in token units (6 decimals).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice 6, like USDC.
    /// @return The token's decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
