// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Vault
/// @notice The collateral vault (SPEC sections 2 and 8): holds the settlement token and is the only
/// contract of the protocol that transfers tokens. It moves tokens only on instruction of an
/// operator (the clearing engine, the liquidity pool) and only in exact amounts: any token whose
/// transfer does not move exactly the amount asked (fee-on-transfer, rebasing, malicious) is rejected.
/// @dev Users approve the vault, so every operator can pull from every approver: an operator must only
/// ever pass its own caller as `from`. The ledger lives in the operators; this contract keeps no state.
contract Vault is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice The settlement token.
    IERC20 public immutable token;
    /// @notice The settlement token's decimals, read at construction (at most 18).
    uint8 public immutable tokenDecimals;

    /// @notice A transfer changed a balance by `received` instead of `expected`: the vault's balance
    /// (pull and push) or the recipient's balance (push).
    error InexactTransfer(uint256 expected, uint256 received);
    error ZeroAmount();
    error ZeroAddress();
    error UnsupportedDecimals(uint8 decimals);

    event Pulled(address indexed operator, address indexed from, uint256 amount);
    event Pushed(address indexed operator, address indexed to, uint256 amount);

    /// @param token_ The settlement token (at most 18 decimals).
    /// @param admin Receives DEFAULT_ADMIN_ROLE, which grants and revokes OPERATOR_ROLE.
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        uint8 decimals = IERC20Metadata(address(token_)).decimals();
        if (decimals > 18) revert UnsupportedDecimals(decimals);
        token = token_;
        tokenDecimals = decimals;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- pull

    /// @notice Pulls exactly `amount` from `from`, who approved the vault.
    /// @dev Reverts InexactTransfer if the vault's balance did not grow by exactly `amount`.
    /// @param from The account the tokens come from.
    /// @param amount The amount in token units; zero reverts ZeroAmount.
    function pull(address from, uint256 amount) external onlyRole(OPERATOR_ROLE) nonReentrant {
        _pull(from, amount);
    }

    /// @notice Pulls exactly `amount` from `from` after submitting `from`'s EIP-2612 permit for the vault.
    /// @dev A permit that fails (most often because someone front-ran it, which already set the allowance)
    /// is ignored and the pull falls back to the allowance: a front-run cannot block the pull, and without
    /// enough allowance the token's transferFrom reverts.
    /// @param from The account the tokens come from and the permit's owner.
    /// @param amount The amount in token units, also the permit's value; zero reverts ZeroAmount.
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function pullWithPermit(address from, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
    {
        if (amount == 0) revert ZeroAmount();
        try IERC20Permit(address(token)).permit(from, address(this), amount, deadline, v, r, s) {} catch {}
        _pull(from, amount);
    }

    // ---------------------------------------------------------------- push

    /// @notice Sends exactly `amount` to `to`.
    /// @dev Reverts InexactTransfer if the vault's balance did not fall, or `to`'s balance did not grow,
    /// by exactly `amount`.
    /// @param to The recipient.
    /// @param amount The amount in token units; zero reverts ZeroAmount.
    function push(address to, uint256 amount) external onlyRole(OPERATOR_ROLE) nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();

        emit Pushed(msg.sender, to, amount);

        uint256 vaultBefore = token.balanceOf(address(this));
        uint256 toBefore = token.balanceOf(to);
        token.safeTransfer(to, amount);
        uint256 sent = _decrease(vaultBefore, token.balanceOf(address(this)));
        if (sent != amount) revert InexactTransfer(amount, sent);
        uint256 received = _increase(toBefore, token.balanceOf(to));
        if (received != amount) revert InexactTransfer(amount, received);
    }

    // ---------------------------------------------------------------- internal

    function _pull(address from, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();

        emit Pulled(msg.sender, from, amount);

        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = _increase(before, token.balanceOf(address(this)));
        if (received != amount) revert InexactTransfer(amount, received);
    }

    /// @dev A balance that moved the wrong way counts as zero, so the caller reports InexactTransfer, not a panic.
    function _increase(uint256 before, uint256 afterwards) private pure returns (uint256) {
        return afterwards > before ? afterwards - before : 0;
    }

    function _decrease(uint256 before, uint256 afterwards) private pure returns (uint256) {
        return before > afterwards ? before - afterwards : 0;
    }
}
