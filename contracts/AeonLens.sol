// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ChainlinkLib} from "./libraries/ChainlinkLib.sol";
import {EngineBase} from "./EngineBase.sol";
import {ClearingEngine} from "./ClearingEngine.sol";
import {Governance} from "./Governance.sol";
import {Liquidator} from "./Liquidator.sol";
import {OrderBook} from "./OrderBook.sol";

/// @title AeonLens
/// @notice Read-only views that give an SDK or a keeper what it needs in one call: a market's
/// full state, an account with its positions, requirements, liquidatable flag and pending
/// orders. It holds no state and no funds; values are the engine's own (positions raw, markets
/// accrued to now), so that off-chain math reproduces every derived figure.
contract AeonLens {
    struct MarketView {
        uint8 marketId;
        EngineBase.MarketConfig config;
        EngineBase.MarginTier[] tiers;
        EngineBase.MarketState state; // accrued to now
        uint256 price; // the latest valid price, or the last one when the feed is not valid
        ChainlinkLib.Status status;
        int256 fundingRate; // per funding interval, for the current skew
        uint256 borrowRate; // yearly
        uint256 nextFundingSettlement;
        uint64 queueHead;
        uint64 queueTail;
    }

    struct PositionView {
        uint8 marketId;
        EngineBase.Position position;
    }

    struct AccountView {
        uint40 accountId;
        EngineBase.Account account;
        EngineBase.Health health;
        bool liquidatable;
        PositionView[] positions;
        OrderBook.Order[] pendingOrders;
        uint256[] pendingOrderKeys;
    }

    ClearingEngine public immutable engine;
    OrderBook public immutable orderBook;

    /// @param engine_ the clearing engine
    /// @param orderBook_ the order book
    constructor(ClearingEngine engine_, OrderBook orderBook_) {
        engine = engine_;
        orderBook = orderBook_;
    }

    /// @notice A market's parameters, tiers, state accrued to now, price, rates, next funding
    /// settlement and order queue.
    /// @param marketId the market
    /// @return v the market
    function market(uint8 marketId) public view returns (MarketView memory v) {
        v.marketId = marketId;
        v.config = engine.marketConfig(marketId);
        v.tiers = Governance(address(engine)).marginTiers(marketId);
        (v.state, v.price, v.status, v.fundingRate, v.borrowRate) = Governance(address(engine)).marketSnapshot(marketId);
        v.nextFundingSettlement = uint256(v.state.lastSettlement) + v.config.fundingInterval;
        (v.queueHead, v.queueTail) = orderBook.queues(marketId);
    }

    /// @notice Every listed market.
    /// @return views one per market, in id order
    function markets() external view returns (MarketView[] memory views) {
        views = new MarketView[](engine.marketCount());
        for (uint256 i; i < views.length; ++i) {
            views[i] = market(uint8(i));
        }
    }

    /// @notice An account: its ledger entry, valuation, liquidatable flag, open positions and
    /// pending orders.
    /// @param accountId the account
    /// @return v the account
    function account(uint40 accountId) public view returns (AccountView memory v) {
        v.accountId = accountId;
        v.account = engine.getAccount(accountId);
        (v.health, v.liquidatable) = Liquidator(address(engine)).accountHealth(accountId);
        v.positions = new PositionView[](v.health.positionCount);
        uint256 n;
        for (uint8 m; v.account.marketMask >> m != 0; ++m) {
            if ((v.account.marketMask >> m) & 1 == 1) v.positions[n++] = PositionView(m, engine.getPosition(accountId, m));
        }
        v.pendingOrderKeys = orderBook.pendingOrders(accountId);
        v.pendingOrders = new OrderBook.Order[](v.pendingOrderKeys.length);
        for (uint256 i; i < v.pendingOrderKeys.length; ++i) {
            v.pendingOrders[i] = orderBook.getOrder(v.pendingOrderKeys[i]);
        }
    }

    /// @notice The account `(owner, subaccount)`; accountId 0 when it does not exist.
    /// @param owner the owner
    /// @param subaccount the owner's subaccount
    /// @return v the account
    function accountOf(address owner, uint16 subaccount) external view returns (AccountView memory v) {
        uint40 accountId = engine.accountIdOf(owner, subaccount);
        if (accountId != 0) v = account(accountId);
    }
}
