// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test token with 6 decimals that burns 1% (rounded down) of every transfer, so the
/// recipient receives 99%. Mints and burns are fee-free. Used to check that the vault rejects it.
contract FeeOnTransferToken is ERC20 {
    uint256 public constant FEE_PERCENT = 1;

    constructor() ERC20("Fee On Transfer", "FOT") {}

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
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = (value * FEE_PERCENT) / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
