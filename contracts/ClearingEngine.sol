// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {Vault} from "./Vault.sol";
import {EngineBase, RESERVATION_UNIT} from "./EngineBase.sol";
import {Liquidator} from "./Liquidator.sol";
import {PoolValuation} from "./PoolValuation.sol";

/// @title ClearingEngine
/// @notice Markets, accounts, positions and the protocol's ledger (SPEC sections 3, 4, 5).
/// Positions are valued at the oracle index; the skew curve charges impact on the part of a
/// fill that grows |K|; funding and borrowing accrue per second into per-unit indices; the
/// pool is the counterparty of every fill and is valued from per-market aggregates in
/// O(markets). Fills come from the order book, which proves the price. Parameter setters
/// (`Governance`) and liquidation (`Liquidator`) are modules this contract delegatecalls.
contract ClearingEngine is EngineBase {
    using MathLib for uint256;
    using MathLib for int256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice The module holding the bounded setters.
    address public immutable governance;
    /// @notice The module holding liquidation.
    address public immutable liquidator;
    /// @notice The module valuing the pool (live and at LP epoch cutoffs).
    address public immutable poolValuation;

    /// @param vault_ the collateral vault, which grants this contract its operator role
    /// @param admin receives the admin, risk and guardian roles
    /// @param governance_ the Governance module (built with the same vault)
    /// @param liquidator_ the Liquidator module (built with the same vault)
    /// @param poolValuation_ the PoolValuation module (built with the same vault)
    constructor(Vault vault_, address admin, address governance_, address liquidator_, address poolValuation_)
        EngineBase(vault_)
    {
        governance = governance_;
        liquidator = liquidator_;
        poolValuation = poolValuation_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(RISK_ROLE, admin);
        _grantRole(GUARDIAN_ROLE, admin);
    }

    /// @notice Routes liquidation calls and `accountHealth` to the Liquidator module, pool
    /// valuation calls to the PoolValuation module and every other unknown call to the Governance
    /// module, all run on this contract's storage.
    fallback() external {
        bytes4 selector = msg.sig;
        address module = governance;
        if (
            selector == Liquidator.liquidate.selector || selector == Liquidator.liquidateBatch.selector
                || selector == Liquidator.liquidateFor.selector || selector == Liquidator.accountHealth.selector
        ) {
            module = liquidator;
        } else if (
            selector == PoolValuation.poolValue.selector || selector == PoolValuation.checkpointAll.selector
                || selector == PoolValuation.epochValuation.selector || selector == PoolValuation.epochMarket.selector
                || selector == PoolValuation.poolTotals.selector
        ) {
            module = poolValuation;
        }
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /* ------------------------------------------------------------------ */
    /*                          ACCOUNTS, COLLATERAL                       */
    /* ------------------------------------------------------------------ */

    /// @notice Deposits collateral into `(owner, subaccount)`, creating the account if needed.
    /// A negative balance (a debt to the pool) is repaid first.
    /// @param owner the account's owner (anyone can deposit for anyone)
    /// @param subaccount the owner's subaccount
    /// @param amount token units, pulled from the caller
    /// @return accountId the account
    function deposit(address owner, uint16 subaccount, uint256 amount)
        external
        nonReentrant
        returns (uint40 accountId)
    {
        accountId = _creditDeposit(owner, subaccount, amount);
        vault.pull(msg.sender, amount);
    }

    /// @notice Deposits with an EIP-2612 permit of the caller instead of an allowance.
    /// @param owner the account's owner
    /// @param subaccount the owner's subaccount
    /// @param amount token units
    /// @param deadline permit deadline
    /// @param v permit signature
    /// @param r permit signature
    /// @param s permit signature
    /// @return accountId the account
    function depositWithPermit(
        address owner,
        uint16 subaccount,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint40 accountId) {
        accountId = _creditDeposit(owner, subaccount, amount);
        vault.pullWithPermit(msg.sender, amount, deadline, v, r, s);
    }

    /// @notice Withdraws collateral. Allowed while the account stays at or above its initial
    /// requirement counting no unrealized profit, every held market has a valid price, the
    /// balance is not negative, reserved margin stays untouched, and an account holding a
    /// position keeps the minimum collateral.
    /// @param subaccount the caller's subaccount
    /// @param amount token units
    /// @param to recipient
    function withdraw(uint16 subaccount, uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint40 accountId = _requireAccount(msg.sender, subaccount);
        Account storage account = _accounts[accountId];
        uint256 amountWad = amount.toWad(tokenDecimals);
        int256 collateral = account.collateral;
        if (amountWad.toInt() > collateral) revert WithdrawExceedsCollateral(amountWad, collateral);
        account.collateral = (collateral - amountWad.toInt()).toInt120();
        _ledger.totalCollateral = (_ledger.totalCollateral - amountWad.toInt()).toInt128();
        if (account.marketMask != 0 && account.collateral < uint256(globalConfig.minCollateral).toInt()) {
            revert InsufficientCollateral(account.collateral, globalConfig.minCollateral);
        }
        if (account.marketMask != 0 || account.reservedUnits != 0) {
            Health memory h = _health(account, accountId, type(uint256).max, 0);
            if (!h.pricesValid) revert PricesInvalid(accountId);
            _requireInitialMargin(h, _reservedMargin(account));
        }
        emit CollateralWithdrawn(accountId, to, amountWad, account.collateral);
        vault.push(to, amount);
    }

    /* ------------------------------------------------------------------ */
    /*                      ORDER BOOK AND POOL HOOKS                      */
    /* ------------------------------------------------------------------ */

    /// @notice Reserves the margin a new order needs: its notional times the taker fee and kMax,
    /// plus, for an order that can grow a position, the initial margin rate of the tier the
    /// market's open interest falls in at `indexPrice`; rounded up to whole `RESERVATION_UNIT`s
    /// (orders store it in those). An order that can grow a position needs every held price valid
    /// and the account to afford its initial requirement plus all reservations, counting no
    /// unrealized profit; a reduce-only order is always accepted (reducing is always allowed), its
    /// reservation only holding its fees back from withdrawal. Only the order book calls it.
    /// @param owner the account's owner
    /// @param subaccount the account's subaccount
    /// @param marketId the order's market (listed: the order book checked it)
    /// @param notional the order's notional at the buffered index price (WAD)
    /// @param indexPrice the index price, which picks the margin tier (WAD)
    /// @param increasesExposure whether the order can grow a position
    /// @param marketOrderKey a market order's key, which becomes the account's latest market order
    /// (the order book's first pending-order entry, kept here in the slot the reservation writes);
    /// 0 for an order waiting for its trigger, which takes an entry of the order book's table (so
    /// the account is flagged `usesOrderTable`, as when a pending order is displaced)
    /// @return accountId the account; 0 when `(owner, subaccount)` has none, and nothing is reserved
    /// @return reservation the margin reserved (WAD)
    /// @return displacedOrder the account's previous latest market order, still pending (0: none,
    /// or `marketOrderKey` is 0)
    function reserveOrderMargin(
        address owner,
        uint16 subaccount,
        uint8 marketId,
        uint256 notional,
        uint256 indexPrice,
        bool increasesExposure,
        uint256 marketOrderKey
    ) external returns (uint40 accountId, uint256 reservation, uint256 displacedOrder) {
        _onlyOrderBook();
        accountId = accountIdOf[owner][subaccount];
        if (accountId == 0) return (0, 0, 0);
        MarketConfig storage config = _marketConfigs[marketId];
        uint256 rate = uint256(config.takerFee) + config.kMax;
        if (increasesExposure) rate += _initialMarginRate(marketId, indexPrice);
        uint256 units = notional.mulDivUp(rate, WAD).mulDivUp(1, RESERVATION_UNIT);
        reservation = units * RESERVATION_UNIT;
        Account storage account = _accounts[accountId];
        account.reservedUnits = (account.reservedUnits + units).toUint56();
        if (marketOrderKey != 0) {
            // Still pending (a finished order is forgotten): the order book moves it to its table.
            displacedOrder = account.latestMarketOrder;
            account.latestMarketOrder = uint80(marketOrderKey); // the order book's keys have 73 bits
        }
        if (marketOrderKey == 0 || displacedOrder != 0) account.usesOrderTable = true;
        uint256 reserved = _reservedMargin(account);
        if (increasesExposure) {
            Health memory h = _health(account, accountId, type(uint256).max, 0);
            if (!h.pricesValid) revert PricesInvalid(accountId);
            _requireInitialMargin(h, reserved);
        }
        emit MarginReserved(accountId, reservation, reserved);
    }

    /// @notice Releases the reservation of an order that ends without a fill (an owner's cancel, a
    /// rejection, an invalid round, an expiry). Only the order book calls it.
    /// @param accountId the account
    /// @param amount margin to release (WAD)
    /// @param orderKey the order, forgotten if it is the account's latest market order
    function releaseMargin(uint40 accountId, uint256 amount, uint256 orderKey) external {
        _onlyOrderBook();
        _release(_accounts[accountId], accountId, amount, orderKey);
    }

    /// @notice Charges a penalty for an order cancelled for a cause its owner controls (slippage,
    /// reduce-only, margin), paid to the pool from the account. Only the order book calls it.
    /// @param accountId the account
    /// @param amount penalty (WAD)
    function chargePenalty(uint40 accountId, uint256 amount) external {
        _onlyOrderBook();
        Account storage account = _accounts[accountId];
        _settleWithPool(account, -amount.toInt(), 0);
        emit PenaltyCharged(accountId, amount);
    }

    /// @notice Fills an order at a price the order book has proved. Reverts with the rule that
    /// failed; the order book turns such a revert into a cancel. Only the order book calls it.
    /// @param request the fill
    /// @return result fill price, fees, impact and realized PnL
    function fill(FillRequest calldata request) external returns (FillResult memory result) {
        _onlyOrderBook();
        Account storage account = _accounts[request.accountId];
        if (account.owner == address(0)) revert UnknownAccount(request.accountId);
        _release(account, request.accountId, request.reservation, request.orderKey);
        if (_marketConfigs[request.marketId].closed) revert MarketClosed(request.marketId);
        result = _trade(
            Trade({
                accountId: request.accountId,
                marketId: request.marketId,
                sizeDelta: request.sizeDelta,
                price: request.price,
                acceptablePrice: request.acceptablePrice,
                reduceOnly: request.reduceOnly,
                passToPool: false,
                accrued: false
            }),
            account
        );
    }

    /// @notice Moves cash between the pool's ledger entry and the liquidity pool contract's own
    /// buckets (filled LP deposits in, redemptions out). Only the liquidity pool calls it.
    /// @param delta signed change of pool cash (WAD)
    function movePoolCash(int256 delta) external {
        _onlyPool();
        _checkpointLedger();
        int256 cash = _ledger.poolCash + delta;
        _ledger.poolCash = cash.toInt128();
        emit PoolCashMoved(delta, cash);
    }

    /// @notice Sets the pending LP epoch cutoff; the pool's state is checkpointed at its first
    /// change after it. Only the liquidity pool calls it, once the previous epoch is settled.
    /// @param epoch the epoch's id
    /// @param cutoff the epoch's cutoff time
    function openEpoch(uint64 epoch, uint64 cutoff) external {
        _onlyPool();
        cutoffEpoch = epoch;
        cutoffTime = cutoff;
        emit EpochOpened(epoch, cutoff);
    }

    /* ------------------------------------------------------------------ */
    /*                               FUNDING                               */
    /* ------------------------------------------------------------------ */

    /// @notice Checkpoints a market's funding and borrowing and publishes the realized average
    /// rate of the interval. Permissionless, once per funding interval; no position is touched.
    /// @param marketId the market
    function settleFunding(uint8 marketId) external {
        MarketConfig storage config = _marketConfigs[marketId];
        // Every listed market has a feed; its slot is read for the price anyway.
        if (config.feed.aggregator == address(0)) revert UnknownMarket(marketId);
        StoredMarketState storage state = _marketStates[marketId];
        uint256 next = uint256(state.lastSettlement) + config.fundingInterval;
        if (block.timestamp < next) revert FundingNotDue(marketId, next);
        _accrue(marketId, config);
        uint256 elapsed = block.timestamp - state.lastSettlement;
        int80 cumRate = state.cumRate;
        int80 cumPremium = state.cumPremium;
        int256 averageRate =
            MathLib.mulDivFloor(int256(cumRate) - state.settledCumRate, config.fundingInterval, elapsed);
        int256 averagePremium =
            MathLib.mulDivFloor(int256(cumPremium) - state.settledCumPremium, config.fundingInterval, elapsed);
        state.lastSettlement = uint32(block.timestamp);
        state.settledCumRate = cumRate;
        state.settledCumPremium = cumPremium;
        emit FundingSettled(marketId, averageRate, averagePremium, state.cumFunding, elapsed);
    }

    /* ------------------------------------------------------------------ */
    /*                                VIEWS                                */
    /* ------------------------------------------------------------------ */

    /// @notice A market's parameters.
    /// @param marketId the market
    /// @return the parameters
    function marketConfig(uint8 marketId) external view returns (MarketConfig memory) {
        return _marketConfigs[marketId];
    }

    /// @notice What an order needs of its market, in one call (the order book's): the feed, the
    /// sequencer feed and whether the market is closed. A market not listed has a zero feed.
    /// @param marketId the market
    /// @return terms the terms
    function orderTerms(uint8 marketId) external view returns (OrderTerms memory terms) {
        MarketConfig storage config = _marketConfigs[marketId];
        terms = OrderTerms(config.feed, sequencer, config.closed);
    }

    /// @notice An account's raw ledger entry.
    /// @param accountId the account
    /// @return the account
    function getAccount(uint40 accountId) external view returns (Account memory) {
        return _accounts[accountId];
    }

    /// @notice A position's raw state.
    /// @param accountId the account
    /// @param marketId the market
    /// @return the position
    function getPosition(uint40 accountId, uint8 marketId) external view returns (Position memory) {
        return _positions[accountId][marketId];
    }
}
