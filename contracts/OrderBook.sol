// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {ChainlinkLib} from "./libraries/ChainlinkLib.sol";
import {EngineBase, RESERVATION_UNIT} from "./EngineBase.sol";
import {ClearingEngine} from "./ClearingEngine.sol";
import {Governance} from "./Governance.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";

/// @title OrderBook
/// @notice Two-step, keeper-executed orders (SPEC section 6). Every fill happens at an oracle
/// round observed after the trader committed, in the order traders committed, and once the fill
/// round exists nobody can back out, reorder or choose when to take it: market orders (and
/// triggered limit, stop-market and take-profit orders) join a per-market first-in-first-out
/// queue; only the head executes, at the first round whose `startedAt` is strictly after the
/// order's creation, proved by the executor. Every execution ends in a fill or a cancel; only a
/// wrong proof reverts. Execution fees, trigger rewards and refunds are pull credits in the
/// native token.
contract OrderBook is IOrderBook, ReentrancyGuardTransient {
    using MathLib for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /* ------------------------------------------------------------------ */
    /*                          CONSTANTS, TYPES                           */
    /* ------------------------------------------------------------------ */

    /// @notice Pending orders an account can hold: its latest market order, which the engine
    /// keeps, and `MAX_PENDING_ORDERS - 1` in this contract's pending-order table.
    uint256 public constant MAX_PENDING_ORDERS = 8;
    uint256 internal constant TABLE_ENTRIES = MAX_PENDING_ORDERS - 1;
    /// @notice An order whose feed shows no round at all after its creation, or whose fill round
    /// cannot be proved (the feed changed phase twice), expires after this.
    uint256 public constant NO_ROUND_EXPIRY = 24 hours;
    uint256 internal constant WAD = 1e18;
    /// @dev Execution fees are stored in gwei.
    uint256 internal constant FEE_UNIT = 1 gwei;
    uint256 internal constant QUEUED_FLAG = 1 << 72;
    uint256 internal constant MAX_HOLES_SKIPPED = 32;
    /// @notice Positions in each market's ring of queued orders (see `Queue`).
    uint64 public constant QUEUE_RING_SIZE = 256;

    enum OrderType {
        Market,
        Limit, // buys at or below / sells at or above the trigger
        StopMarket, // buys at or above / sells at or below the trigger
        TakeProfit // a reduce-only limit
    }

    enum CancelReason {
        None,
        Expired,
        InvalidRound, // the fill round's answer is not positive or out of bounds, or the sequencer is down
        LatestPriceInvalid, // a late execution needs the latest round, which is not valid
        Rejected, // the engine refused the fill for a rule the trader does not control (caps, pause, prices)
        RejectedWithPenalty, // the engine refused the fill for slippage, reduce-only or margin
        Liquidated,
        Owner
    }

    /// @dev Two slots.
    /// Slot 0: accountId 40 | marketId 8 | flags 8 | createdAt 32 | anchorRoundId 80 | fee (gwei) 40 | reservation (1e-6 USD) 48.
    /// Slot 1: sizeDelta 96 | acceptablePrice 80 | triggerPrice 80.
    /// flags: bits 0-1 type, bit 2 reduce-only, bits 5-7 the order's index in its account's table
    /// (an order created waiting for its trigger; 0 for a market order, which the engine keeps).
    struct Order {
        uint40 accountId;
        uint8 marketId;
        uint8 flags;
        uint32 createdAt;
        uint80 anchorRoundId; // latest round at creation (or at the trigger)
        uint40 executionFeeGwei;
        uint48 reservation;
        int96 sizeDelta;
        uint80 acceptablePrice;
        uint80 triggerPrice;
    }

    /// @dev A market's queue holds the orders numbered [head, tail). Order `seq` lives at ring
    /// position `seq % QUEUE_RING_SIZE`, and an executed order is left there, so the order that
    /// reuses the position rewrites its two slots (5,000 gas each) instead of creating them (22,100
    /// each). An order that finds the ring full (tail - head == QUEUE_RING_SIZE) goes to fresh slots
    /// past the ring, at `QUEUE_RING_SIZE + seq`, and joins the run [overflowStart, overflowEnd); while
    /// that run has orders left, every new order extends it, so one interval says where any order is.
    struct Queue {
        uint64 head;
        uint64 tail;
        uint64 overflowStart;
        uint64 overflowEnd;
    }

    /// @notice Order-book parameters, set by the engine's risk role within hard bounds.
    struct OrderConfig {
        uint32 maxOrderAge; // a first round starting later than createdAt + this expires the order
        uint32 lateDelay; // after fillRound.updatedAt + this, the worse of that round and the latest fills
        uint64 marginBuffer; // reservations are priced at index * (1 + buffer)
        uint64 penaltyRate; // of notional, for cancels the trader could have caused
        uint64 triggerRewardShare; // of the execution fee, to whoever triggers a conditional order
        uint64 expiryRewardShare; // of the execution fee, to whoever pops an expired order
    }

    /// @notice Per-market order bounds, in one slot (an order reads all three).
    struct MarketOrderConfig {
        uint64 minExecutionFee; // wei, covers a keeper's gas; at most 1 native unit
        uint96 minNotionalUsd; // WAD
        uint96 maxSize; // base units (WAD)
    }

    struct CreateOrderParams {
        uint16 subaccount;
        uint8 marketId;
        OrderType orderType;
        bool reduceOnly;
        int256 sizeDelta;
        uint256 triggerPrice; // 0 for market orders
        uint256 acceptablePrice; // worst average fill price: a buy's maximum, a sell's minimum
    }

    /* ------------------------------------------------------------------ */
    /*                           ERRORS, EVENTS                            */
    /* ------------------------------------------------------------------ */

    error NotEngine(address caller);
    error NotRiskRole(address caller);
    error UnknownAccount(address owner, uint16 subaccount);
    error UnknownMarket(uint8 marketId);
    error UnknownOrder(uint256 orderKey);
    error NotOrderOwner(uint256 orderKey, address caller);
    error ZeroSize();
    error SizeTooLarge(uint256 size, uint256 maxSize);
    error NotionalTooSmall(uint256 notionalUsd, uint256 minNotionalUsd);
    error ExecutionFeeTooLow(uint256 fee, uint256 minFee);
    error ExecutionFeeNotWholeGwei(uint256 fee);
    error TooManyPendingOrders(uint40 accountId, uint256 max);
    error InvalidTriggerPrice(OrderType orderType, uint256 triggerPrice);
    error InvalidAcceptablePrice(uint256 acceptablePrice, uint256 maxPrice);
    error LengthMismatch(uint256 fillRounds, uint256 previousRounds);
    error TakeProfitMustReduce();
    error PriceUnavailable(uint8 marketId, ChainlinkLib.Status status);
    error QueueEmpty(uint8 marketId);
    error OrderQueued(uint256 orderKey);
    error TriggerRoundTooOld(uint256 startedAt, uint256 createdAt);
    error TriggerNotMet(uint256 price, uint256 triggerPrice);
    error NothingToClaim();
    error NativeTransferFailed(address to, uint256 amount);
    error ParameterOutOfBounds(string name, uint256 value, uint256 bound);

    event OrderCreated(
        uint256 indexed orderKey,
        uint40 indexed accountId,
        uint8 indexed marketId,
        OrderType orderType,
        bool reduceOnly,
        int256 sizeDelta,
        uint256 triggerPrice,
        uint256 acceptablePrice,
        uint256 executionFee,
        uint256 reservation,
        uint80 anchorRoundId
    );
    event OrderTriggered(
        uint256 indexed conditionalKey, uint256 indexed orderKey, address indexed triggerer, uint80 roundId, uint256 price
    );
    event OrderExecuted(
        uint256 indexed orderKey,
        uint40 indexed accountId,
        address indexed executor,
        uint80 fillRoundId,
        uint256 price,
        uint256 fillPrice,
        uint256 feeUsd
    );
    event OrderCancelled(
        uint256 indexed orderKey, uint40 indexed accountId, CancelReason reason, bytes engineError, uint256 penalty
    );
    event NativeCredited(address indexed to, uint256 amount);
    event NativeClaimed(address indexed by, address to, uint256 amount);
    event OrderConfigSet(OrderConfig config);
    event MarketOrderConfigSet(uint8 indexed marketId, MarketOrderConfig config);

    /* ------------------------------------------------------------------ */
    /*                               STORAGE                               */
    /* ------------------------------------------------------------------ */

    ClearingEngine public immutable engine;
    OrderConfig public orderConfig;
    mapping(uint8 => MarketOrderConfig) public marketOrderConfig;

    mapping(uint8 => Queue) internal _queues;
    /// @dev By market and storage position (see `Queue`).
    mapping(uint8 => mapping(uint256 => Order)) internal _queued;
    mapping(uint64 => Order) internal _conditional;
    uint64 public conditionalCount;

    /// @dev Each account's pending orders other than its latest market order: a mask of claimed
    /// entries and up to 7 order keys of 80 bits (a key has 73), in 3 slots: slot 0 the mask (bits
    /// 0-6) and keys 0-2, slot 1 keys 3-5, slot 2 key 6. The engine keeps the account's latest
    /// market order in the slot the order's reservation writes anyway, so an account's market
    /// orders create no slot here until one is still pending when the next is created: that one
    /// moves here. An order waiting for its trigger takes an entry here when it is created, and
    /// keeps it when triggered (with its queued key). Only creating an order, triggering one and
    /// a liquidation write the table: an order that fills, expires or is cancelled leaves its
    /// entry claimed, and a claimed entry holds a pending order only while `_isPending(key)`. So
    /// an execution writes nothing here, and the next order reuses the entry (`_claimPendingSlot`).
    mapping(uint40 => uint256[3]) internal _pendingTable;

    mapping(address => uint256) public nativeCredits;

    /// @param engine_ the clearing engine; its risk role sets this contract's parameters
    /// @param config initial order parameters
    constructor(ClearingEngine engine_, OrderConfig memory config) {
        engine = engine_;
        _setOrderConfig(config);
    }

    /* ------------------------------------------------------------------ */
    /*                              PARAMETERS                             */
    /* ------------------------------------------------------------------ */

    /// @notice Sets the order parameters. Only the engine's risk role.
    /// @param config the new parameters, within the hard bounds
    function setOrderConfig(OrderConfig calldata config) external {
        _onlyRisk();
        _setOrderConfig(config);
    }

    /// @notice Sets a market's order bounds. Only the engine's risk role.
    /// @param marketId the market
    /// @param config minimum execution fee, minimum notional and maximum size
    function setMarketOrderConfig(uint8 marketId, MarketOrderConfig calldata config) external {
        _onlyRisk();
        if (marketId >= engine.marketCount()) revert UnknownMarket(marketId);
        if (config.maxSize == 0) revert ParameterOutOfBounds("maxSize", 0, 1);
        // Orders store their size in 96 signed bits.
        if (config.maxSize > uint96(type(int96).max)) {
            revert ParameterOutOfBounds("maxSize", config.maxSize, uint96(type(int96).max));
        }
        if (config.minExecutionFee > 1 ether) revert ParameterOutOfBounds("minExecutionFee", config.minExecutionFee, 1 ether);
        marketOrderConfig[marketId] = config;
        emit MarketOrderConfigSet(marketId, config);
    }

    /* ------------------------------------------------------------------ */
    /*                            CREATE, CANCEL                           */
    /* ------------------------------------------------------------------ */

    /// @notice Creates an order for one of the caller's subaccounts, paying its execution fee in
    /// the native token. A market order joins its market's queue now; a limit, stop-market or
    /// take-profit order waits for its trigger. The margin it needs (initial margin, fees and the
    /// largest impact at the buffered index price) is reserved now.
    /// @param p the order
    /// @return orderKey the order's key (queued orders and conditional orders are keyed apart)
    function createOrder(CreateOrderParams calldata p) external payable nonReentrant returns (uint256 orderKey) {
        EngineBase.OrderTerms memory terms = engine.orderTerms(p.marketId);
        if (terms.feed.aggregator == address(0)) revert UnknownMarket(p.marketId);
        uint256 feeGwei = _checkOrder(p, terms.closed);
        (ChainlinkLib.Round memory round, uint256 indexPrice) = _latestForOrder(p.marketId, terms, p.reduceOnly);
        bool isMarket = p.orderType == OrderType.Market;
        // The key `_enqueue` gives it: the engine keeps it as the account's latest market order.
        uint256 marketOrderKey = isMarket ? queuedKey(p.marketId, _queues[p.marketId].tail) : 0;
        // One engine call finds the account, prices the reservation and holds it.
        (uint40 accountId, uint256 reservation, uint256 displacedOrder) = engine.reserveOrderMargin(
            msg.sender, p.subaccount, p.marketId, _notionalFor(p, indexPrice), indexPrice, !p.reduceOnly, marketOrderKey
        );
        if (accountId == 0) revert UnknownAccount(msg.sender, p.subaccount);
        uint8 index;
        if (!isMarket) {
            index = _claimPendingSlot(accountId);
        } else if (displacedOrder != 0) {
            // Still pending (the engine forgets finished orders): a liquidation must find it, so it
            // takes an entry here.
            _setPendingKey(accountId, _claimPendingSlot(accountId), displacedOrder);
        }

        Order memory o = Order({
            accountId: accountId,
            marketId: p.marketId,
            flags: uint8(p.orderType) | (p.reduceOnly ? 4 : 0) | (index << 5),
            createdAt: uint32(block.timestamp),
            anchorRoundId: round.roundId,
            executionFeeGwei: feeGwei.toUint40(),
            reservation: (reservation / RESERVATION_UNIT).toUint48(),
            sizeDelta: int256(p.sizeDelta).toInt96(),
            acceptablePrice: uint80(MathLib.min(p.acceptablePrice, type(uint80).max)),
            triggerPrice: uint80(p.triggerPrice)
        });
        if (isMarket) {
            orderKey = _enqueue(o);
        } else {
            orderKey = _storeConditional(o);
            _setPendingKey(accountId, index, orderKey);
        }
        emit OrderCreated(
            orderKey,
            accountId,
            p.marketId,
            p.orderType,
            p.reduceOnly,
            p.sizeDelta,
            p.triggerPrice,
            o.acceptablePrice,
            msg.value,
            reservation,
            round.roundId
        );
    }

    /// @notice Cancels one of the caller's orders that is not queued (an untriggered limit,
    /// stop-market or take-profit order); its fee is refunded as a credit and its margin released.
    /// Queued orders cannot be cancelled: once committed they fill or expire.
    /// @param orderKey the order
    function cancelOrder(uint256 orderKey) external nonReentrant {
        if (orderKey & QUEUED_FLAG != 0) revert OrderQueued(orderKey);
        Order memory o = _conditional[uint64(orderKey)];
        if (o.accountId == 0) revert UnknownOrder(orderKey);
        if (engine.getAccount(o.accountId).owner != msg.sender) revert NotOrderOwner(orderKey, msg.sender);
        delete _conditional[uint64(orderKey)];
        engine.releaseMargin(o.accountId, uint256(o.reservation) * RESERVATION_UNIT, orderKey);
        _credit(msg.sender, uint256(o.executionFeeGwei) * FEE_UNIT);
        emit OrderCancelled(orderKey, o.accountId, CancelReason.Owner, "", 0);
    }

    /// @inheritdoc IOrderBook
    function cancelAccountOrders(uint40 accountId, uint256 latestMarketOrder, address liquidator) external {
        if (msg.sender != address(engine)) revert NotEngine(msg.sender);
        uint256 fees;
        // The engine forgets its latest market order itself.
        if (_isPending(latestMarketOrder)) {
            fees = _cancelForLiquidation(latestMarketOrder, accountId);
        }
        uint8 claimed = _claimedMask(accountId);
        bool cancelled;
        for (uint256 index; claimed >> index != 0; ++index) {
            if (_holdsPendingOrder(accountId, claimed, index)) {
                fees += _cancelForLiquidation(_pendingKey(accountId, index), accountId);
                cancelled = true;
            }
        }
        // A cancelled queued order leaves a hole that `_isPending` would still count: unclaim it.
        // Finished orders' entries stay finished, so an account with none pending writes nothing.
        if (cancelled) _setPendingMask(accountId, 0);
        if (fees != 0) _credit(liquidator, fees);
    }

    /* ------------------------------------------------------------------ */
    /*                               TRIGGER                               */
    /* ------------------------------------------------------------------ */

    /// @notice Triggers a limit, stop-market or take-profit order with its market's latest round,
    /// which must be valid, observed after the order's creation and meet the trigger. The order
    /// then joins the queue as a market order created now; the caller earns part of its fee.
    /// @param conditionalKey the order
    /// @return orderKey the order's key in the queue
    function triggerOrder(uint256 conditionalKey) external nonReentrant returns (uint256 orderKey) {
        if (conditionalKey & QUEUED_FLAG != 0) revert OrderQueued(conditionalKey);
        Order memory o = _conditional[uint64(conditionalKey)];
        if (o.accountId == 0) revert UnknownOrder(conditionalKey);
        EngineBase.OrderTerms memory terms = engine.orderTerms(o.marketId);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = ChainlinkLib.latest(terms.feed, terms.sequencer);
        if (status != ChainlinkLib.Status.Valid) revert PriceUnavailable(o.marketId, status);
        if (round.startedAt <= o.createdAt) revert TriggerRoundTooOld(round.startedAt, o.createdAt);
        OrderType orderType = OrderType(o.flags & 3);
        bool buy = o.sizeDelta > 0;
        // Limit and take-profit: buy at or below, sell at or above. Stop-market: the reverse.
        bool limitLike = orderType != OrderType.StopMarket;
        bool met = (buy == limitLike) ? round.price <= o.triggerPrice : round.price >= o.triggerPrice;
        if (!met) revert TriggerNotMet(round.price, o.triggerPrice);

        delete _conditional[uint64(conditionalKey)];
        uint256 fee = uint256(o.executionFeeGwei) * FEE_UNIT;
        uint256 reward = fee.mulDivDown(orderConfig.triggerRewardShare, WAD) / FEE_UNIT * FEE_UNIT;
        o.executionFeeGwei = uint40((fee - reward) / FEE_UNIT);
        o.createdAt = uint32(block.timestamp);
        o.anchorRoundId = round.roundId;
        orderKey = _enqueue(o);
        _setPendingKey(o.accountId, o.flags >> 5, orderKey);
        if (reward != 0) _credit(msg.sender, reward);
        emit OrderTriggered(conditionalKey, orderKey, msg.sender, round.roundId, round.price);
    }

    /* ------------------------------------------------------------------ */
    /*                               EXECUTE                               */
    /* ------------------------------------------------------------------ */

    /// @notice Executes the head of a market's queue at its fill round: the first round after the
    /// order's anchor round whose `startedAt` is strictly after the order's creation. The caller
    /// proves it by naming the round and its immediate predecessor (the previous phase's last
    /// round across a phase change). The order fills or is cancelled with its reason; expired
    /// orders are popped. The caller earns the execution fee in every outcome (a part of it for
    /// an expiry). Reverts only on a wrong proof or an empty queue.
    /// @param marketId the market
    /// @param fillRoundId the head order's fill round (ignored when the order expired with no round at all)
    /// @param previousRoundId the round immediately before it
    function executeOrder(uint8 marketId, uint80 fillRoundId, uint80 previousRoundId) external nonReentrant {
        _executeHead(marketId, fillRoundId, previousRoundId);
    }

    /// @notice Executes the first `fillRoundIds.length` orders of a market's queue in order.
    /// @param marketId the market
    /// @param fillRoundIds each order's fill round
    /// @param previousRoundIds each fill round's predecessor
    function executeOrders(uint8 marketId, uint80[] calldata fillRoundIds, uint80[] calldata previousRoundIds)
        external
        nonReentrant
    {
        if (fillRoundIds.length != previousRoundIds.length) {
            revert LengthMismatch(fillRoundIds.length, previousRoundIds.length);
        }
        for (uint256 i; i < fillRoundIds.length; ++i) {
            _executeHead(marketId, fillRoundIds[i], previousRoundIds[i]);
        }
    }

    /// @notice Withdraws the caller's native-token credits (execution fees, trigger rewards, refunds).
    /// @param to recipient
    /// @return amount wei sent
    function claimNativeCredits(address payable to) external nonReentrant returns (uint256 amount) {
        amount = nativeCredits[msg.sender];
        if (amount == 0) revert NothingToClaim();
        nativeCredits[msg.sender] = 0;
        emit NativeClaimed(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert NativeTransferFailed(to, amount);
    }

    /* ------------------------------------------------------------------ */
    /*                                VIEWS                                */
    /* ------------------------------------------------------------------ */

    /// @notice An order by key (queued or conditional); accountId 0 when it does not exist.
    /// @param orderKey the order
    /// @return o the order
    function getOrder(uint256 orderKey) external view returns (Order memory o) {
        if (orderKey & QUEUED_FLAG == 0) return _conditional[uint64(orderKey)];
        uint8 marketId = uint8(orderKey >> 64);
        uint64 seq = uint64(orderKey);
        Queue memory q = _queues[marketId];
        // Executed orders stay in the ring until their position is reused: only [head, tail) is live.
        if (seq >= q.head && seq < q.tail) o = _queued[marketId][_position(q, seq)];
    }

    /// @notice A market's queue: the orders numbered [head, tail) are pending (an order cancelled by
    /// a liquidation leaves a hole that execution skips).
    /// @param marketId the market
    /// @return head the next order to execute
    /// @return tail the number the next order will take
    function queues(uint8 marketId) external view returns (uint64 head, uint64 tail) {
        Queue memory q = _queues[marketId];
        return (q.head, q.tail);
    }

    /// @notice The keys of an account's pending orders: those of its pending-order table in
    /// entry order, then its latest market order.
    /// @param accountId the account
    /// @return keys up to 8 order keys
    function pendingOrders(uint40 accountId) external view returns (uint256[] memory keys) {
        uint256 latest = engine.getAccount(accountId).latestMarketOrder;
        uint8 mask = _pendingMask(accountId, latest);
        keys = new uint256[](_popCount(mask));
        uint256 n;
        for (uint256 index; index < TABLE_ENTRIES; ++index) {
            if (mask & (1 << index) != 0) keys[n++] = _pendingKey(accountId, index);
        }
        if (mask & (1 << TABLE_ENTRIES) != 0) keys[n] = latest;
    }

    /// @notice Where an account's pending orders are: bit i (0-6) for entry i of its pending-order
    /// table, bit 7 for its latest market order, which the engine keeps.
    /// @param accountId the account
    /// @return mask the mask
    function pendingMask(uint40 accountId) external view returns (uint8) {
        return _pendingMask(accountId, engine.getAccount(accountId).latestMarketOrder);
    }

    /// @notice The key of the order at a queue position.
    /// @param marketId the market
    /// @param seq position in the queue
    /// @return the key
    function queuedKey(uint8 marketId, uint64 seq) public pure returns (uint256) {
        return QUEUED_FLAG | (uint256(marketId) << 64) | seq;
    }

    /* ------------------------------------------------------------------ */
    /*                              INTERNAL                               */
    /* ------------------------------------------------------------------ */

    function _executeHead(uint8 marketId, uint80 fillRoundId, uint80 previousRoundId) internal {
        Queue storage queue = _queues[marketId];
        Queue memory q = queue;
        uint64 head = q.head;
        // Liquidations leave holes; skip a bounded number of them.
        uint256 skipped;
        while (head < q.tail && _queued[marketId][_position(q, head)].accountId == 0 && skipped < MAX_HOLES_SKIPPED) {
            ++head;
            ++skipped;
        }
        uint256 position = _position(q, head);
        if (head == q.tail || _queued[marketId][position].accountId == 0) {
            queue.head = head;
            if (skipped == 0) revert QueueEmpty(marketId);
            return;
        }
        queue.head = head + 1;
        uint256 key = queuedKey(marketId, head);
        Order memory o = _queued[marketId][position];
        // A ring position is reused; an overflow slot never is, so it is cleared for the refund.
        if (position >= QUEUE_RING_SIZE) delete _queued[marketId][position];

        EngineBase.OrderTerms memory terms = engine.orderTerms(marketId);
        ChainlinkLib.Feed memory feed = terms.feed;
        ChainlinkLib.Sequencer memory sequencer = terms.sequencer;
        uint256 fee = uint256(o.executionFeeGwei) * FEE_UNIT;

        // A feed with no round at all since the order was created: expire after 24 hours.
        (ChainlinkLib.Round memory latest, ChainlinkLib.Status latestStatus) = ChainlinkLib.latest(feed, sequencer);
        // Likewise when the feed changed phase more than once since the anchor: no proof can span it.
        if (
            block.timestamp > uint256(o.createdAt) + NO_ROUND_EXPIRY
                && (latest.startedAt <= o.createdAt || latest.roundId >> 64 > (o.anchorRoundId >> 64) + 1)
        ) {
            return _expire(key, o, fee);
        }
        ChainlinkLib.Round memory round =
            ChainlinkLib.proveFirstRoundAfter(feed, o.anchorRoundId, o.createdAt, fillRoundId, previousRoundId);
        if (round.startedAt > uint256(o.createdAt) + orderConfig.maxOrderAge) return _expire(key, o, fee);

        _credit(msg.sender, fee);
        if (
            ChainlinkLib.priceStatus(feed, round) != ChainlinkLib.Status.Valid
                || ChainlinkLib.sequencerStatus(sequencer) != ChainlinkLib.Status.Valid
        ) {
            return _cancel(key, o, CancelReason.InvalidRound, "", 0);
        }
        uint256 price = round.price;
        // A late execution fills at the worse of the fill round and the latest round, so delaying never pays.
        if (block.timestamp > uint256(round.updatedAt) + orderConfig.lateDelay) {
            if (latestStatus != ChainlinkLib.Status.Valid) return _cancel(key, o, CancelReason.LatestPriceInvalid, "", 0);
            price = o.sizeDelta > 0 ? MathLib.max(price, latest.price) : MathLib.min(price, latest.price);
        }
        _fill(key, o, price, round.roundId);
    }

    function _fill(uint256 key, Order memory o, uint256 price, uint80 roundId) internal {
        uint256 reservation = uint256(o.reservation) * RESERVATION_UNIT;
        EngineBase.FillRequest memory request = EngineBase.FillRequest({
            accountId: o.accountId,
            marketId: o.marketId,
            reduceOnly: o.flags & 4 != 0,
            sizeDelta: o.sizeDelta,
            price: price,
            acceptablePrice: o.acceptablePrice == type(uint80).max ? type(uint256).max : o.acceptablePrice,
            reservation: reservation,
            orderKey: key
        });
        try engine.fill(request) returns (EngineBase.FillResult memory result) {
            emit OrderExecuted(key, o.accountId, msg.sender, roundId, price, result.fillPrice, result.feeUsd);
        } catch (bytes memory reason) {
            // Never let the executor's gas limit turn a binding order into a cancel.
            ChainlinkLib.rethrowIfGasStarved(reason);
            bytes4 selector = bytes4(reason);
            bool traderCaused = selector == EngineBase.AcceptablePriceExceeded.selector
                || selector == EngineBase.ReduceOnlyViolated.selector || selector == EngineBase.InsufficientMargin.selector
                || selector == EngineBase.InsufficientCollateral.selector;
            uint256 penalty;
            if (traderCaused) {
                uint256 notional = MathLib.abs(o.sizeDelta).mulDivUp(price, WAD);
                penalty = MathLib.min(notional.mulDivUp(orderConfig.penaltyRate, WAD), reservation);
            }
            _cancel(key, o, traderCaused ? CancelReason.RejectedWithPenalty : CancelReason.Rejected, reason, penalty);
        }
    }

    /// @dev Releases a popped order's reservation, charging the penalty from it first.
    function _cancel(uint256 key, Order memory o, CancelReason reason, bytes memory engineError, uint256 penalty)
        internal
    {
        engine.releaseMargin(o.accountId, uint256(o.reservation) * RESERVATION_UNIT, key);
        if (penalty != 0) engine.chargePenalty(o.accountId, penalty);
        emit OrderCancelled(key, o.accountId, reason, engineError, penalty);
    }

    function _expire(uint256 key, Order memory o, uint256 fee) internal {
        uint256 reward = fee.mulDivDown(orderConfig.expiryRewardShare, WAD);
        if (reward != 0) _credit(msg.sender, reward);
        _credit(engine.getAccount(o.accountId).owner, fee - reward);
        _cancel(key, o, CancelReason.Expired, "", 0);
    }

    function _checkOrder(CreateOrderParams calldata p, bool marketClosed) internal view returns (uint256 feeGwei) {
        if (p.sizeDelta == 0) revert ZeroSize();
        MarketOrderConfig memory bounds = marketOrderConfig[p.marketId];
        uint256 size = MathLib.abs(p.sizeDelta);
        if (size > bounds.maxSize) revert SizeTooLarge(size, bounds.maxSize);
        if (msg.value < bounds.minExecutionFee) revert ExecutionFeeTooLow(msg.value, bounds.minExecutionFee);
        if (msg.value % FEE_UNIT != 0) revert ExecutionFeeNotWholeGwei(msg.value);
        feeGwei = msg.value / FEE_UNIT;
        bool conditional = p.orderType != OrderType.Market;
        if (conditional != (p.triggerPrice != 0) || p.triggerPrice > type(uint80).max) {
            revert InvalidTriggerPrice(p.orderType, p.triggerPrice);
        }
        // Stored in 80 bits; type(uint256).max (no bound) is kept apart. Clamping would silently widen a buy's bound.
        if (p.acceptablePrice > type(uint80).max && p.acceptablePrice != type(uint256).max) {
            revert InvalidAcceptablePrice(p.acceptablePrice, type(uint80).max);
        }
        if (p.orderType == OrderType.TakeProfit && !p.reduceOnly) revert TakeProfitMustReduce();
        if (marketClosed && !p.reduceOnly) revert PriceUnavailable(p.marketId, ChainlinkLib.Status.Stale);
    }

    /// @dev The latest round (its id anchors the order) and the index price that sizes the
    /// reservation. An order that can grow a position needs a valid price now.
    function _latestForOrder(uint8 marketId, EngineBase.OrderTerms memory terms, bool reduceOnly)
        internal
        view
        returns (ChainlinkLib.Round memory round, uint256 indexPrice)
    {
        ChainlinkLib.Status status;
        (round, status) = ChainlinkLib.latest(terms.feed, terms.sequencer);
        if (status == ChainlinkLib.Status.Valid) return (round, round.price);
        if (!reduceOnly) revert PriceUnavailable(marketId, status);
        // Rare (a reduce-only order without a valid price): the engine routes this view to its Governance module.
        indexPrice = Governance(address(engine)).marketState(marketId).lastPrice;
    }

    /// @dev The notional a reservation is priced on: the size at index * (1 + buffer), whatever the
    /// acceptable price, rounded up (the engine applies the rates). An order that can grow a
    /// position must reach the market's minimum notional at the index.
    function _notionalFor(CreateOrderParams calldata p, uint256 indexPrice) internal view returns (uint256 notional) {
        uint256 bufferedPrice = indexPrice.mulDivUp(WAD + orderConfig.marginBuffer, WAD);
        notional = MathLib.abs(p.sizeDelta).mulDivUp(bufferedPrice, WAD);
        uint96 minNotionalUsd = marketOrderConfig[p.marketId].minNotionalUsd;
        // A reduce-only order may close a position of any size, dust included.
        if (!p.reduceOnly && notional.mulDivDown(indexPrice, bufferedPrice) < minNotionalUsd) {
            revert NotionalTooSmall(notional.mulDivDown(indexPrice, bufferedPrice), minNotionalUsd);
        }
    }

    function _enqueue(Order memory o) internal returns (uint256 key) {
        Queue memory q = _queues[o.marketId];
        uint64 seq = q.tail;
        if (q.head < q.overflowEnd || seq - q.head >= QUEUE_RING_SIZE) {
            if (q.head >= q.overflowEnd) q.overflowStart = seq;
            q.overflowEnd = seq + 1;
        }
        q.tail = seq + 1;
        _queues[o.marketId] = q;
        _queued[o.marketId][_position(q, seq)] = o;
        key = queuedKey(o.marketId, seq);
    }

    /// @dev Where order `seq` of a queue is stored (see `Queue`).
    function _position(Queue memory q, uint64 seq) internal pure returns (uint256) {
        return seq >= q.overflowStart && seq < q.overflowEnd ? QUEUE_RING_SIZE + uint256(seq) : seq % QUEUE_RING_SIZE;
    }

    function _storeConditional(Order memory o) internal returns (uint256 key) {
        uint64 id = ++conditionalCount;
        _conditional[id] = o;
        key = id;
    }

    /// @dev Cancels a pending order of a liquidated account (a queued key names a live order:
    /// liquidation cancels only those) and returns its execution fee.
    function _cancelForLiquidation(uint256 key, uint40 accountId) internal returns (uint256 fee) {
        uint256 feeGwei;
        if (key & QUEUED_FLAG == 0) {
            feeGwei = _conditional[uint64(key)].executionFeeGwei;
            delete _conditional[uint64(key)];
        } else {
            uint8 marketId = uint8(key >> 64);
            uint256 position = _position(_queues[marketId], uint64(key));
            feeGwei = _queued[marketId][position].executionFeeGwei;
            delete _queued[marketId][position];
        }
        fee = feeGwei * FEE_UNIT;
        emit OrderCancelled(key, accountId, CancelReason.Liquidated, "", 0);
    }

    /// @dev The first entry that is unclaimed or whose order is no longer pending.
    function _claimPendingSlot(uint40 accountId) internal returns (uint8 index) {
        uint8 claimed = _claimedMask(accountId);
        while (index < TABLE_ENTRIES && _holdsPendingOrder(accountId, claimed, index)) ++index;
        if (index == TABLE_ENTRIES) revert TooManyPendingOrders(accountId, MAX_PENDING_ORDERS);
        _setPendingMask(accountId, claimed | uint8(1 << index));
    }

    /// @dev Whether entry `index` of the account's table (`claimed`: its claimed mask) holds a pending order.
    function _holdsPendingOrder(uint40 accountId, uint8 claimed, uint256 index) internal view returns (bool) {
        return claimed & (1 << index) != 0 && _isPending(_pendingKey(accountId, index));
    }

    /// @dev `pendingMask` with the engine's latest market order already read.
    function _pendingMask(uint40 accountId, uint256 latestMarketOrder) internal view returns (uint8 mask) {
        uint8 claimed = _claimedMask(accountId);
        for (uint256 index; index < TABLE_ENTRIES; ++index) {
            if (_holdsPendingOrder(accountId, claimed, index)) mask |= uint8(1 << index);
        }
        if (_isPending(latestMarketOrder)) mask |= uint8(1 << TABLE_ENTRIES);
    }

    /// @dev Whether a key held in the table or by the engine names a pending order; 0 (none) does
    /// not, and is answered without a storage read. A queued order is pending until its queue's
    /// head passes it (a held key is never a liquidation's hole: a liquidation clears the mask and
    /// the engine's key); a conditional one until it is triggered or cancelled (deleted).
    function _isPending(uint256 key) internal view returns (bool) {
        if (key == 0) return false;
        if (key & QUEUED_FLAG == 0) return _conditional[uint64(key)].accountId != 0;
        return uint64(key) >= _queues[uint8(key >> 64)].head;
    }

    function _claimedMask(uint40 accountId) internal view returns (uint8) {
        return uint8(_pendingTable[accountId][0]);
    }

    function _setPendingMask(uint40 accountId, uint8 mask) internal {
        uint256[3] storage table = _pendingTable[accountId];
        table[0] = (table[0] & ~uint256(type(uint8).max)) | mask;
    }

    function _pendingKey(uint40 accountId, uint256 index) internal view returns (uint256) {
        (uint256 word, uint256 shift) = _pendingKeyPosition(index);
        return uint80(_pendingTable[accountId][word] >> shift);
    }

    function _setPendingKey(uint40 accountId, uint256 index, uint256 key) internal {
        (uint256 word, uint256 shift) = _pendingKeyPosition(index);
        uint256[3] storage table = _pendingTable[accountId];
        table[word] = (table[word] & ~(uint256(type(uint80).max) << shift)) | (key << shift);
    }

    /// @dev Keys 0-2 follow the mask in slot 0; keys 3-5 and 6-7 fill slots 1 and 2.
    function _pendingKeyPosition(uint256 index) internal pure returns (uint256 word, uint256 shift) {
        return index < 3 ? (0, 8 + 80 * index) : ((index - 3) / 3 + 1, 80 * ((index - 3) % 3));
    }

    function _credit(address to, uint256 amount) internal {
        nativeCredits[to] += amount;
        emit NativeCredited(to, amount);
    }

    function _onlyRisk() internal view {
        if (!engine.hasRole(engine.RISK_ROLE(), msg.sender)) revert NotRiskRole(msg.sender);
    }

    function _setOrderConfig(OrderConfig memory c) internal {
        if (c.maxOrderAge < 30 || c.maxOrderAge > 1 days) revert ParameterOutOfBounds("maxOrderAge", c.maxOrderAge, 1 days);
        if (c.lateDelay < 5 || c.lateDelay > 1 hours) revert ParameterOutOfBounds("lateDelay", c.lateDelay, 1 hours);
        if (c.marginBuffer > 0.2e18) revert ParameterOutOfBounds("marginBuffer", c.marginBuffer, 0.2e18);
        if (c.penaltyRate > 0.01e18) revert ParameterOutOfBounds("penaltyRate", c.penaltyRate, 0.01e18);
        if (c.triggerRewardShare > 0.5e18) revert ParameterOutOfBounds("triggerRewardShare", c.triggerRewardShare, 0.5e18);
        if (c.expiryRewardShare > 0.5e18) revert ParameterOutOfBounds("expiryRewardShare", c.expiryRewardShare, 0.5e18);
        orderConfig = c;
        emit OrderConfigSet(c);
    }

    function _popCount(uint8 x) internal pure returns (uint256 count) {
        for (; x != 0; x &= x - 1) ++count;
    }
}
