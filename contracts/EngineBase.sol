// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {ChainlinkLib} from "./libraries/ChainlinkLib.sol";
import {SkewCurveLib} from "./libraries/SkewCurveLib.sol";
import {FundingLib} from "./libraries/FundingLib.sol";
import {Vault} from "./Vault.sol";

/// @dev Orders store their margin reservation in whole units of 1e-6 USD (in WAD).
uint256 constant RESERVATION_UNIT = 1e12;

/// @title EngineBase
/// @notice Storage, types, errors, events and the shared internal logic of the clearing engine
/// (SPEC sections 3, 4, 5). The engine and its two modules, `Governance` and `Liquidator`,
/// inherit it; the engine delegatecalls the modules, so all three run on the engine's storage
/// and the engine stays under the 24 KiB deploy limit.
abstract contract EngineBase is AccessControl, ReentrancyGuardTransient {
    using MathLib for uint256;
    using MathLib for int256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /* ------------------------------------------------------------------ */
    /*                              CONSTANTS                              */
    /* ------------------------------------------------------------------ */

    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint256 public constant MAX_MARKETS = 64;
    uint256 public constant MAX_POSITIONS = 16;
    uint256 public constant MAX_TIERS = 4;
    uint256 internal constant WAD = 1e18;

    // Hard bounds that no parameter setter can cross (WAD fractions unless noted).
    uint256 internal constant MAX_KMAX = 0.05e18;
    uint256 internal constant MAX_TRADE_FEE = 0.01e18;
    uint256 internal constant MAX_LIQUIDATION_FEE = 0.05e18;
    uint256 internal constant MAX_GAP_BUFFER = 0.1e18;
    uint256 internal constant MAX_DEVIATION = 0.05e18;
    uint256 internal constant MIN_IMR = 0.01e18; // 100x leverage at most
    uint256 internal constant MAX_FUNDING_CAP = 0.05e18; // per interval
    uint256 internal constant MIN_FUNDING_INTERVAL = 1 hours;
    uint256 internal constant MAX_FUNDING_INTERVAL = 1 days;
    uint256 internal constant MAX_BORROW_RATE = 10e18; // 1000% a year
    uint256 internal constant MIN_HEARTBEAT = 60;
    uint256 internal constant MAX_HEARTBEAT = 2 days;
    uint256 internal constant MAX_KEEPER_REWARD = 1_000e18;
    uint256 internal constant MAX_MIN_COLLATERAL = 1_000e18;
    uint256 internal constant MIN_PNL_FACTOR = 0.1e18;

    /* ------------------------------------------------------------------ */
    /*                                TYPES                                */
    /* ------------------------------------------------------------------ */

    /// @notice A market's parameters: everything a market is, in one printable struct. Ordered
    /// by use: an accrual reads the feed and the next three slots, a fill the fees' slot too.
    struct MarketConfig {
        ChainlinkLib.Feed feed;
        uint128 skewScale; // S, size units (WAD)
        uint128 maxOpenInterestUsd; // per side, USD notional (WAD)
        uint32 fundingInterval; // seconds
        int64 interestRate; // per funding interval
        uint64 fundingCap; // per funding interval
        uint64 borrowFloor; // yearly rate at utilization 0
        uint64 borrowKink; // utilization of the kink
        uint64 borrowKinkRate; // yearly rate at the kink
        uint64 borrowMaxRate; // yearly rate at full utilization
        bool closed; // a closed market has no valid price: no opens, positions valued against their holders
        uint64 kMax; // largest premium a fill or liquidation pays, and the skew bound |K| <= kMax * S
        uint64 takerFee; // on the part that grows |K|
        uint64 makerFee; // on the part that shrinks |K|
        uint64 liquidationFee; // of closed notional
        uint64 deviation; // the feed's deviation threshold
        uint64 gapBuffer; // allowance for price gaps; invalid prices are moved against accounts by it
    }

    /// @notice A margin tier keyed on the market's total open interest (USD notional).
    struct MarginTier {
        uint128 maxOpenInterestUsd; // the tier applies while total open interest is at most this
        uint64 imr;
        uint64 mmr;
    }

    /// @notice Protocol-wide parameters, in slots by use: margin checks (0), fills (1),
    /// liquidations and LP redemptions (2), so an open reads two.
    struct GlobalConfig {
        uint128 keeperRewardFloor; // USD (WAD); also part of every account's maintenance requirement
        uint128 minCollateral; // USD (WAD) for any account that holds a position
        uint64 reserveFactor; // sum of max(long, short) notional <= reserveFactor * pool base value
        uint64 lpFeeShare; // of trading fees; the insurance fund gets insuranceFeeShare and the treasury the rest
        uint64 insuranceFeeShare;
        uint64 maxPnlFactor; // traders' net profit counts up to this times the pool's base value
        uint128 keeperRewardCap; // USD (WAD)
        uint64 keeperRewardShare; // of the liquidation fee
        uint64 lossHaircut; // traders' net loss counts at (1 - haircut) for redemptions
    }

    /// @notice A market's aggregates and accumulators, as views return them (`StoredMarketState`
    /// is how they are stored). The aggregates value the pool in O(1) per market: `fundingSnapSum`
    /// and `borrowSnapSum` are exact WAD^2 products so that aggregate and per-position values only
    /// differ by the per-position rounding, which favours the protocol.
    struct MarketState {
        uint128 longSize;
        uint128 shortSize;
        int256 costSum; // sum of position cost bases (long > 0, short < 0)
        int256 fundingSnapSum; // sum of size * fundingSnap
        uint256 borrowSnapSum; // sum of |size| * borrowSnap
        int128 cumFunding; // per unit of size, USD (WAD)
        uint128 cumBorrow; // per unit of |size|, USD (WAD)
        int128 cumRate; // sum of rate * dt / interval: the realized rate since listing
        int128 cumPremium; // sum of premium * dt / interval
        uint64 lastAccrual;
        uint64 lastSettlement;
        uint128 lastPrice; // last valid index price
        int128 settledCumRate; // cumRate at the last settlement
        int128 settledCumPremium;
    }

    /// @dev `MarketState` packed so that accrual reads and writes two slots (4: the funding and
    /// borrowing indices and the accrual time; 5: the realized-rate sums and the last valid price)
    /// and settlement one more (6). Ranges: the indices hold 2.6e15 USD per unit of size (WAD),
    /// the rate sums 6e5 intervals at a 100% rate, the price 7.9e10 USD (the feed bound's width),
    /// times run to 2106.
    struct StoredMarketState {
        uint128 longSize;
        uint128 shortSize;
        int256 costSum;
        int256 fundingSnapSum;
        uint256 borrowSnapSum;
        int112 cumFunding;
        uint112 cumBorrow;
        uint32 lastAccrual;
        int80 cumRate;
        int80 cumPremium;
        uint96 lastPrice;
        uint32 lastSettlement;
        int80 settledCumRate;
        int80 settledCumPremium;
    }

    /// @dev Packing: slot 0 size + cost; slot 1 fundingSnap + borrowSnap + tier.
    struct Position {
        int128 size; // base units (WAD), long > 0
        int128 cost; // size * entry price (WAD USD), signed like size
        int128 fundingSnap;
        uint120 borrowSnap;
        uint8 tier; // margin tier fixed when the position opened or last grew
    }

    /// @dev Packing: slot 0 collateral + reserved margin + latest market order, the three a new
    /// order writes (so an account's first order creates no slot in the order book) and its fill or
    /// cancel clears; slot 1 owner + subaccount + market mask + the order-table flag. A liquidation
    /// calls the order book only when either says an order may be pending.
    struct Account {
        int120 collateral; // WAD; negative: a debt to the pool
        uint56 reservedUnits; // margin held by pending orders, in RESERVATION_UNITs (7.2e10 USD at most)
        uint80 latestMarketOrder; // the order book's key of the account's latest market order while pending; 0: none
        address owner;
        uint16 subaccount;
        uint64 marketMask; // bit m set: a position in market m
        bool usesOrderTable; // an order entered the order book's pending-order table since the last liquidation
    }

    /// @notice An account's valuation (SPEC section 3).
    struct Health {
        int256 equity; // collateral + PnL at the index - accrued funding and borrowing
        uint256 positivePnl; // sum of positive per-position PnL (net of own funding and borrowing)
        uint256 initialMargin;
        uint256 maintenanceMargin;
        bool pricesValid; // every held market has a valid price
        uint256 positionCount;
    }

    /// @dev The ledger entries every fill writes, in two slots: slot 0 pool cash and total
    /// collateral, slot 1 the insurance fund and the treasury (128 bits hold 1.7e20 USD in WAD).
    struct Ledger {
        int128 poolCash;
        int128 totalCollateral; // sum of collateral, negative balances included
        uint128 insuranceFund;
        uint128 treasury;
    }

    /// @dev Sums over markets, in one slot: reserved notional (max(long, short) at the last valid
    /// price, rounded up per market) and the funding and borrowing owed to the pool at the stored
    /// accumulators (rounded down per market). Equal to the per-market sums at all times.
    struct PoolTotals {
        uint128 reservedUsd;
        int128 receivable;
    }

    /// @notice The pool's ledger entries as they stood at an epoch's cutoff.
    struct LedgerCheckpoint {
        uint64 epoch;
        int256 poolCash;
        uint256 totalDebt;
    }

    /// @notice A market's aggregates as they stood at an epoch's cutoff.
    struct MarketCheckpoint {
        uint64 epoch;
        StoredMarketState state;
    }

    /// @notice What the order book needs of a market to create, trigger and execute its orders.
    struct OrderTerms {
        ChainlinkLib.Feed feed; // zero for a market not listed
        ChainlinkLib.Sequencer sequencer;
        bool closed;
    }

    /// @notice What the order book asks the engine to fill, at a price it has proved.
    struct FillRequest {
        uint40 accountId;
        uint8 marketId;
        bool reduceOnly;
        int256 sizeDelta;
        uint256 price; // index price of the fill round (WAD)
        uint256 acceptablePrice; // worst average fill price the trader accepts
        uint256 reservation; // margin the order reserved, released by the fill
        uint256 orderKey; // the order, forgotten by the engine if it is the account's latest market order
    }

    struct FillResult {
        uint256 fillPrice;
        uint256 feeUsd;
        uint256 impactUsd;
        int256 realizedPnl;
    }

    /// @dev One change of one position: an order fill, or a liquidation close.
    struct Trade {
        uint40 accountId;
        uint8 marketId;
        int256 sizeDelta;
        uint256 price;
        uint256 acceptablePrice;
        bool reduceOnly;
        bool passToPool; // liquidation in a market without a valid price: no impact, no trading fee
        bool accrued; // the caller accrued the market in this call already (a liquidation close)
    }

    /// @dev Scratch values of one trade, kept in memory to stay clear of the stack limit.
    struct TradeMath {
        int256 oldSize;
        int256 newSize;
        uint256 closing;
        uint256 opening;
        int256 realized;
        int256 fundingOwed;
        uint256 borrowOwed;
        int256 newCost;
        uint256 fees;
        uint256 othersFeeCut; // the insurance and treasury shares of the fees
    }

    /* ------------------------------------------------------------------ */
    /*                               ERRORS                                */
    /* ------------------------------------------------------------------ */

    error NotOrderBook(address caller);
    error NotSelf(address caller);
    error ModulesAlreadySet();
    error UnknownMarket(uint256 marketId);
    error UnknownAccount(uint256 accountId);
    error TooManyMarkets(uint256 count);
    error ParameterOutOfBounds(string name, uint256 value, uint256 bound);
    error MaintenanceBelowBound(uint256 mmr, uint256 required);
    error ZeroAmount();
    error NotAccountOwner(uint40 accountId, address caller);
    error InsufficientMargin(int256 equityWithoutProfit, uint256 required);
    error InsufficientCollateral(int256 collateral, uint256 required);
    error WithdrawExceedsCollateral(uint256 amount, int256 collateral);
    error PricesInvalid(uint40 accountId);
    error InvalidPrice(uint8 marketId, ChainlinkLib.Status status);
    error MarketClosed(uint8 marketId);
    error OpeningPaused();
    error ReduceOnlyViolated(int256 size, int256 sizeDelta);
    error AcceptablePriceExceeded(uint256 fillPrice, uint256 acceptablePrice);
    error SkewBoundExceeded(uint256 skew, uint256 bound);
    error OpenInterestCapExceeded(uint8 marketId, uint256 openInterestUsd, uint256 cap);
    error ReserveExceeded(uint256 reservedUsd, uint256 allowed);
    error TooManyPositions(uint256 count);
    error NotLiquidatable(int256 equity, uint256 maintenanceMargin);
    error FundingNotDue(uint8 marketId, uint256 nextSettlement);
    error InsufficientFund(uint256 amount, uint256 available);
    error ReservationTooLarge(uint256 released, uint256 reserved);
    error NotPool(address caller);
    error CheckpointMissing(uint64 epoch, uint256 marketId);

    /* ------------------------------------------------------------------ */
    /*                               EVENTS                                */
    /* ------------------------------------------------------------------ */

    event MarketListed(uint8 indexed marketId, MarketConfig config, MarginTier[] tiers);
    event MarketConfigUpdated(uint8 indexed marketId, MarketConfig config);
    event MarginTiersUpdated(uint8 indexed marketId, MarginTier[] tiers);
    event GlobalConfigUpdated(GlobalConfig config);
    event SequencerUpdated(address feed, uint32 gracePeriod);
    event OpeningPausedSet(bool paused);
    event ModulesSet(address orderBook, address liquidityPool);
    event AccountCreated(uint40 indexed accountId, address indexed owner, uint16 subaccount);
    event CollateralDeposited(uint40 indexed accountId, address indexed from, uint256 amountWad, int256 collateral);
    event CollateralWithdrawn(uint40 indexed accountId, address indexed to, uint256 amountWad, int256 collateral);
    event MarginReserved(uint40 indexed accountId, uint256 amount, uint256 reservedMargin);
    event MarginReleased(uint40 indexed accountId, uint256 amount, uint256 reservedMargin);
    event PenaltyCharged(uint40 indexed accountId, uint256 amount);
    /// @notice Every fill and liquidation close: enough to rebuild the position and the market aggregates.
    event PositionChanged(
        uint40 indexed accountId,
        uint8 indexed marketId,
        int256 sizeDelta,
        uint256 price,
        uint256 fillPrice,
        int256 newSize,
        int256 newCost,
        int256 realizedPnl,
        uint256 feeUsd,
        uint256 impactUsd,
        int256 fundingPaid,
        uint256 borrowingPaid,
        int256 collateral
    );
    event MarketAccrued(uint8 indexed marketId, int256 cumFunding, uint256 cumBorrow, uint256 price, int256 rate);
    event FundingSettled(
        uint8 indexed marketId, int256 averageRate, int256 averagePremium, int256 cumFunding, uint256 elapsed
    );
    event Liquidated(
        uint40 indexed accountId,
        address indexed liquidator,
        uint256 notionalUsd,
        uint256 feeUsd,
        uint256 keeperReward,
        uint256 rewardFromInsurance,
        int256 remainingCollateral
    );
    event BadDebt(uint40 indexed accountId, uint256 shortfall, uint256 fromInsurance, uint256 fromPool);
    event DebtRepaid(uint40 indexed accountId, uint256 amount);
    event InsuranceFunded(address indexed from, uint256 amountWad);
    event TreasuryWithdrawn(address indexed to, uint256 amountWad);
    event KeeperCreditsClaimed(address indexed keeper, address to, uint256 amountWad);
    event PoolCashMoved(int256 delta, int256 poolCash);
    event EpochOpened(uint64 indexed epoch, uint64 cutoff);

    /* ------------------------------------------------------------------ */
    /*                               STORAGE                               */
    /* ------------------------------------------------------------------ */

    Vault public immutable vault;
    uint8 internal immutable tokenDecimals;

    // One slot: every fill and liquidation reads the order book's address, the pending LP cutoff
    // (the lazy checkpoints, SPEC section 6: the first change after it records the prior value)
    // and, when it opens, the pause.
    address public orderBook;
    uint64 public cutoffTime = type(uint64).max;
    bool public openingPaused;

    address public liquidityPool;
    uint8 public marketCount;
    uint40 public accountCount;

    GlobalConfig public globalConfig;
    ChainlinkLib.Sequencer public sequencer;

    mapping(uint8 => MarketConfig) internal _marketConfigs;
    // A fixed array, so no length is read: a tier with imr 0 is not set (a set tier's imr is at
    // least MIN_IMR), and the set tiers come first.
    mapping(uint8 => MarginTier[MAX_TIERS]) internal _marginTiers;
    mapping(uint8 => StoredMarketState) internal _marketStates;

    mapping(uint40 => Account) internal _accounts;
    mapping(uint40 => mapping(uint8 => Position)) internal _positions;
    mapping(address => mapping(uint16 => uint40)) public accountIdOf;

    // The ledger, in WAD. Token balance of the vault (scaled) >= the sum of the non-negative
    // entries: collateral, poolCash, insurance, treasury, keeper credits (and the pool's own buckets).
    Ledger internal _ledger;
    uint256 public totalDebt; // sum of negative collateral: a receivable of the pool
    mapping(address => uint256) public keeperCredits;

    uint64 public cutoffEpoch; // the epoch whose cutoff (`cutoffTime`) is pending
    LedgerCheckpoint internal _ledgerCheckpoint;
    mapping(uint8 => MarketCheckpoint) internal _marketCheckpoints;

    // The sums over markets of `_reservedOf` and `_receivable`, moved by every change of a market, so the
    // reserve check and the profit cap read the pool's receivables and reserve in O(1).
    PoolTotals internal _poolTotals;

    /* ------------------------------------------------------------------ */
    /*                             CONSTRUCTOR                             */
    /* ------------------------------------------------------------------ */

    /// @param vault_ the collateral vault (immutable, so every module is built with the same one)
    constructor(Vault vault_) {
        vault = vault_;
        tokenDecimals = vault_.tokenDecimals();
    }

    /* ------------------------------------------------------------------ */
    /*                             LEDGER VIEWS                            */
    /* ------------------------------------------------------------------ */

    /// @notice The pool's cash in the ledger (WAD).
    /// @return the pool's cash
    function poolCash() external view returns (int256) {
        return _ledger.poolCash;
    }

    /// @notice The sum of every account's collateral, negative balances included (WAD).
    /// @return the total
    function totalCollateral() external view returns (int256) {
        return _ledger.totalCollateral;
    }

    /// @notice The insurance fund (WAD).
    /// @return the fund
    function insuranceFund() external view returns (uint256) {
        return _ledger.insuranceFund;
    }

    /// @notice Treasury fees not withdrawn yet (WAD).
    /// @return the treasury
    function treasury() external view returns (uint256) {
        return _ledger.treasury;
    }

    /* ------------------------------------------------------------------ */
    /*                          INTERNAL: TRADES                           */
    /* ------------------------------------------------------------------ */

    /// @dev Validate → accrue → price on the curve → realize → write the position and the
    /// aggregates → settle with the pool → check margin when the trade opened anything.
    function _trade(Trade memory t, Account storage account) internal returns (FillResult memory result) {
        MarketConfig storage config = _marketConfigs[t.marketId];
        StoredMarketState storage state = _marketStates[t.marketId];
        Position storage pos = _positions[t.accountId][t.marketId];
        if (!t.accrued) _accrue(t.marketId, config);

        TradeMath memory m;
        m.oldSize = pos.size;
        m.newSize = m.oldSize + t.sizeDelta;
        bool reducing = (t.sizeDelta ^ m.oldSize) < 0;
        m.closing = reducing ? MathLib.min(MathLib.abs(t.sizeDelta), MathLib.abs(m.oldSize)) : 0;
        m.opening = MathLib.abs(t.sizeDelta) - m.closing;
        if (t.reduceOnly && m.opening != 0) revert ReduceOnlyViolated(m.oldSize, t.sizeDelta);

        int256 skew = uint256(state.longSize).toInt() - uint256(state.shortSize).toInt();
        SkewCurveLib.Quote memory q;
        if (t.passToPool) {
            q.fillPrice = t.price;
        } else {
            q = SkewCurveLib.quote(
                skew, t.sizeDelta, t.price, config.skewScale, config.kMax, config.takerFee, config.makerFee
            );
        }
        if (t.sizeDelta > 0 ? q.fillPrice > t.acceptablePrice : q.fillPrice < t.acceptablePrice) {
            revert AcceptablePriceExceeded(q.fillPrice, t.acceptablePrice);
        }
        if (m.opening != 0) {
            if (openingPaused) revert OpeningPaused();
            // The increasing part starts where the reducing part left the skew.
            int256 skewBeforeOpening = skew + (reducing ? -m.oldSize : int256(0));
            _checkSkewBound(config, skew + t.sizeDelta, skewBeforeOpening);
        }

        (m.fundingOwed, m.borrowOwed) = _accruedOnPosition(pos, state.cumFunding, state.cumBorrow);
        int256 cost = pos.cost;
        int256 closedCost;
        if (m.closing != 0) {
            uint256 oldAbs = MathLib.abs(m.oldSize);
            closedCost = m.closing == oldAbs ? cost : MathLib.mulDivFloor(cost, m.closing, oldAbs);
            int256 closedSigned = m.oldSize > 0 ? m.closing.toInt() : -m.closing.toInt();
            m.realized = MathLib.mulDivFloor(closedSigned, t.price, WAD) - closedCost;
            if (m.realized > 0) m.realized = _scaleProfit(m.realized);
        }
        // Impact is charged apart from the cost basis, so a fresh position shows no profit at the index.
        int256 openedSigned = t.sizeDelta > 0 ? m.opening.toInt() : -m.opening.toInt();
        m.newCost = cost - closedCost + MathLib.mulDivCeil(openedSigned, t.price, WAD);
        _setPosition(state, pos, m.newSize, m.newCost);
        if (m.opening != 0) {
            pos.tier = _tierFor(t.marketId, state, t.price);
            _checkOpenInterest(t.marketId, config, state, t.price, t.sizeDelta > 0);
        }
        _updateMask(account, t.marketId, m.newSize);

        m.fees = q.takerFeeUsd + q.makerFeeUsd;
        m.othersFeeCut = _creditFeeShares(m.fees);
        int256 delta = m.realized - m.fundingOwed - m.borrowOwed.toInt() - (q.impactUsd + m.fees).toInt();
        _settleWithPool(account, delta, m.othersFeeCut);

        if (m.opening != 0) {
            Health memory h = _health(account, t.accountId, t.marketId, t.price);
            if (!h.pricesValid) revert PricesInvalid(t.accountId);
            uint256 minCollateral = globalConfig.minCollateral;
            if (account.collateral < minCollateral.toInt()) {
                revert InsufficientCollateral(account.collateral, minCollateral);
            }
            _requireInitialMargin(h, _reservedMargin(account));
        }

        result = FillResult(q.fillPrice, m.fees, q.impactUsd, m.realized);
        emit PositionChanged(
            t.accountId,
            t.marketId,
            t.sizeDelta,
            t.price,
            q.fillPrice,
            m.newSize,
            m.newCost,
            m.realized,
            m.fees,
            q.impactUsd,
            m.fundingOwed,
            m.borrowOwed,
            account.collateral
        );
    }

    /// @dev Swaps a position's contribution to its market's aggregates for the new size and
    /// cost at the current accumulators, and writes the position.
    function _setPosition(StoredMarketState storage state, Position storage pos, int256 newSize, int256 newCost) internal {
        int256 oldSize = pos.size;
        int256 cumFunding = state.cumFunding;
        uint256 cumBorrow = state.cumBorrow;
        // What the position owed (exact, WAD^2) leaves the market's receivable with it: its new
        // snapshots are the current accumulators.
        int256 fundingOwed = oldSize * (cumFunding - pos.fundingSnap);
        uint256 borrowOwed = MathLib.abs(oldSize) * (cumBorrow - pos.borrowSnap);
        _moveTotalsForFill(state, oldSize, newSize, fundingOwed, borrowOwed);

        state.costSum += newCost - pos.cost;
        state.fundingSnapSum += newSize * cumFunding - oldSize * pos.fundingSnap;
        state.borrowSnapSum = state.borrowSnapSum + MathLib.abs(newSize) * cumBorrow - MathLib.abs(oldSize) * pos.borrowSnap;
        pos.size = newSize.toInt128();
        pos.cost = newCost.toInt128();
        // A closed position's snapshots mean nothing: its slots are cleared, for the refund.
        bool open = newSize != 0;
        pos.fundingSnap = open ? int128(cumFunding) : int128(0);
        pos.borrowSnap = open ? cumBorrow.toUint120() : 0;
        if (!open) pos.tier = 0;
    }

    /// @dev Writes the market's sides for a position going from `oldSize` to `newSize` and moves
    /// the pool totals for it, the position taking out the `fundingOwed` and `borrowOwed` (WAD^2)
    /// it owed. Called before the snapshot sums are written.
    function _moveTotalsForFill(
        StoredMarketState storage state,
        int256 oldSize,
        int256 newSize,
        int256 fundingOwed,
        uint256 borrowOwed
    ) internal {
        uint256 longSize = state.longSize;
        uint256 shortSize = state.shortSize;
        uint256 lastPrice = state.lastPrice;
        int256 marketFundingOwed = (longSize.toInt() - shortSize.toInt()) * state.cumFunding - state.fundingSnapSum;
        uint256 marketBorrowOwed = (longSize + shortSize) * state.cumBorrow - state.borrowSnapSum;
        uint256 reservedBefore = _reservedOf(longSize, shortSize, lastPrice);
        if (oldSize > 0) longSize -= uint256(oldSize);
        else shortSize -= uint256(-oldSize);
        if (newSize > 0) longSize += uint256(newSize);
        else shortSize += uint256(-newSize);
        state.longSize = longSize.toUint128();
        state.shortSize = shortSize.toUint128();
        _moveTotals(
            reservedBefore,
            _receivableOf(marketFundingOwed, marketBorrowOwed),
            _reservedOf(longSize, shortSize, lastPrice),
            _receivableOf(marketFundingOwed - fundingOwed, marketBorrowOwed - borrowOwed)
        );
    }

    /// @dev Funding (signed; negative means the position receives) and borrowing a position owes
    /// since its snapshots, both rounded against the position.
    function _accruedOnPosition(Position storage pos, int256 cumFunding, uint256 cumBorrow)
        internal
        view
        returns (int256 fundingOwed, uint256 borrowOwed)
    {
        int256 size = pos.size;
        if (size == 0) return (0, 0);
        fundingOwed = MathLib.mulDivCeil(size, (cumFunding - pos.fundingSnap).abs(), WAD);
        if (cumFunding < pos.fundingSnap) fundingOwed = -MathLib.mulDivFloor(size, (pos.fundingSnap - cumFunding).abs(), WAD);
        borrowOwed = MathLib.abs(size).mulDivUp(cumBorrow - pos.borrowSnap, WAD);
    }

    /// @dev Applies a change to an account's collateral whose counterparty is the pool, less the
    /// fee shares already credited to the insurance fund and treasury. The pool receives only
    /// what is collected; the rest becomes a debt it is owed.
    function _settleWithPool(Account storage account, int256 delta, uint256 othersCut) internal {
        _checkpointLedger();
        int256 before = account.collateral;
        int256 afterwards = before + delta;
        int256 debtChange = (-afterwards).pos().toInt() - (-before).pos().toInt();
        account.collateral = afterwards.toInt120();
        if (debtChange > 0) totalDebt += uint256(debtChange);
        else if (debtChange < 0) totalDebt -= uint256(-debtChange);
        Ledger storage ledger = _ledger;
        ledger.totalCollateral = (ledger.totalCollateral + delta).toInt128();
        ledger.poolCash = (ledger.poolCash - delta - othersCut.toInt() - debtChange).toInt128();
    }

    /// @dev Credits the insurance and treasury shares of trading fees and returns their sum; the
    /// LP share stays with the pool through `_settleWithPool`.
    function _creditFeeShares(uint256 fees) internal returns (uint256 othersCut) {
        if (fees == 0) return 0;
        GlobalConfig storage g = globalConfig;
        uint256 lpShare = fees.mulDivUp(g.lpFeeShare, WAD);
        uint256 insuranceShare = fees.mulDivDown(g.insuranceFeeShare, WAD);
        if (insuranceShare > fees - lpShare) insuranceShare = fees - lpShare;
        Ledger storage ledger = _ledger;
        ledger.insuranceFund += insuranceShare.toUint128();
        ledger.treasury += (fees - lpShare - insuranceShare).toUint128();
        othersCut = fees - lpShare;
    }

    /// @dev Realized profit is scaled by min(1, cap / profit) while traders' net profit exceeds
    /// the cap (maxPnlFactor times the pool's base value) or the pool value is not positive.
    function _scaleProfit(int256 profit) internal view returns (int256) {
        int256 base = _poolBaseValue();
        int256 tradersPnl;
        for (uint8 i; i < marketCount; ++i) {
            StoredMarketState storage s = _marketStates[i];
            int256 skew = uint256(s.longSize).toInt() - uint256(s.shortSize).toInt();
            tradersPnl += MathLib.mulDivCeil(skew, s.lastPrice, WAD) - s.costSum;
        }
        int256 cap = base > 0 ? MathLib.mulDivFloor(base, globalConfig.maxPnlFactor, WAD) : int256(0);
        if (tradersPnl <= cap) return profit;
        if (cap <= 0) return 0;
        return MathLib.mulDivFloor(profit, uint256(cap), uint256(tradersPnl));
    }

    /// @dev The part of a fill that increases the trader's own size must not leave |K| above
    /// kMax * S, unless that part shrinks |K|.
    function _checkSkewBound(MarketConfig storage config, int256 skewAfter, int256 skewBeforeOpening) internal view {
        uint256 bound = uint256(config.kMax).mulDivDown(config.skewScale, WAD);
        uint256 skewAbs = MathLib.abs(skewAfter);
        if (skewAbs > bound && skewAbs > MathLib.abs(skewBeforeOpening)) revert SkewBoundExceeded(skewAbs, bound);
    }

    /// @dev The cap binds the side the fill opened on only: a price move that takes the other
    /// side over its cap must not block trades that offset it.
    function _checkOpenInterest(
        uint8 marketId,
        MarketConfig storage config,
        StoredMarketState storage state,
        uint256 price,
        bool openedLong
    ) internal view {
        uint256 cap = config.maxOpenInterestUsd;
        uint256 sideUsd = uint256(openedLong ? state.longSize : state.shortSize).mulDivUp(price, WAD);
        if (sideUsd > cap) revert OpenInterestCapExceeded(marketId, sideUsd, cap);
        // The totals hold this market at its last valid price; the fill's own price replaces it.
        uint256 reserved = _poolTotals.reservedUsd - _reservedOf(state.longSize, state.shortSize, state.lastPrice)
            + _reservedOf(state.longSize, state.shortSize, price);
        int256 base = _poolBaseValue();
        uint256 allowed = base > 0 ? uint256(base).mulDivDown(globalConfig.reserveFactor, WAD) : 0;
        if (reserved > allowed) revert ReserveExceeded(reserved, allowed);
    }

    /// @dev The tier of a position is the one its market's total open interest falls in after
    /// the fill; the last tier applies beyond every threshold.
    function _tierFor(uint8 marketId, StoredMarketState storage state, uint256 price) internal view returns (uint8) {
        uint256 oiUsd = (uint256(state.longSize) + state.shortSize).mulDivUp(price, WAD);
        MarginTier[MAX_TIERS] storage tiers = _marginTiers[marketId];
        for (uint256 i; i + 1 < MAX_TIERS; ++i) {
            // The threshold first: the common case reads one slot.
            if (oiUsd <= tiers[i].maxOpenInterestUsd || tiers[i + 1].imr == 0) return uint8(i);
        }
        return uint8(MAX_TIERS - 1);
    }

    /// @dev The initial margin rate of the tier a position opened now at `price` would get.
    function _initialMarginRate(uint8 marketId, uint256 price) internal view returns (uint256 imr) {
        imr = _marginTiers[marketId][_tierFor(marketId, _marketStates[marketId], price)].imr;
        // A listed market has a first tier and a set tier's rate is positive: no market count read.
        if (imr == 0) revert UnknownMarket(marketId);
    }

    /// @dev The number of tiers set for a market.
    function _tierCount(uint8 marketId) internal view returns (uint256 count) {
        MarginTier[MAX_TIERS] storage tiers = _marginTiers[marketId];
        while (count < MAX_TIERS && tiers[count].imr != 0) ++count;
    }

    function _updateMask(Account storage account, uint8 marketId, int256 newSize) internal {
        uint64 bit = uint64(1) << marketId;
        uint64 mask = account.marketMask;
        if (newSize == 0) {
            account.marketMask = mask & ~bit;
        } else if (mask & bit == 0) {
            mask |= bit;
            uint256 count = _popCount(mask);
            if (count > MAX_POSITIONS) revert TooManyPositions(count);
            account.marketMask = mask;
        }
    }

    /* ------------------------------------------------------------------ */
    /*                     INTERNAL: MARGIN AND HEALTH                     */
    /* ------------------------------------------------------------------ */

    /// @dev Values every position at its market's price: the latest valid one, or the last valid
    /// one moved against the account by gapBuffer. `overrideMarket` is valued at `overridePrice`
    /// (a fill's own price; its accumulators are already accrued in storage).
    function _health(Account storage account, uint40 accountId, uint256 overrideMarket, uint256 overridePrice)
        internal
        view
        returns (Health memory h)
    {
        h.equity = account.collateral;
        h.pricesValid = true;
        uint64 mask = account.marketMask;
        for (uint8 marketId; mask != 0; ++marketId) {
            if (mask & 1 == 1) {
                Position storage pos = _positions[accountId][marketId];
                MarketConfig storage config = _marketConfigs[marketId];
                MarketState memory state = _loadForAccrual(_marketStates[marketId]);
                uint256 price;
                if (marketId == overrideMarket) {
                    price = overridePrice;
                } else {
                    (uint256 latest, ChainlinkLib.Status status) = _latestPrice(config, state.lastPrice);
                    _accrueInMemory(config, state, latest);
                    bool valid;
                    (price, valid) = _valuationPrice(config, latest, status, pos.size);
                    if (!valid) h.pricesValid = false;
                }
                (int256 fundingOwed, uint256 borrowOwed) =
                    _accruedOnPosition(pos, state.cumFunding, state.cumBorrow);
                int256 pnl = MathLib.mulDivFloor(pos.size, price, WAD) - pos.cost - fundingOwed - borrowOwed.toInt();
                h.equity += pnl;
                h.positivePnl += pnl.pos();
                uint256 notional = MathLib.abs(pos.size).mulDivUp(price, WAD);
                MarginTier storage tier = _marginTiers[marketId][pos.tier];
                h.initialMargin += notional.mulDivUp(tier.imr, WAD);
                h.maintenanceMargin += notional.mulDivUp(tier.mmr, WAD);
                ++h.positionCount;
            }
            mask >>= 1;
        }
        if (h.positionCount != 0) h.maintenanceMargin += globalConfig.keeperRewardFloor;
    }

    /// @dev E - positive PnL >= IM + reservations: unrealized profit never backs new risk. MM
    /// includes the keeper reward floor and IM does not, so a small position can have MM > IM;
    /// the requirement is then MM, so no action that passes this check leaves the account
    /// liquidatable (SPEC invariant 4).
    function _requireInitialMargin(Health memory h, uint256 reserved) internal pure {
        int256 equityWithoutProfit = h.equity - h.positivePnl.toInt();
        uint256 required = MathLib.max(h.initialMargin, h.maintenanceMargin) + reserved;
        if (equityWithoutProfit < required.toInt()) revert InsufficientMargin(equityWithoutProfit, required);
    }

    /// @dev E < MM; an account with no position but a debt is liquidatable too (its debt is
    /// then covered by the insurance fund, then the pool).
    function _isLiquidatable(Account storage account, Health memory h) internal view returns (bool) {
        if (account.owner == address(0)) return false;
        return h.equity < h.maintenanceMargin.toInt();
    }

    /// @dev The price a position is valued (and liquidated) at: the latest when valid and the
    /// market open, else the last valid one moved against the position by gapBuffer.
    function _valuationPrice(MarketConfig storage config, uint256 latest, ChainlinkLib.Status status, int256 size)
        internal
        view
        returns (uint256 price, bool valid)
    {
        valid = status == ChainlinkLib.Status.Valid && !config.closed;
        price = valid ? latest : _movedAgainst(latest, config.gapBuffer, size);
    }

    function _movedAgainst(uint256 price, uint256 gapBuffer, int256 size) internal pure returns (uint256) {
        return size > 0 ? price.mulDivDown(WAD - gapBuffer, WAD) : price.mulDivUp(WAD + gapBuffer, WAD);
    }

    /* ------------------------------------------------------------------ */
    /*                   INTERNAL: PRICES AND ACCRUAL                      */
    /* ------------------------------------------------------------------ */

    /// @dev The latest round's price when valid; otherwise the latest positive in-bounds answer
    /// if there is one, else the last valid price stored.
    function _latestPrice(MarketConfig storage config, uint256 lastPrice)
        internal
        view
        returns (uint256 price, ChainlinkLib.Status status)
    {
        ChainlinkLib.Round memory round;
        (round, status) = ChainlinkLib.latest(config.feed, sequencer);
        bool usable = status == ChainlinkLib.Status.Valid || status == ChainlinkLib.Status.Stale
            || status == ChainlinkLib.Status.SequencerDown || status == ChainlinkLib.Status.SequencerGrace;
        price = usable && round.price != 0 && ChainlinkLib.priceStatus(config.feed, round) == ChainlinkLib.Status.Valid
            ? round.price
            : lastPrice;
    }

    /// @dev The fields of a market's state that accrual and valuation read, from 3 of its 7 slots
    /// (sizes, indices and accrual time, rate sums and last price); the others stay zero in memory.
    function _loadForAccrual(StoredMarketState storage stored) internal view returns (MarketState memory state) {
        state.longSize = stored.longSize;
        state.shortSize = stored.shortSize;
        state.cumFunding = stored.cumFunding;
        state.cumBorrow = stored.cumBorrow;
        state.lastAccrual = stored.lastAccrual;
        state.cumRate = stored.cumRate;
        state.cumPremium = stored.cumPremium;
        state.lastPrice = stored.lastPrice;
    }

    /// @dev A market's whole state, unpacked.
    function _loadMarket(StoredMarketState storage stored) internal view returns (MarketState memory state) {
        state = _loadForAccrual(stored);
        state.costSum = stored.costSum;
        state.fundingSnapSum = stored.fundingSnapSum;
        state.borrowSnapSum = stored.borrowSnapSum;
        state.lastSettlement = stored.lastSettlement;
        state.settledCumRate = stored.settledCumRate;
        state.settledCumPremium = stored.settledCumPremium;
    }

    function _rates(MarketConfig storage config, MarketState memory state, uint256 price)
        internal
        view
        returns (int256 fundingRate, uint256 borrowRate)
    {
        int256 skew = uint256(state.longSize).toInt() - uint256(state.shortSize).toInt();
        (fundingRate,) = FundingLib.fundingRate(skew, config.skewScale, config.interestRate, config.fundingCap);
        borrowRate = _borrowRate(config, state, price);
    }

    /// @dev The yearly borrowing rate at the market's utilization, its open interest valued at `price`.
    function _borrowRate(MarketConfig storage config, MarketState memory state, uint256 price)
        internal
        view
        returns (uint256)
    {
        uint256 oiUsd = (uint256(state.longSize) + state.shortSize).mulDivUp(price, WAD);
        uint256 utilization = oiUsd.mulDivUp(WAD, 2 * uint256(config.maxOpenInterestUsd));
        return FundingLib.borrowRate(
            utilization, config.borrowFloor, config.borrowKink, config.borrowKinkRate, config.borrowMaxRate
        );
    }

    /// @dev Advances the accumulators of `state` to now at `price`, in memory.
    function _accrueInMemory(MarketConfig storage config, MarketState memory state, uint256 price) internal view {
        _accrueInMemoryTo(config, state, price, block.timestamp);
    }

    /// @dev Advances the accumulators of `state` to time `to` at `price`, in memory.
    function _accrueInMemoryTo(MarketConfig storage config, MarketState memory state, uint256 price, uint256 to)
        internal
        view
    {
        if (to <= state.lastAccrual) return;
        uint256 dt = to - state.lastAccrual;
        if (dt == 0) return;
        int256 skew = uint256(state.longSize).toInt() - uint256(state.shortSize).toInt();
        (int256 rate, int256 premium) =
            FundingLib.fundingRate(skew, config.skewScale, config.interestRate, config.fundingCap);
        uint256 borrowRate = _borrowRate(config, state, price);
        uint256 interval = config.fundingInterval;
        // Narrowed to the stored widths here, so that storing them cannot truncate.
        state.cumFunding = (state.cumFunding + FundingLib.fundingPerUnit(rate, price, dt, interval)).toInt112();
        state.cumBorrow = (state.cumBorrow + FundingLib.borrowPerUnit(borrowRate, price, dt)).toUint112();
        state.cumRate = (state.cumRate + MathLib.mulDivFloor(rate, dt, interval)).toInt80();
        state.cumPremium = (state.cumPremium + MathLib.mulDivFloor(premium, dt, interval)).toInt80();
        state.lastAccrual = uint64(to);
    }

    /// @dev Accrues a market in storage at the latest round's price and records it as the last
    /// valid price when it is valid.
    function _accrue(uint8 marketId, MarketConfig storage config)
        internal
        returns (uint256 price, ChainlinkLib.Status status)
    {
        _checkpointMarket(marketId);
        StoredMarketState storage stored = _marketStates[marketId];
        MarketState memory state = _loadForAccrual(stored);
        state.fundingSnapSum = stored.fundingSnapSum;
        state.borrowSnapSum = stored.borrowSnapSum;
        uint256 reservedBefore = _reservedOf(state.longSize, state.shortSize, state.lastPrice);
        int256 receivableBefore = _receivable(state);
        (price, status) = _latestPrice(config, state.lastPrice);
        bool valid = status == ChainlinkLib.Status.Valid;
        if (valid) state.lastPrice = price.toUint96();
        if (block.timestamp != state.lastAccrual) {
            _accrueInMemory(config, state, price);
            // Whole slots: the indices with the accrual time, the rate sums with the price.
            stored.cumFunding = int112(state.cumFunding);
            stored.cumBorrow = uint112(state.cumBorrow);
            stored.lastAccrual = uint32(state.lastAccrual);
            stored.cumRate = int80(state.cumRate);
            stored.cumPremium = int80(state.cumPremium);
            stored.lastPrice = uint96(state.lastPrice);
            emit MarketAccrued(marketId, state.cumFunding, state.cumBorrow, price, state.cumRate);
        } else if (valid) {
            stored.lastPrice = uint96(state.lastPrice);
        }
        _moveTotals(
            reservedBefore,
            receivableBefore,
            _reservedOf(state.longSize, state.shortSize, state.lastPrice),
            _receivable(state)
        );
    }

    /// @dev Replaces a market's terms in the pool totals (its reserved notional and receivable)
    /// by their new values.
    function _moveTotals(uint256 reservedBefore, int256 receivableBefore, uint256 reservedAfter, int256 receivableAfter)
        internal
    {
        if (reservedAfter == reservedBefore && receivableAfter == receivableBefore) return;
        PoolTotals storage totals = _poolTotals;
        totals.reservedUsd = (totals.reservedUsd + reservedAfter - reservedBefore).toUint128();
        totals.receivable = (totals.receivable + receivableAfter - receivableBefore).toInt128();
    }

    /// @dev A market's reserved notional: its larger side at `price`, rounded up. Sizes and prices
    /// are 128-bit, so the product cannot overflow.
    function _reservedOf(uint256 longSize, uint256 shortSize, uint256 price) internal pure returns (uint256) {
        return (MathLib.max(longSize, shortSize) * price + (WAD - 1)) / WAD;
    }

    /// @dev Funding and borrowing owed to the pool from their exact (WAD^2) amounts, each rounded
    /// down (the pool's asset).
    function _receivableOf(int256 fundingOwed, uint256 borrowOwed) internal pure returns (int256 receivable) {
        receivable = fundingOwed / int256(WAD);
        if (fundingOwed % int256(WAD) < 0) --receivable;
        receivable += (borrowOwed / WAD).toInt();
    }

    /// @dev The pool's base value (cash + debts + what traders owe it at the stored accumulators)
    /// in O(1), from the pool totals.
    function _poolBaseValue() internal view returns (int256) {
        return _ledger.poolCash + totalDebt.toInt() + _poolTotals.receivable;
    }

    /// @dev One market's share of the pool's value: funding and borrowing traders owe the pool
    /// (rounded down: the pool's asset) and traders' PnL at `price` (rounded up: its liability).
    function _marketValuation(MarketState memory state, uint256 price)
        internal
        pure
        returns (int256 receivable, int256 tradersPnl)
    {
        receivable = _receivable(state);
        int256 skew = uint256(state.longSize).toInt() - uint256(state.shortSize).toInt();
        tradersPnl = MathLib.mulDivCeil(skew, price, WAD) - state.costSum;
    }

    /// @dev Funding and borrowing traders owe the pool in one market, rounded down (the pool's asset).
    function _receivable(MarketState memory state) internal pure returns (int256 receivable) {
        int256 skew = uint256(state.longSize).toInt() - uint256(state.shortSize).toInt();
        receivable = _receivableOf(
            skew * state.cumFunding - state.fundingSnapSum,
            (uint256(state.longSize) + state.shortSize) * state.cumBorrow - state.borrowSnapSum
        );
    }

    /* ------------------------------------------------------------------ */
    /*                      INTERNAL: EPOCH CHECKPOINTS                    */
    /* ------------------------------------------------------------------ */

    /// @dev Records the pool's ledger entries before their first change after the pending cutoff.
    function _checkpointLedger() internal {
        if (block.timestamp < cutoffTime) return;
        uint64 epoch = cutoffEpoch;
        if (_ledgerCheckpoint.epoch == epoch) return;
        _ledgerCheckpoint = LedgerCheckpoint(epoch, _ledger.poolCash, totalDebt);
    }

    /// @dev Records a market's aggregates before their first change after the pending cutoff.
    function _checkpointMarket(uint8 marketId) internal {
        if (block.timestamp < cutoffTime) return;
        uint64 epoch = cutoffEpoch;
        MarketCheckpoint storage checkpoint = _marketCheckpoints[marketId];
        if (checkpoint.epoch == epoch) return;
        checkpoint.epoch = epoch;
        checkpoint.state = _marketStates[marketId];
    }

    /* ------------------------------------------------------------------ */
    /*                          INTERNAL: HELPERS                          */
    /* ------------------------------------------------------------------ */

    function _creditDeposit(address owner, uint16 subaccount, uint256 amount) internal returns (uint40 accountId) {
        if (amount == 0) revert ZeroAmount();
        accountId = accountIdOf[owner][subaccount];
        Account storage account = _accounts[accountId];
        if (accountId == 0) {
            accountId = ++accountCount;
            accountIdOf[owner][subaccount] = accountId;
            account = _accounts[accountId];
            account.owner = owner;
            account.subaccount = subaccount;
            emit AccountCreated(accountId, owner, subaccount);
        }
        uint256 amountWad = amount.toWad(tokenDecimals);
        int256 before = account.collateral;
        account.collateral = (before + amountWad.toInt()).toInt120();
        Ledger storage ledger = _ledger;
        ledger.totalCollateral = (ledger.totalCollateral + amountWad.toInt()).toInt128();
        // A deposit first repays a debt to the pool: that part leaves the pool's receivables for
        // its cash. Only then do the pool's entries move, so only then is the epoch checkpointed.
        if (before < 0) {
            uint256 repaid = MathLib.min(uint256(-before), amountWad);
            _checkpointLedger();
            totalDebt -= repaid;
            ledger.poolCash = (ledger.poolCash + repaid.toInt()).toInt128();
            emit DebtRepaid(accountId, repaid);
        }
        emit CollateralDeposited(accountId, msg.sender, amountWad, account.collateral);
    }

    /// @dev `amount` is a whole number of `RESERVATION_UNIT`s: orders store their reservations in those.
    /// The order is finished: if it is the latest market order, it is forgotten in the same write.
    function _release(Account storage account, uint40 accountId, uint256 amount, uint256 orderKey) internal {
        uint256 reserved = _reservedMargin(account);
        if (amount > reserved) revert ReservationTooLarge(amount, reserved);
        account.reservedUnits = uint56((reserved - amount) / RESERVATION_UNIT);
        if (account.latestMarketOrder == orderKey) account.latestMarketOrder = 0;
        emit MarginReleased(accountId, amount, reserved - amount);
    }

    function _reservedMargin(Account storage account) internal view returns (uint256) {
        return uint256(account.reservedUnits) * RESERVATION_UNIT;
    }

    function _requireAccount(address owner, uint16 subaccount) internal view returns (uint40 accountId) {
        accountId = accountIdOf[owner][subaccount];
        if (accountId == 0) revert UnknownAccount(uint256(uint160(owner)) << 16 | subaccount);
    }

    function _requireMarket(uint8 marketId) internal view {
        if (marketId >= marketCount) revert UnknownMarket(marketId);
    }

    function _onlyPool() internal view {
        if (msg.sender != liquidityPool) revert NotPool(msg.sender);
    }

    function _onlyOrderBook() internal view {
        if (msg.sender != orderBook) revert NotOrderBook(msg.sender);
    }

    function _popCount(uint64 x) internal pure returns (uint256 count) {
        for (; x != 0; x &= x - 1) ++count;
    }

}
