// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {MockUSDC} from "../../../contracts/mocks/MockUSDC.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {Vault} from "../../../contracts/Vault.sol";
import {EngineBase} from "../../../contracts/EngineBase.sol";
import {ClearingEngine} from "../../../contracts/ClearingEngine.sol";
import {Governance} from "../../../contracts/Governance.sol";
import {Liquidator} from "../../../contracts/Liquidator.sol";
import {PoolValuation} from "../../../contracts/PoolValuation.sol";
import {OrderBook} from "../../../contracts/OrderBook.sol";
import {LiquidityPool} from "../../../contracts/LiquidityPool.sol";
import {MathLib} from "../../../contracts/libraries/MathLib.sol";

/// @dev Drives the whole protocol for the invariant suite: trader deposits and withdrawals,
/// market orders and their executions at the first round after them, price moves, time warps,
/// funding settlements, liquidations, LP requests and epoch settlements, exits under pause.
/// Invariants about transitions (SPEC 9.4 to 9.9) are checked here, around each action, and any
/// breach is recorded; the suite's `invariant_*` functions assert none was.
contract Handler is Test {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant MIN_FEE = 0.0001 ether;
    uint256 internal constant MAX_ROUNDS = 256;

    MockUSDC internal immutable usdc;
    Vault internal immutable vault;
    ClearingEngine internal immutable engine;
    OrderBook internal immutable book;
    LiquidityPool internal immutable pool;
    MockAggregator[2] internal feeds;
    address internal immutable admin;

    address[3] public traders = [address(0x7001), address(0x7002), address(0x7003)];
    address[2] public lps = [address(0x1901), address(0x1902)];

    // Rounds this handler posted per market, to find each order's first round after it.
    struct PostedRound {
        uint80 roundId;
        uint64 startedAt;
    }

    mapping(uint8 => PostedRound[]) internal _rounds;
    uint256[2] public prices;

    // Breaches, by invariant; the first one's description is kept.
    uint256 public breachesMarginAction; // 9.4
    uint256 public breachesSharePrice; // 9.5
    uint256 public breachesExactAccounting; // 9.6
    uint256 public breachesPausedExit; // 9.7
    uint256 public breachesFillRound; // 9.8
    uint256 public breachesIsolation; // 9.9
    string public firstBreach;

    uint256 public fills;
    uint256 public liquidations;
    uint256 public epochsSettled;

    constructor(
        MockUSDC usdc_,
        Vault vault_,
        ClearingEngine engine_,
        OrderBook book_,
        LiquidityPool pool_,
        MockAggregator ethFeed,
        MockAggregator btcFeed,
        address admin_
    ) {
        usdc = usdc_;
        vault = vault_;
        engine = engine_;
        book = book_;
        pool = pool_;
        feeds[0] = ethFeed;
        feeds[1] = btcFeed;
        admin = admin_;
        prices[0] = 3000e18;
        prices[1] = 60_000e18;
        for (uint8 m; m < 2; ++m) {
            (uint80 id,, uint256 startedAt,,) = feeds[m].latestRoundData();
            _rounds[m].push(PostedRound(id, uint64(startedAt)));
        }
    }

    /* ------------------------------------------------------------------ */
    /*                               ACTIONS                               */
    /* ------------------------------------------------------------------ */

    function traderDeposit(uint256 actorSeed, uint256 amount) external {
        address trader = traders[actorSeed % 3];
        amount = bound(amount, 10e6, 200_000e6);
        usdc.mint(trader, amount);
        vm.startPrank(trader);
        usdc.approve(address(vault), amount);
        engine.deposit(trader, 0, amount);
        vm.stopPrank();
    }

    function traderWithdraw(uint256 actorSeed, uint256 amount) external {
        address trader = traders[actorSeed % 3];
        uint40 id = engine.accountIdOf(trader, 0);
        if (id == 0) return;
        int256 collateral = engine.getAccount(id).collateral;
        if (collateral < 1e12) return;
        amount = bound(amount, 1, uint256(collateral) / 1e12);
        uint256 before = usdc.balanceOf(trader);
        vm.prank(trader);
        try engine.withdraw(0, amount, trader) {
            if (usdc.balanceOf(trader) != before + amount) _breach(3, "withdraw paid a different amount");
            _checkNotLiquidatable(id, "liquidatable right after a withdrawal");
        } catch {}
    }

    function openMarketOrder(uint256 actorSeed, uint256 marketSeed, uint256 notionalSeed, bool isLong, bool reduceOnly)
        external
    {
        address trader = traders[actorSeed % 3];
        uint8 m = uint8(marketSeed % 2);
        uint40 id = engine.accountIdOf(trader, 0);
        if (id == 0) return;
        uint256 notional = bound(notionalSeed, 20e18, 400_000e18);
        int256 size = int256(notional * WAD / prices[m]);
        if (reduceOnly) {
            int256 held = engine.getPosition(id, m).size;
            if (held == 0) return;
            size = -held;
        } else if (!isLong) {
            size = -size;
        }
        try this.placeMarketOrder(trader, m, size, reduceOnly) {} catch {}
    }

    /// @dev Executes the head of a market's queue at its first round after creation, after
    /// checking that a later round is refused, and checks exact accounting, isolation, no profit
    /// at the fill and margin right after an opening fill.
    function executeHead(uint256 marketSeed) external {
        uint8 m = uint8(marketSeed % 2);
        (uint64 head, uint64 tail) = book.queues(m);
        if (head == tail) return;
        uint256 key = book.queuedKey(m, head);
        OrderBook.Order memory order = book.getOrder(key);
        if (order.accountId == 0) {
            // A hole left by a liquidation: executing pops it.
            try book.executeOrder(m, 0, 0) {} catch {}
            return;
        }
        if (block.timestamp > uint256(order.createdAt) + 20 hours) return; // expiry paths are unit-tested
        (uint256 first, bool found) = _firstRoundAfter(m, order.anchorRoundId, order.createdAt);
        if (!found) {
            _advance(1);
            _postRound(m, prices[m]);
            (first, found) = _firstRoundAfter(m, order.anchorRoundId, order.createdAt);
        }
        PostedRound memory fillRound = _rounds[m][first];
        uint80 previous = _rounds[m][first - 1].roundId;

        // 9.8: a later round than the first is refused.
        if (first + 1 < _rounds[m].length) {
            try book.executeOrder(m, _rounds[m][first + 1].roundId, fillRound.roundId) {
                _breach(5, "a later round than the first was accepted");
            } catch {}
        }

        uint40 other = _otherAccount(order.accountId);
        int256 otherEquity = _equity(other);
        uint40 id = order.accountId;
        EngineBase.Position memory before = engine.getPosition(id, m);
        int256 collateralBefore = engine.getAccount(id).collateral;
        (int256 fundingOwed, uint256 borrowOwed) = _owedAfterAccrual(id, m, before);

        try book.executeOrder(m, fillRound.roundId, previous) {}
        catch {
            _breach(5, "an execution with the right proof reverted");
            return;
        }
        (uint64 headAfter,) = book.queues(m);
        if (headAfter <= head) _breach(5, "the queue head did not advance");
        if (_equity(other) != otherEquity) _breach(6, "another account's equity moved");

        EngineBase.Position memory afterwards = engine.getPosition(id, m);
        if (afterwards.size == before.size && afterwards.cost == before.cost) return; // cancelled
        ++fills;
        _checkFillAccounting(id, m, before, afterwards, collateralBefore, fundingOwed, borrowOwed, fillRound);
    }

    function movePrice(uint256 marketSeed, uint256 bpsSeed, bool up, bool crash) external {
        uint8 m = uint8(marketSeed % 2);
        uint256 bps = bound(bpsSeed, 1, crash ? 3000 : 300);
        uint256 price = up ? prices[m] * (10_000 + bps) / 10_000 : prices[m] * (10_000 - bps) / 10_000;
        price = price / 1e10 * 1e10;
        if (price < 10e18 || price > 500_000e18) return;
        _advance(bound(bpsSeed, 1, 60));
        _postRound(m, price);
    }

    function warp(uint256 secondsSeed) external {
        _advance(bound(secondsSeed, 1, 12 hours));
        _postRound(0, prices[0]);
        _postRound(1, prices[1]);
    }

    function settleFunding(uint256 marketSeed) external {
        try engine.settleFunding(uint8(marketSeed % 2)) {} catch {}
    }

    function liquidate(uint256 actorSeed) external {
        uint40 id = engine.accountIdOf(traders[actorSeed % 3], 0);
        if (id == 0) return;
        (, bool liquidatable) = Liquidator(address(engine)).accountHealth(id);
        if (!liquidatable) return;
        try Liquidator(address(engine)).liquidate(id) {
            ++liquidations;
        } catch {
            _breach(6, "a liquidatable account could not be liquidated");
        }
    }

    function lpRequestDeposit(uint256 lpSeed, uint256 amount) external {
        address lp = lps[lpSeed % 2];
        amount = bound(amount, 1e6, 2_000_000e6);
        usdc.mint(lp, amount);
        vm.startPrank(lp);
        usdc.approve(address(vault), amount);
        try pool.requestDeposit(amount, lp, lp) {} catch {}
        vm.stopPrank();
    }

    function lpRequestRedeem(uint256 lpSeed, uint256 fractionSeed) external {
        address lp = lps[lpSeed % 2];
        uint256 shares = pool.balanceOf(lp) * bound(fractionSeed, 1, 100) / 100;
        if (shares == 0) return;
        vm.prank(lp);
        try pool.requestRedeem(shares, lp, lp) {} catch {}
    }

    /// @dev Settles the epoch at the first rounds after its cutoff and checks that the share price
    /// at the epoch's value does not drop through the LPs' own deposits and redemptions (9.5).
    function settleEpoch() external {
        uint64 epochId = pool.currentEpoch();
        (uint64 cutoff,,,,,,,) = pool.epochs(epochId);
        if (block.timestamp <= cutoff) _advance(cutoff + 1 - block.timestamp);
        uint80[] memory rounds = new uint80[](2);
        uint80[] memory previous = new uint80[](2);
        uint256[] memory depositPrices = new uint256[](2);
        uint256[] memory redeemPrices = new uint256[](2);
        for (uint8 m; m < 2; ++m) {
            (uint256 first, bool found) = _firstRoundAfter(m, pool.anchorRounds(epochId, m), cutoff);
            if (!found) {
                _postRound(m, prices[m]);
                (first, found) = _firstRoundAfter(m, pool.anchorRounds(epochId, m), cutoff);
            }
            rounds[m] = _rounds[m][first].roundId;
            previous[m] = _rounds[m][first - 1].roundId;
            (depositPrices[m], redeemPrices[m]) = _epochPrices(m, _rounds[m][first], _rounds[m][first - 1], cutoff);
        }
        (int256 depositBase, int256 depositPnl,) = PoolValuation(address(engine)).epochValuation(depositPrices);
        (int256 redeemBase, int256 redeemPnl,) = PoolValuation(address(engine)).epochValuation(redeemPrices);
        uint256 supply = pool.totalSupply();
        try pool.settleEpoch(rounds, previous) {
            ++epochsSettled;
        } catch {
            _breach(2, "epoch settlement reverted with correct proofs");
            return;
        }
        (,, bool filled, uint128 depositAssets, uint128 minted,, uint128 burned, uint128 paid) = pool.epochs(epochId);
        // Measured at the value deposits bought at and at the value redemptions sold at alike.
        if (filled) {
            _checkSharePrice(depositBase - depositPnl, supply, depositAssets, minted, burned, paid);
            _checkSharePrice(redeemBase - redeemPnl, supply, depositAssets, minted, burned, paid);
        }
        _claimAll();
    }

    /// @dev (value' + 1e18) / (supply' + 1e18) >= (value + 1e18) / (supply + 1e18) after the epoch's
    /// deposits and redemptions.
    function _checkSharePrice(
        int256 valueSigned,
        uint256 supply,
        uint256 depositAssets,
        uint256 minted,
        uint256 burned,
        uint256 paid
    ) internal {
        if (valueSigned <= 0) return;
        uint256 value = uint256(valueSigned);
        uint256 valueAfter = value + depositAssets - paid;
        uint256 supplyAfter = supply + minted - burned;
        if ((valueAfter + 1e18) * (supply + 1e18) < (value + 1e18) * (supplyAfter + 1e18)) {
            _breach(2, "share price dropped through LP deposits or redemptions");
        }
    }

    /// @dev 9.7: with opening paused, a full close and a withdrawal still work.
    function pausedExit(uint256 actorSeed, uint256 marketSeed) external {
        address trader = traders[actorSeed % 3];
        uint8 m = uint8(marketSeed % 2);
        uint40 id = engine.accountIdOf(trader, 0);
        if (id == 0) return;
        int256 held = engine.getPosition(id, m).size;
        (uint64 head, uint64 tail) = book.queues(m);
        if (held == 0 || head != tail) return;
        Governance(address(engine)).setOpeningPaused(true);
        try this.placeMarketOrder(trader, m, -held, true) {
            _advance(1);
            _postRound(m, prices[m]);
            uint256 n = _rounds[m].length;
            try book.executeOrder(m, _rounds[m][n - 1].roundId, _rounds[m][n - 2].roundId) {
                if (engine.getPosition(id, m).size != 0) _breach(4, "a close was refused while opening was paused");
            } catch {
                _breach(4, "a close reverted while opening was paused");
            }
        } catch {
            _breach(4, "a reduce-only order was refused while opening was paused");
        }
        Governance(address(engine)).setOpeningPaused(false);
    }

    /// @dev A market order with no slippage bound, as `trader`. External so that actions can
    /// try it; only this handler calls it.
    function placeMarketOrder(address trader, uint8 m, int256 size, bool reduceOnly) external {
        if (msg.sender != address(this)) revert AssertionFailed("handler-only");
        vm.deal(trader, trader.balance + MIN_FEE);
        vm.prank(trader);
        book.createOrder{value: MIN_FEE}(
            OrderBook.CreateOrderParams({
                subaccount: 0,
                marketId: m,
                orderType: OrderBook.OrderType.Market,
                reduceOnly: reduceOnly,
                sizeDelta: size,
                triggerPrice: 0,
                acceptablePrice: size > 0 ? type(uint256).max : 0
            })
        );
    }

    /* ------------------------------------------------------------------ */
    /*                              HELPERS                                */
    /* ------------------------------------------------------------------ */

    /// @dev The prices the pool uses for a market: its first round after the cutoff if it started
    /// within epochPriceWait, else the last round before the cutoff moved by the gap buffer against
    /// whoever transacts (deposits value the pool high, redemptions low).
    function _epochPrices(uint8 m, PostedRound memory first, PostedRound memory last, uint256 cutoff)
        internal
        returns (uint256 depositPrice, uint256 redeemPrice)
    {
        (, uint32 priceWait,,,) = pool.poolConfig();
        PoolValuation(address(engine)).checkpointAll();
        PostedRound memory used = first.startedAt <= cutoff + priceWait ? first : last;
        (, int256 answer,,,) = feeds[m].getRoundData(used.roundId);
        uint256 price = uint256(answer) * 1e10;
        if (used.roundId == first.roundId) return (price, price);
        (int256 skew,) = PoolValuation(address(engine)).epochMarket(m);
        uint256 up = MathLib.mulDivUp(price, 1.003e18, WAD);
        uint256 down = MathLib.mulDivDown(price, 0.997e18, WAD);
        return skew >= 0 ? (down, up) : (up, down);
    }

    function _checkFillAccounting(
        uint40 id,
        uint8 m,
        EngineBase.Position memory before,
        EngineBase.Position memory afterwards,
        int256 collateralBefore,
        int256 fundingOwed,
        uint256 borrowOwed,
        PostedRound memory fillRound
    ) internal {
        (, int256 answer,,,) = feeds[m].getRoundData(fillRound.roundId);
        uint256 price = uint256(answer) * 1e10;
        bool late = block.timestamp > uint256(fillRound.startedAt) + 60;
        // 9.9: right after its fill, a new position (opened from zero or flipped) shows no profit
        // at the fill price.
        bool fresh = before.size == 0 || (int256(before.size) ^ int256(afterwards.size)) < 0;
        if (fresh && !late && MathLib.mulDivFloor(afterwards.size, price, WAD) > afterwards.cost) {
            _breach(6, "a fresh position shows a profit");
        }
        // 9.6: the collateral moves by realized PnL - fees - impact - funding - borrowing, exactly.
        // Impact and fees are what is left once PnL, funding and borrowing are accounted for; they
        // must never be negative, and realized PnL uses the exit at the fill price.
        int256 realized;
        int256 oldSize = before.size;
        int256 newSize = afterwards.size;
        if (oldSize != 0 && (newSize == 0 || (oldSize ^ newSize) < 0 || MathLib.abs(newSize) < MathLib.abs(oldSize))) {
            uint256 closing = MathLib.min(MathLib.abs(oldSize - newSize), MathLib.abs(oldSize));
            int256 closedCost = closing == MathLib.abs(oldSize)
                ? int256(before.cost)
                : MathLib.mulDivFloor(before.cost, closing, MathLib.abs(oldSize));
            int256 closedSigned = oldSize > 0 ? int256(closing) : -int256(closing);
            realized = MathLib.mulDivFloor(closedSigned, price, WAD) - closedCost;
        }
        int256 charges = collateralBefore + realized - fundingOwed - int256(borrowOwed) - engine.getAccount(id).collateral;
        if (late || realized > 0) return; // a late fill prices at the worse round; profits may be scaled by the cap
        if (charges < 0) _breach(3, "a fill paid the trader more than its PnL and funding");
        uint256 notional = MathLib.abs(newSize - oldSize) * price / WAD;
        // Fees (<= 5 bps) plus impact (<= kMax 0.5%) bound what a fill may charge beyond PnL and funding.
        if (uint256(charges) > notional * 56 / 10_000 + 2) _breach(3, "a fill charged more than fees and impact");
        if (MathLib.abs(newSize) > MathLib.abs(oldSize) && _isLatest(m, fillRound.roundId)) {
            _checkNotLiquidatable(id, "liquidatable right after an opening fill");
        }
    }

    /// @dev Funding and borrowing a position will owe at the engine's next accrual of its market,
    /// computed independently from the stored accumulators and the current rates.
    function _owedAfterAccrual(uint40 id, uint8 m, EngineBase.Position memory p)
        internal
        view
        returns (int256 fundingOwed, uint256 borrowOwed)
    {
        if (p.size == 0) return (0, 0);
        (EngineBase.MarketState memory s,,,,) = Governance(address(engine)).marketSnapshot(m);
        int256 df = int256(s.cumFunding) - p.fundingSnap;
        fundingOwed = df >= 0
            ? MathLib.mulDivCeil(p.size, uint256(df), WAD)
            : -MathLib.mulDivFloor(p.size, uint256(-df), WAD);
        borrowOwed = MathLib.mulDivUp(MathLib.abs(p.size), s.cumBorrow - p.borrowSnap, WAD);
        id;
    }

    function _checkNotLiquidatable(uint40 id, string memory what) internal {
        (, bool liquidatable) = Liquidator(address(engine)).accountHealth(id);
        if (liquidatable) _breach(1, what);
    }

    function _equity(uint40 id) internal view returns (int256) {
        if (id == 0) return 0;
        (EngineBase.Health memory h,) = Liquidator(address(engine)).accountHealth(id);
        return h.equity;
    }

    function _otherAccount(uint40 id) internal view returns (uint40) {
        for (uint256 i; i < 3; ++i) {
            uint40 other = engine.accountIdOf(traders[i], 0);
            if (other != 0 && other != id) return other;
        }
        return 0;
    }

    function _claimAll() internal {
        for (uint256 i; i < 2; ++i) {
            address lp = lps[i];
            uint256 claimableAssets = pool.claimableDepositRequest(0, lp);
            if (claimableAssets != 0) {
                vm.prank(lp);
                pool.deposit(claimableAssets, lp, lp);
            }
            uint256 claimableShares = pool.claimableRedeemRequest(0, lp);
            if (claimableShares != 0) {
                vm.prank(lp);
                pool.redeem(claimableShares, lp, lp);
            }
        }
    }

    /// @dev Index of the first posted round after `anchor` whose startedAt is after `time`.
    function _firstRoundAfter(uint8 m, uint80 anchor, uint256 time) internal view returns (uint256, bool) {
        PostedRound[] storage rounds = _rounds[m];
        for (uint256 i = 1; i < rounds.length; ++i) {
            if (rounds[i].roundId > anchor && rounds[i].startedAt > time) return (i, true);
        }
        return (0, false);
    }

    function _isLatest(uint8 m, uint80 roundId) internal view returns (bool) {
        return _rounds[m][_rounds[m].length - 1].roundId == roundId;
    }

    function _postRound(uint8 m, uint256 price) internal {
        uint80 id = feeds[m].setPrice(int256(price / 1e10));
        prices[m] = price;
        _rounds[m].push(PostedRound(id, uint64(block.timestamp)));
    }

    /// @dev Moves time and keeps both feeds within their heartbeat.
    function _advance(uint256 seconds_) internal {
        vm.warp(block.timestamp + seconds_);
        if (seconds_ > 600) {
            _postRound(0, prices[0]);
            _postRound(1, prices[1]);
        }
    }

    function _breach(uint256 which, string memory what) internal {
        if (bytes(firstBreach).length == 0) firstBreach = what;
        if (which == 1) ++breachesMarginAction;
        else if (which == 2) ++breachesSharePrice;
        else if (which == 3) ++breachesExactAccounting;
        else if (which == 4) ++breachesPausedExit;
        else if (which == 5) ++breachesFillRound;
        else ++breachesIsolation;
    }
}
