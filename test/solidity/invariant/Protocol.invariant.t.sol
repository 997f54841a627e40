// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoolFixture} from "../utils/PoolFixture.sol";
import {Handler} from "./Handler.sol";
import {EngineBase} from "../../../contracts/EngineBase.sol";
import {Governance} from "../../../contracts/Governance.sol";
import {PoolValuation} from "../../../contracts/PoolValuation.sol";

/// @notice SPEC section 9: what must always hold, over random sequences of deposits,
/// withdrawals, orders, executions, price moves, time warps, funding settlements, liquidations,
/// LP requests and epoch settlements.
contract ProtocolInvariantTest is PoolFixture {
    Handler internal handler;

    function setUp() public {
        setUpPool();
        // A first LP so that trades have a counterparty from the start.
        requestDepositFor(address(0x1901), 5_000_000e6);
        settleCurrentEpoch(3000e18, 60_000e18);
        claimShares(address(0x1901));
        usdc.mint(address(this), 100_000e6);
        usdc.approve(address(vault), 100_000e6);
        governance.fundInsurance(100_000e6);
        // Built last: it records every round posted from here on to prove fill rounds.
        handler = new Handler(usdc, vault, engine, book, pool, ethFeed, btcFeed, address(this));
        // The handler pauses and resumes opening for the paused-exit action.
        governance.grantRole(engine.GUARDIAN_ROLE(), address(handler));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev 9.1: the vault's token balance covers every ledger entry.
    function invariant_vaultBalanceCoversTheLedger() public view {
        uint256 ledger = uint256(engine.totalCollateral() + int256(engine.totalDebt())) + engine.insuranceFund()
            + engine.treasury() + pool.pendingDepositAssets() + pool.claimableAssets();
        int256 cash = engine.poolCash();
        assertGe(cash, int256(0), "pool cash is never negative");
        ledger += uint256(cash);
        for (uint256 i; i < 3; ++i) {
            ledger += engine.keeperCredits(handler.traders(i));
        }
        ledger += engine.keeperCredits(address(handler));
        assertGe(usdc.balanceOf(address(vault)) * 1e12, ledger, "vault balance covers the ledger");
    }

    /// @dev 9.2: per market, open interest equals the sum of position sizes on each side; 9.3:
    /// the aggregates that value funding and borrowing equal the sums over positions, so what
    /// positions owe is exactly what the pool counts as owed to it.
    function invariant_openInterestAndAccrualAggregatesMatchPositions() public view {
        uint256 reservedSum;
        int256 receivableSum;
        for (uint8 m; m < 2; ++m) {
            EngineBase.MarketState memory s = governance.marketState(m);
            uint256 longs;
            uint256 shorts;
            int256 fundingProducts;
            uint256 borrowProducts;
            int256 costs;
            for (uint256 i; i < 3; ++i) {
                uint40 id = engine.accountIdOf(handler.traders(i), 0);
                if (id == 0) continue;
                EngineBase.Position memory p = engine.getPosition(id, m);
                if (p.size > 0) longs += uint256(int256(p.size));
                else shorts += uint256(-int256(p.size));
                fundingProducts += int256(p.size) * p.fundingSnap;
                borrowProducts += (p.size >= 0 ? uint256(int256(p.size)) : uint256(-int256(p.size))) * p.borrowSnap;
                costs += p.cost;
            }
            assertEq(uint256(s.longSize), longs, "long open interest");
            assertEq(uint256(s.shortSize), shorts, "short open interest");
            assertEq(s.fundingSnapSum, fundingProducts, "funding aggregate");
            assertEq(s.borrowSnapSum, borrowProducts, "borrowing aggregate");
            assertEq(s.costSum, costs, "cost aggregate");
            uint256 largerSide = s.longSize > s.shortSize ? s.longSize : s.shortSize;
            reservedSum += (largerSide * s.lastPrice + 1e18 - 1) / 1e18;
            int256 skew = int256(uint256(s.longSize)) - int256(uint256(s.shortSize));
            int256 fundingOwed = skew * s.cumFunding - s.fundingSnapSum;
            receivableSum += fundingOwed / 1e18 - (fundingOwed % 1e18 < 0 ? int256(1) : int256(0));
            receivableSum += int256(((uint256(s.longSize) + s.shortSize) * s.cumBorrow - s.borrowSnapSum) / 1e18);
        }
        // The O(1) totals the reserve check and the profit cap read equal the per-market sums.
        (uint256 reservedUsd, int256 receivable) = PoolValuation(address(engine)).poolTotals();
        assertEq(reservedUsd, reservedSum, "reserved notional total");
        assertEq(receivable, receivableSum, "receivable total");
    }

    /// @dev 9.4: no account is liquidatable right after an action that required E >= IM.
    function invariant_noAccountLiquidatableRightAfterAMarginCheckedAction() public view {
        assertEq(handler.breachesMarginAction(), 0, handler.firstBreach());
    }

    /// @dev 9.5: the share price never drops because of another LP's deposit or redemption.
    function invariant_sharePriceNeverDropsThroughLpFlows() public view {
        assertEq(handler.breachesSharePrice(), 0, handler.firstBreach());
    }

    /// @dev 9.6: collateral moves by realized PnL - fees - impact - funding - borrowing, and a
    /// withdrawal pays exactly what it debits.
    function invariant_exitsPayExactlyCollateralPlusRealizedPnl() public view {
        assertEq(handler.breachesExactAccounting(), 0, handler.firstBreach());
    }

    /// @dev 9.7: closing and withdrawing work while opening is paused (liquidation: 9.9 check).
    function invariant_exitsWorkWhileOpeningIsPaused() public view {
        assertEq(handler.breachesPausedExit(), 0, handler.firstBreach());
        assertFalse(engine.openingPaused(), "the handler resumes opening");
    }

    /// @dev 9.8: fills use the first round after the order, in queue order; a right proof fills.
    /// And a liquidation finds every pending order (SPEC 6): the engine's latest market order is
    /// pending while kept, and an account with pending orders tells the liquidation to look.
    function invariant_fillsUseTheFirstRoundInQueueOrder() public view {
        assertEq(handler.breachesFillRound(), 0, handler.firstBreach());
        for (uint256 i; i < 3; ++i) {
            uint40 id = engine.accountIdOf(handler.traders(i), 0);
            if (id == 0) continue;
            EngineBase.Account memory account = engine.getAccount(id);
            if (account.latestMarketOrder != 0) {
                assertEq(uint256(book.getOrder(account.latestMarketOrder).accountId), id, "the engine's order is pending");
            }
            if (book.pendingOrders(id).length != 0) {
                assertTrue(account.latestMarketOrder != 0 || account.usesOrderTable, "pending orders are found");
            }
        }
    }

    /// @dev 9.9: no account's equity moves when another trades; fresh positions show no profit;
    /// liquidatable accounts can always be liquidated.
    function invariant_othersEquityNeverMovesAndFreshPositionsShowNoProfit() public view {
        assertEq(handler.breachesIsolation(), 0, handler.firstBreach());
    }
}
