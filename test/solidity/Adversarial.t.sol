// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./utils/OrderBookFixture.sol";
import {Test} from "./utils/Test.sol";
import {CallbackToken, ITokenTransferHook} from "../../contracts/mocks/CallbackToken.sol";
import {Vault} from "../../contracts/Vault.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {ClearingEngine} from "../../contracts/ClearingEngine.sol";
import {Governance} from "../../contracts/Governance.sol";
import {Liquidator} from "../../contracts/Liquidator.sol";
import {PoolValuation} from "../../contracts/PoolValuation.sol";
import {OrderBook} from "../../contracts/OrderBook.sol";

/// @dev During a token transfer, tries to re-enter the engine: withdraw from its own account.
contract ReenteringHook is ITokenTransferHook {
    ClearingEngine public immutable engine;
    bool public armed;
    bool public reentered;
    bytes public reentryError;

    constructor(ClearingEngine engine_) {
        engine = engine_;
    }

    function arm() external {
        armed = true;
    }

    function onTokenTransfer(address, address, uint256) external {
        if (!armed) return;
        armed = false;
        try engine.withdraw(0, 1, address(this)) {
            reentered = true;
        } catch (bytes memory reason) {
            reentryError = reason;
        }
    }

    function deposit(CallbackToken token, Vault vault, uint256 amount) external {
        token.approve(address(vault), amount);
        engine.deposit(address(this), 0, amount);
    }
}

/// @dev A trader contract that refuses native tokens: its orders must still execute and cancel.
contract RefusingTrader {
    receive() external payable {
        revert("no thanks");
    }

    function order(OrderBook book, OrderBook.CreateOrderParams calldata p) external payable returns (uint256) {
        return book.createOrder{value: msg.value}(p);
    }
}

contract ReentrancyTest is Test {
    function test_reentrancyThroughATokenWithATransferCallback_isBlockedByTheEngine() public {
        CallbackToken token = new CallbackToken();
        Vault vault = new Vault(token, address(this));
        ClearingEngine engine = new ClearingEngine(
            vault,
            address(this),
            address(new Governance(vault)),
            address(new Liquidator(vault)),
            address(new PoolValuation(vault))
        );
        vault.grantRole(vault.OPERATOR_ROLE(), address(engine));
        ReenteringHook hook = new ReenteringHook(engine);
        token.mint(address(hook), 1_000e6);
        hook.deposit(token, vault, 500e6);
        token.setHook(address(hook));
        hook.arm();
        hook.deposit(token, vault, 500e6);
        assertFalse(hook.reentered(), "the nested withdraw did not go through");
        assertEq(
            keccak256(hook.reentryError()),
            keccak256(abi.encodeWithSignature("ReentrancyGuardReentrantCall()")),
            "stopped by the reentrancy guard"
        );
        assertEq(token.balanceOf(address(vault)), 1_000e6, "the vault holds both deposits");
        assertEq(engine.getAccount(1).collateral, int256(1_000e18), "credited once each");
    }
}

contract AdversarialOrdersTest is OrderBookFixture {
    function setUp() public {
        setUpOrderBook();
    }

    /// @dev Pushing the skew to trip another trader's slippage bound costs the attacker the
    /// impact and fees, while the victim's penalty goes to the pool, not to the attacker.
    function test_movingTheSkewToTripSomeonesSlippageCostsMoreThanItEarns() public {
        uint40 victim = depositFor(alice, 0, 100_000e6);
        uint40 attacker = depositFor(bob, 0, 1_000_000e6);
        // The victim buys 100 ETH with a tight bound: 3,000.2 (impact at zero skew: 3000 * 100/2e6 = 0.15).
        marketOrder(alice, 0, ETH, 100e18, 3000.2e18);
        vm.warp(block.timestamp + 1);
        uint80 fillRound = ethFeed.setPrice(3000e8);
        // Best case for the attacker: its big buy fills first, at the same round, before the
        // victim's execution (the queue forbids this; the fill is forced through the engine).
        int256 attackerBefore = engine.getAccount(attacker).collateral;
        vm.prank(address(book));
        engine.fill(EngineBase.FillRequest(attacker, ETH, false, 2_000e18, 3000e18, type(uint256).max, 0, 0));
        (uint64 head,) = book.queues(ETH);
        OrderBook.Order memory o = book.getOrder(book.queuedKey(ETH, head));
        int256 poolBefore = engine.poolCash();
        book.executeOrder(ETH, fillRound, o.anchorRoundId);
        assertEq(engine.getPosition(victim, ETH).size, 0, "the victim's order was cancelled by the moved skew");
        // The attacker unwinds at the same price: the close shrinks the skew, at the index.
        vm.prank(address(book));
        engine.fill(EngineBase.FillRequest(attacker, ETH, true, -2_000e18, 3000e18, 0, 0, 0));
        int256 attackerAfter = engine.getAccount(attacker).collateral;
        assertLt(attackerAfter, attackerBefore, "the attack lost money");
        assertGt(engine.poolCash(), poolBefore, "the penalty and the attacker's impact went to the pool");
    }

    /// @dev Fees and refunds are credits: an owner that refuses native tokens cannot make its
    /// order's execution or cancel revert.
    function test_aRevertingFeeRecipientNeverBlocksTheQueue() public {
        RefusingTrader trader = new RefusingTrader();
        uint40 id = depositFor(address(trader), 0, 10_000e6);
        vm.deal(address(this), 1 ether);
        trader.order{value: MIN_FEE}(
            book,
            OrderBook.CreateOrderParams({
                subaccount: 0,
                marketId: ETH,
                orderType: OrderBook.OrderType.Market,
                reduceOnly: false,
                sizeDelta: 1e18,
                triggerPrice: 0,
                acceptablePrice: type(uint256).max
            })
        );
        (uint64 head,) = book.queues(ETH);
        OrderBook.Order memory o = book.getOrder(book.queuedKey(ETH, head));
        vm.warp(block.timestamp + 2 hours); // past maxOrderAge: the first round expires the order
        uint80 late = ethFeed.setPrice(3000e8);
        book.executeOrder(ETH, late, o.anchorRoundId);
        assertEq(engine.getPosition(id, ETH).size, 0, "expired, not filled");
        assertEq(book.nativeCredits(address(trader)), MIN_FEE - MIN_FEE / 10, "the refund is a credit");
        (uint64 headAfter,) = book.queues(ETH);
        assertEq(headAfter, head + 1, "the queue moved on");
    }
}
