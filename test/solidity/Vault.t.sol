// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Vault} from "../../contracts/Vault.sol";
import {MathLib} from "../../contracts/libraries/MathLib.sol";
import {MockUSDC} from "../../contracts/mocks/MockUSDC.sol";
import {FeeOnTransferToken} from "../../contracts/mocks/FeeOnTransferToken.sol";
import {CallbackToken, ITokenTransferHook} from "../../contracts/mocks/CallbackToken.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @dev Reports success from transfer and transferFrom without moving anything.
contract NoopTransferToken is ERC20 {
    constructor() ERC20("Noop", "NOOP") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function transfer(address, uint256) public pure override returns (bool) {
        return true;
    }

    function transferFrom(address, address, uint256) public pure override returns (bool) {
        return true;
    }
}

/// @dev Charges the sender 1% on top of every transfer (burned); the recipient receives the full amount.
contract SenderFeeToken is ERC20 {
    constructor() ERC20("Sender Fee", "SFEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to != address(0)) super._update(from, address(0), value / 100);
    }
}

/// @dev Claims 19 decimals.
contract Decimals19Token {
    function decimals() external pure returns (uint8) {
        return 19;
    }
}

/// @dev A CallbackToken hook that tries once to re-enter the vault during a transfer. With `swallow`
/// it records the nested call's revert data and lets the outer transfer finish; without, it bubbles it.
contract ReentrantHook is ITokenTransferHook {
    enum Action {
        None,
        Pull,
        Push
    }

    Vault public immutable vault;
    Action public action;
    bool public swallow;
    address public target;
    uint256 public amount;
    bool public nestedSucceeded;
    bytes public nestedRevertData;

    constructor(Vault vault_) {
        vault = vault_;
    }

    function arm(Action action_, address target_, uint256 amount_, bool swallow_) external {
        action = action_;
        target = target_;
        amount = amount_;
        swallow = swallow_;
    }

    function onTokenTransfer(address, address, uint256) external {
        Action a = action;
        if (a == Action.None) return;
        action = Action.None;
        bytes memory data = a == Action.Pull
            ? abi.encodeCall(Vault.pull, (target, amount))
            : abi.encodeCall(Vault.push, (target, amount));
        (bool ok, bytes memory ret) = address(vault).call(data);
        nestedSucceeded = ok;
        nestedRevertData = ret;
        if (!ok && !swallow) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

contract VaultTest is Test {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    MockUSDC internal usdc;
    Vault internal vault;
    bytes32 internal operatorRole;

    address internal admin = address(0xAD);
    address internal operator = address(0x0FE);
    address internal alice = address(0xA1);
    address internal bob = address(0xB0B);
    address internal stranger = address(0x5757);

    function setUp() public {
        usdc = new MockUSDC();
        vault = new Vault(IERC20(address(usdc)), admin);
        operatorRole = vault.OPERATOR_ROLE();
        vm.prank(admin);
        vault.grantRole(operatorRole, operator);
        usdc.mint(alice, 1_000_000e6);
        vm.prank(alice);
        usdc.approve(address(vault), type(uint256).max);
    }

    // ---------------------------------------------------------------- construction

    function test_constructor_readsDecimalsAndGrantsAdmin() public view {
        assertEq(address(vault.token()), address(usdc), "token");
        assertEq(uint256(vault.tokenDecimals()), 6, "decimals read from the token");
        assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), admin), "admin holds DEFAULT_ADMIN_ROLE");
        assertFalse(vault.hasRole(operatorRole, admin), "admin is not an operator by default");
        assertEq(operatorRole, keccak256("OPERATOR_ROLE"), "role id");
    }

    function test_constructor_rejectsTokenWithMoreThan18Decimals() public {
        address token19 = address(new Decimals19Token());
        vm.expectRevert(abi.encodeWithSelector(Vault.UnsupportedDecimals.selector, uint8(19)));
        new Vault(IERC20(token19), admin);
    }

    function test_constructor_rejectsZeroAdminAndZeroToken() public {
        vm.expectRevert(Vault.ZeroAddress.selector);
        new Vault(IERC20(address(usdc)), address(0));
        vm.expectRevert(Vault.ZeroAddress.selector);
        new Vault(IERC20(address(0)), admin);
    }

    // ---------------------------------------------------------------- only operators move tokens

    function test_onlyOperator_pull() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, operatorRole)
        );
        vm.prank(stranger);
        vault.pull(alice, 1e6);
    }

    function test_onlyOperator_pullWithPermit() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, operatorRole)
        );
        vm.prank(stranger);
        vault.pullWithPermit(alice, 1e6, block.timestamp, 27, bytes32(0), bytes32(0));
    }

    function test_onlyOperator_push() public {
        _pull(alice, 10e6);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, operatorRole)
        );
        vm.prank(stranger);
        vault.push(stranger, 1e6);
    }

    function test_onlyOperator_adminIsNotAnOperator() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, operatorRole)
        );
        vm.prank(admin);
        vault.pull(alice, 1e6);
    }

    function test_onlyOperator_revokedOperatorLosesAccess() public {
        vm.prank(admin);
        vault.revokeRole(operatorRole, operator);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, operator, operatorRole)
        );
        vm.prank(operator);
        vault.pull(alice, 1e6);
    }

    function test_onlyAdmin_grantsOperator() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        vault.grantRole(operatorRole, stranger);
    }

    // ---------------------------------------------------------------- exact pull and push

    function test_pull_movesExactlyTheAmount() public {
        uint256 aliceBefore = usdc.balanceOf(alice);
        vm.expectEmit();
        emit Vault.Pulled(operator, alice, 123_456_789);
        _pull(alice, 123_456_789);
        assertEq(usdc.balanceOf(address(vault)), 123_456_789, "vault received the amount");
        assertEq(usdc.balanceOf(alice), aliceBefore - 123_456_789, "alice paid the amount");
    }

    function test_push_movesExactlyTheAmount() public {
        _pull(alice, 500e6);
        vm.expectEmit();
        emit Vault.Pushed(operator, bob, 200_000_001);
        _push(bob, 200_000_001);
        assertEq(usdc.balanceOf(bob), 200_000_001, "bob received the amount");
        assertEq(usdc.balanceOf(address(vault)), 500e6 - 200_000_001, "vault sent the amount");
    }

    function test_oddAmounts_oneWeiPullAndPush() public {
        _pull(alice, 1);
        assertEq(usdc.balanceOf(address(vault)), 1, "1 wei pulled");
        _push(bob, 1);
        assertEq(usdc.balanceOf(bob), 1, "1 wei pushed");
        assertEq(usdc.balanceOf(address(vault)), 0, "vault empty");
    }

    function testFuzz_oddAmounts_pullThenPushExact(uint256 amount, uint256 out) public {
        amount = bound(amount, 1, usdc.balanceOf(alice));
        out = bound(out, 1, amount);
        _pull(alice, amount);
        _push(bob, out);
        assertEq(usdc.balanceOf(address(vault)), amount - out, "vault keeps the difference");
        assertEq(usdc.balanceOf(bob), out, "bob got exactly out");
    }

    function test_pull_withoutAllowanceReverts() public {
        usdc.mint(bob, 10e6);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, 10e6)
        );
        _pull(bob, 10e6);
    }

    function test_push_moreThanHeldReverts() public {
        _pull(alice, 5e6);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, address(vault), 5e6, 5e6 + 1)
        );
        _push(bob, 5e6 + 1);
    }

    // ---------------------------------------------------------------- zero amounts and addresses

    function test_zeroAmount_pullRejected() public {
        vm.expectRevert(Vault.ZeroAmount.selector);
        _pull(alice, 0);
    }

    function test_zeroAmount_pullWithPermitRejected() public {
        vm.expectRevert(Vault.ZeroAmount.selector);
        vm.prank(operator);
        vault.pullWithPermit(alice, 0, block.timestamp, 27, bytes32(0), bytes32(0));
    }

    function test_zeroAmount_pushRejected() public {
        _pull(alice, 5e6);
        vm.expectRevert(Vault.ZeroAmount.selector);
        _push(bob, 0);
    }

    function test_push_toZeroAddressRejected() public {
        _pull(alice, 5e6);
        vm.expectRevert(Vault.ZeroAddress.selector);
        _push(address(0), 1e6);
    }

    /// Pushing to the vault itself leaves its balance unchanged, which the exactness check catches.
    function test_push_toTheVaultItselfRejected() public {
        _pull(alice, 5e6);
        vm.expectRevert(abi.encodeWithSelector(Vault.InexactTransfer.selector, 1e6, 0));
        _push(address(vault), 1e6);
    }

    // ---------------------------------------------------------------- inexact tokens

    function test_feeOnTransferTokenRejected_onPull() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        Vault fotVault = _vaultFor(address(fot));
        fot.mint(alice, 1000e6);
        vm.prank(alice);
        fot.approve(address(fotVault), 1000e6);

        vm.expectRevert(abi.encodeWithSelector(Vault.InexactTransfer.selector, 1000e6, 990e6));
        vm.prank(operator);
        fotVault.pull(alice, 1000e6);
        assertEq(fot.balanceOf(alice), 1000e6, "alice keeps her tokens");
        assertEq(fot.balanceOf(address(fotVault)), 0, "vault holds nothing");
    }

    /// Tokens already in the vault (sent directly) cannot leave short either: the recipient's balance is checked.
    function test_feeOnTransferTokenRejected_onPush() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        Vault fotVault = _vaultFor(address(fot));
        fot.mint(address(fotVault), 1000e6);

        vm.expectRevert(abi.encodeWithSelector(Vault.InexactTransfer.selector, 1000e6, 990e6));
        vm.prank(operator);
        fotVault.push(bob, 1000e6);
        assertEq(fot.balanceOf(address(fotVault)), 1000e6, "vault keeps its tokens");
        assertEq(fot.balanceOf(bob), 0, "bob received nothing");
    }

    /// The recipient gets the full amount but the vault pays 1% more: the vault's own balance is checked too.
    function test_senderFeeTokenRejected_onPush() public {
        SenderFeeToken sfee = new SenderFeeToken();
        Vault sfeeVault = _vaultFor(address(sfee));
        sfee.mint(address(sfeeVault), 2000e18);

        vm.expectRevert(abi.encodeWithSelector(Vault.InexactTransfer.selector, 1000e18, 1010e18));
        vm.prank(operator);
        sfeeVault.push(bob, 1000e18);
        assertEq(sfee.balanceOf(address(sfeeVault)), 2000e18, "vault keeps its tokens");
    }

    function test_tokenThatReportsSuccessWithoutMovingRejected() public {
        NoopTransferToken noop = new NoopTransferToken();
        Vault noopVault = _vaultFor(address(noop));
        noop.mint(address(noopVault), 10e18);

        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(Vault.InexactTransfer.selector, 7e18, 0));
        noopVault.pull(alice, 7e18);
        vm.expectRevert(abi.encodeWithSelector(Vault.InexactTransfer.selector, 7e18, 0));
        noopVault.push(bob, 7e18);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- reentrancy

    /// The hook (holding OPERATOR_ROLE, like a compromised or re-entered operator) tries to push out
    /// during a pull's transferFrom; the guard reverts the nested call and with it the whole pull.
    function test_reentrancyThroughATokenWithATransferCallback_pullBlocked() public {
        (CallbackToken cbt, Vault cbtVault, ReentrantHook hook) = _callbackSetup();
        cbt.mint(address(cbtVault), 50e6);
        hook.arm(ReentrantHook.Action.Push, address(hook), 50e6, false);

        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        vm.prank(operator);
        cbtVault.pull(alice, 100e6);

        assertEq(cbt.balanceOf(address(cbtVault)), 50e6, "vault balance unchanged");
        assertEq(cbt.balanceOf(alice), 1000e6, "alice balance unchanged");
        assertEq(cbt.balanceOf(address(hook)), 0, "hook got nothing");
    }

    /// The hook swallows the nested failure: the outer push completes exactly, the nested pull failed with
    /// ReentrancyGuardReentrantCall and moved nothing.
    function test_reentrancyThroughATokenWithATransferCallback_nestedCallFails() public {
        (CallbackToken cbt, Vault cbtVault, ReentrantHook hook) = _callbackSetup();
        vm.prank(operator);
        cbtVault.pull(alice, 100e6);
        hook.arm(ReentrantHook.Action.Pull, alice, 100e6, true);

        vm.prank(operator);
        cbtVault.push(bob, 40e6);

        assertFalse(hook.nestedSucceeded(), "nested pull failed");
        assertEq(
            keccak256(hook.nestedRevertData()),
            keccak256(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)),
            "nested call reverted ReentrancyGuardReentrantCall"
        );
        assertEq(cbt.balanceOf(address(cbtVault)), 60e6, "vault sent exactly the outer push");
        assertEq(cbt.balanceOf(bob), 40e6, "bob got exactly the outer push");
        assertEq(cbt.balanceOf(alice), 900e6, "alice was not pulled twice");
    }

    /// A re-entered pullWithPermit is blocked the same way.
    function test_reentrancyThroughATokenWithATransferCallback_permitPullBlocked() public {
        (CallbackToken cbt, Vault cbtVault, ReentrantHook hook) = _callbackSetup();
        cbt.mint(address(cbtVault), 10e6);
        hook.arm(ReentrantHook.Action.Push, address(hook), 10e6, false);

        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        vm.prank(operator);
        cbtVault.pullWithPermit(alice, 100e6, block.timestamp, 27, bytes32(0), bytes32(0));
        assertEq(cbt.balanceOf(address(cbtVault)), 10e6, "vault balance unchanged");
        assertEq(cbt.balanceOf(alice), 1000e6, "alice balance unchanged");
    }

    /// A hook without the role never gets past the access check.
    function test_reentrancyThroughATokenWithATransferCallback_nonOperatorHookRejected() public {
        (CallbackToken cbt, Vault cbtVault, ReentrantHook hook) = _callbackSetup();
        vm.prank(admin);
        cbtVault.revokeRole(operatorRole, address(hook));
        hook.arm(ReentrantHook.Action.Push, address(hook), 1e6, false);

        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(hook), operatorRole
            )
        );
        vm.prank(operator);
        cbtVault.pull(alice, 100e6);
        assertEq(cbt.balanceOf(address(cbtVault)), 0, "vault balance unchanged");
    }

    // ---------------------------------------------------------------- permit

    function test_permitPull_worksWithARealSignature() public {
        uint256 pk = 0xA11CE;
        address owner = vm.addr(pk);
        usdc.mint(owner, 77_000_001);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, owner, 77_000_001, deadline);

        vm.prank(operator);
        vault.pullWithPermit(owner, 77_000_001, deadline, v, r, s);

        assertEq(usdc.balanceOf(address(vault)), 77_000_001, "vault received the amount");
        assertEq(usdc.balanceOf(owner), 0, "owner paid the amount");
        assertEq(usdc.nonces(owner), 1, "permit consumed");
        assertEq(usdc.allowance(owner, address(vault)), 0, "allowance used up");
    }

    function test_permitPull_domainSeparatorIsEip712() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("USD Coin"),
                keccak256("1"),
                block.chainid,
                address(usdc)
            )
        );
        assertEq(usdc.DOMAIN_SEPARATOR(), expected, "domain separator");
    }

    /// Someone submits the permit first (front-run): the vault's permit call fails, the allowance is there.
    function test_permitPull_frontRunPermitStillPullsViaAllowance() public {
        uint256 pk = 0xB0B0;
        address owner = vm.addr(pk);
        usdc.mint(owner, 5e6);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, owner, 5e6, deadline);

        vm.prank(stranger);
        usdc.permit(owner, address(vault), 5e6, deadline, v, r, s);
        assertEq(usdc.allowance(owner, address(vault)), 5e6, "front-runner set the allowance");

        vm.prank(operator);
        vault.pullWithPermit(owner, 5e6, deadline, v, r, s);
        assertEq(usdc.balanceOf(address(vault)), 5e6, "pulled through the allowance");
        assertEq(usdc.balanceOf(owner), 0, "owner paid");
    }

    function test_permitPull_badSignatureWithoutAllowanceReverts() public {
        uint256 pk = 0xC0C0;
        address owner = vm.addr(pk);
        usdc.mint(owner, 5e6);
        uint256 deadline = block.timestamp + 1 hours;
        // Signed for 1 USDC, submitted for 5: the permit fails and there is no allowance to fall back to.
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, owner, 1e6, deadline);

        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, 5e6)
        );
        vm.prank(operator);
        vault.pullWithPermit(owner, 5e6, deadline, v, r, s);
        assertEq(usdc.balanceOf(owner), 5e6, "owner keeps his tokens");
    }

    function test_permitPull_expiredPermitWithoutAllowanceReverts() public {
        uint256 pk = 0xD0D0;
        address owner = vm.addr(pk);
        usdc.mint(owner, 5e6);
        vm.warp(1_000_000);
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, owner, 5e6, deadline);

        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, 5e6)
        );
        vm.prank(operator);
        vault.pullWithPermit(owner, 5e6, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- balance = pulls - pushes

    function testFuzz_balanceEqualsPullsMinusPushes(uint256 seed) public {
        uint256 pulled;
        uint256 pushed;
        uint256 supply = usdc.totalSupply();
        for (uint256 i = 0; i < 24; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 held = usdc.balanceOf(address(vault));
            // Amounts from 1 wei to ~1e5 USDC, skewed toward odd small values.
            uint256 amount = 1 + ((r >> 8) % (r % 3 == 0 ? 1_000 : 100_000e6));
            if (r % 2 == 0 || held == 0) {
                amount = MathLib.min(amount, usdc.balanceOf(alice));
                _pull(alice, amount);
                pulled += amount;
            } else {
                amount = MathLib.min(amount, held);
                _push((r >> 128) % 2 == 0 ? bob : alice, amount);
                pushed += amount;
            }
            assertEq(usdc.balanceOf(address(vault)), pulled - pushed, "vault balance = pulls - pushes");
        }
        assertEq(
            usdc.balanceOf(alice) + usdc.balanceOf(bob) + usdc.balanceOf(address(vault)),
            supply,
            "no token created or lost"
        );
    }

    // ---------------------------------------------------------------- helpers

    function _pull(address from, uint256 amount) internal {
        vm.prank(operator);
        vault.pull(from, amount);
    }

    function _push(address to, uint256 amount) internal {
        vm.prank(operator);
        vault.push(to, amount);
    }

    function _vaultFor(address token) internal returns (Vault v) {
        v = new Vault(IERC20(token), admin);
        vm.prank(admin);
        v.grantRole(operatorRole, operator);
    }

    function _callbackSetup() internal returns (CallbackToken cbt, Vault cbtVault, ReentrantHook hook) {
        cbt = new CallbackToken();
        cbtVault = _vaultFor(address(cbt));
        hook = new ReentrantHook(cbtVault);
        vm.prank(admin);
        cbtVault.grantRole(operatorRole, address(hook));
        cbt.mint(alice, 1000e6);
        vm.prank(alice);
        cbt.approve(address(cbtVault), type(uint256).max);
        cbt.setHook(address(hook));
    }

    function _signPermit(uint256 pk, address owner, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(vault), value, usdc.nonces(owner), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash));
        (v, r, s) = vm.sign(pk, digest);
    }
}
