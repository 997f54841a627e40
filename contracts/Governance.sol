// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {ChainlinkLib} from "./libraries/ChainlinkLib.sol";
import {Vault} from "./Vault.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title Governance
/// @notice Roles, the guardian's pause and the parameter setters of the clearing engine, each
/// bounded by hard limits no role can cross (SPEC sections 2 and 3), and the engine's entry
/// points off the trading path (insurance funding, keeper credit claims, tier and snapshot
/// views), kept here so the engine stays under the deploy limit. The engine delegatecalls this
/// module, so it runs on the engine's storage; called directly it holds no roles and every
/// setter reverts.
contract Governance is EngineBase {
    using MathLib for uint256;
    using SafeCast for uint256;

    /// @param vault_ the engine's collateral vault
    constructor(Vault vault_) EngineBase(vault_) {}


    /// @notice Wires the order book and the liquidity pool, once (neither may be zero, or "once"
    /// would not hold: a zero order book lets the admin wire them again).
    /// @param orderBook_ the only contract that can fill, reserve and release margin
    /// @param liquidityPool_ the only contract that can move pool cash in and out
    function setModules(address orderBook_, address liquidityPool_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (orderBook != address(0)) revert ModulesAlreadySet();
        if (orderBook_ == address(0)) revert ParameterOutOfBounds("orderBook", 0, 1);
        if (liquidityPool_ == address(0)) revert ParameterOutOfBounds("liquidityPool", 0, 1);
        orderBook = orderBook_;
        liquidityPool = liquidityPool_;
        emit ModulesSet(orderBook_, liquidityPool_);
    }

    /// @notice Lists a new market.
    /// @param config the market's parameters, within the hard bounds
    /// @param tiers margin tiers in increasing open-interest order, 1 to 4 of them
    /// @return marketId the new market's id
    function listMarket(MarketConfig calldata config, MarginTier[] calldata tiers)
        external
        onlyRole(RISK_ROLE)
        returns (uint8 marketId)
    {
        if (marketCount >= MAX_MARKETS) revert TooManyMarkets(marketCount);
        marketId = marketCount++;
        _checkMarketConfig(config);
        _marketConfigs[marketId] = config;
        _setTiers(marketId, tiers, config);
        StoredMarketState storage state = _marketStates[marketId];
        state.lastAccrual = uint32(block.timestamp);
        state.lastSettlement = uint32(block.timestamp);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = ChainlinkLib.latest(config.feed, sequencer);
        if (status != ChainlinkLib.Status.Valid) revert InvalidPrice(marketId, status);
        state.lastPrice = round.price.toUint96();
        emit MarketListed(marketId, config, tiers);
    }

    /// @notice Replaces a market's parameters (funding is accrued first under the old ones).
    /// @param marketId the market
    /// @param config the new parameters, within the hard bounds and consistent with the margin tiers
    function setMarketConfig(uint8 marketId, MarketConfig calldata config) external onlyRole(RISK_ROLE) {
        _requireMarket(marketId);
        _checkMarketConfig(config);
        _accrue(marketId, _marketConfigs[marketId]);
        _marketConfigs[marketId] = config;
        MarginTier[MAX_TIERS] storage tiers = _marginTiers[marketId];
        uint256 count = _tierCount(marketId);
        for (uint256 i; i < count; ++i) {
            _checkTier(tiers[i], config);
        }
        emit MarketConfigUpdated(marketId, config);
    }

    /// @notice Replaces a market's margin tiers; open positions keep the tier index they were fixed at.
    /// @param marketId the market
    /// @param tiers 1 to 4 tiers in increasing open-interest order
    function setMarginTiers(uint8 marketId, MarginTier[] calldata tiers) external onlyRole(RISK_ROLE) {
        _requireMarket(marketId);
        uint256 count = _tierCount(marketId);
        if (tiers.length < count) revert ParameterOutOfBounds("tiers.length", tiers.length, count);
        _setTiers(marketId, tiers, _marketConfigs[marketId]);
        emit MarginTiersUpdated(marketId, tiers);
    }

    /// @notice Replaces the protocol-wide parameters.
    /// @param config the new parameters, within the hard bounds
    function setGlobalConfig(GlobalConfig calldata config) external onlyRole(RISK_ROLE) {
        _setGlobalConfig(config);
    }

    /// @notice Sets the L2 sequencer-uptime feed (address zero on an L1).
    /// @param feed the uptime feed
    /// @param gracePeriod seconds after the sequencer comes back during which prices are not trusted
    function setSequencer(address feed, uint32 gracePeriod) external onlyRole(RISK_ROLE) {
        if (gracePeriod > 1 days) revert ParameterOutOfBounds("gracePeriod", gracePeriod, 1 days);
        sequencer = ChainlinkLib.Sequencer(feed, gracePeriod);
        emit SequencerUpdated(feed, gracePeriod);
    }

    /// @notice Pauses or resumes opening and increasing positions. Closing, withdrawing and
    /// liquidating are never paused.
    /// @param paused the new state
    function setOpeningPaused(bool paused) external onlyRole(GUARDIAN_ROLE) {
        openingPaused = paused;
        emit OpeningPausedSet(paused);
    }

    /// @notice Sends treasury fees out.
    /// @param to recipient
    /// @param amount token units
    function withdrawTreasury(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        uint256 amountWad = amount.toWad(tokenDecimals);
        uint256 available = _ledger.treasury;
        if (amountWad > available) revert InsufficientFund(amountWad, available);
        _ledger.treasury = uint128(available - amountWad);
        emit TreasuryWithdrawn(to, amountWad);
        vault.push(to, amount);
    }

    /* ------------------------------------------------------------------ */
    /*               FUNDS AND VIEWS OFF THE TRADING PATH                  */
    /* ------------------------------------------------------------------ */

    /// @notice Adds tokens to the insurance fund.
    /// @param amount token units, pulled from the caller
    function fundInsurance(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 amountWad = amount.toWad(tokenDecimals);
        _ledger.insuranceFund += amountWad.toUint128();
        emit InsuranceFunded(msg.sender, amountWad);
        vault.pull(msg.sender, amount);
    }

    /// @notice Withdraws the caller's keeper rewards (liquidation rewards are credited, never pushed).
    /// @param to recipient
    /// @return amount token units sent
    function claimKeeperCredits(address to) external nonReentrant returns (uint256 amount) {
        uint256 credit = keeperCredits[msg.sender];
        amount = credit.fromWadDown(tokenDecimals);
        if (amount == 0) revert ZeroAmount();
        uint256 creditUsed = amount.toWad(tokenDecimals);
        keeperCredits[msg.sender] = credit - creditUsed;
        emit KeeperCreditsClaimed(msg.sender, to, creditUsed);
        vault.push(to, amount);
    }

    /// @notice A market's margin tiers.
    /// @param marketId the market
    /// @return tiers the tiers set, in increasing open-interest order
    function marginTiers(uint8 marketId) external view returns (MarginTier[] memory tiers) {
        tiers = new MarginTier[](_tierCount(marketId));
        for (uint256 i; i < tiers.length; ++i) {
            tiers[i] = _marginTiers[marketId][i];
        }
    }

    /// @notice The initial margin rate of the tier a position opened now at `price` would get (the
    /// tier its market's total open interest falls in); orders reserve margin at it.
    /// @param marketId the market
    /// @param price the index price (WAD)
    /// @return the tier's initial margin rate (WAD)
    function initialMarginRate(uint8 marketId, uint256 price) external view returns (uint256) {
        return _initialMarginRate(marketId, price);
    }

    /// @notice A market's stored aggregates and accumulators (as of its last accrual).
    /// @param marketId the market
    /// @return the state
    function marketState(uint8 marketId) external view returns (MarketState memory) {
        return _loadMarket(_marketStates[marketId]);
    }

    /// @notice A market's state accrued to now, with its latest price and rates.
    /// @param marketId the market
    /// @return state aggregates and accumulators as if accrued now
    /// @return price latest valid price (or the last valid one)
    /// @return status the latest round's status
    /// @return fundingRate current funding rate per interval
    /// @return borrowRate current yearly borrowing rate
    function marketSnapshot(uint8 marketId)
        external
        view
        returns (
            MarketState memory state,
            uint256 price,
            ChainlinkLib.Status status,
            int256 fundingRate,
            uint256 borrowRate
        )
    {
        _requireMarket(marketId);
        MarketConfig storage config = _marketConfigs[marketId];
        state = _loadMarket(_marketStates[marketId]);
        (price, status) = _latestPrice(config, state.lastPrice);
        (fundingRate, borrowRate) = _rates(config, state, price);
        _accrueInMemory(config, state, price);
    }

    /* ------------------------------------------------------------------ */
    /*                     INTERNAL: PARAMETER BOUNDS                      */
    /* ------------------------------------------------------------------ */

    function _checkMarketConfig(MarketConfig calldata c) internal pure {
        _bound("kMax", c.kMax, 1, MAX_KMAX);
        _bound("takerFee", c.takerFee, 0, MAX_TRADE_FEE);
        _bound("makerFee", c.makerFee, 0, c.takerFee);
        _bound("liquidationFee", c.liquidationFee, 0, MAX_LIQUIDATION_FEE);
        _bound("gapBuffer", c.gapBuffer, 0, MAX_GAP_BUFFER);
        _bound("deviation", c.deviation, 0, MAX_DEVIATION);
        _bound("skewScale", c.skewScale, 1, type(uint128).max);
        _bound("maxOpenInterestUsd", c.maxOpenInterestUsd, 1, type(uint128).max);
        _bound("fundingInterval", c.fundingInterval, MIN_FUNDING_INTERVAL, MAX_FUNDING_INTERVAL);
        _bound("fundingCap", c.fundingCap, 0, MAX_FUNDING_CAP);
        _bound("interestRate", MathLib.abs(c.interestRate), 0, c.fundingCap);
        _bound("borrowKink", c.borrowKink, 1, WAD - 1);
        _bound("borrowMaxRate", c.borrowMaxRate, 0, MAX_BORROW_RATE);
        _bound("borrowKinkRate", c.borrowKinkRate, c.borrowFloor, c.borrowMaxRate);
        _bound("heartbeat", c.feed.heartbeat, MIN_HEARTBEAT, MAX_HEARTBEAT);
        _bound("feed.decimals", c.feed.decimals, 0, 18);
        _bound("feed.minPrice", c.feed.minPrice, 1, c.feed.maxPrice);
        if (c.feed.aggregator == address(0)) revert ParameterOutOfBounds("feed.aggregator", 0, 1);
    }

    function _setTiers(uint8 marketId, MarginTier[] calldata tiers, MarketConfig memory config) internal {
        _bound("tiers.length", tiers.length, 1, MAX_TIERS);
        MarginTier[MAX_TIERS] storage stored = _marginTiers[marketId];
        for (uint256 i; i < tiers.length; ++i) {
            _checkTier(tiers[i], config);
            if (i != 0) {
                _bound("tier.maxOpenInterestUsd", tiers[i].maxOpenInterestUsd, tiers[i - 1].maxOpenInterestUsd + 1, type(uint128).max);
                _bound("tier.imr", tiers[i].imr, tiers[i - 1].imr, WAD);
                _bound("tier.mmr", tiers[i].mmr, tiers[i - 1].mmr, WAD);
            }
            stored[i] = tiers[i];
        }
        // Unset tiers end the list (setMarginTiers never shortens it: positions keep their index).
        for (uint256 i = tiers.length; i < MAX_TIERS; ++i) {
            delete stored[i];
        }
    }

    /// @dev mmr >= liquidationFee + 2 * deviation + gapBuffer + kMax (SPEC section 3), and
    /// mmr < imr <= 1.
    function _checkTier(MarginTier memory tier, MarketConfig memory c) internal pure {
        uint256 floor = uint256(c.liquidationFee) + 2 * uint256(c.deviation) + c.gapBuffer + c.kMax;
        if (tier.mmr < floor) revert MaintenanceBelowBound(tier.mmr, floor);
        _bound("tier.imr", tier.imr, MathLib.max(MIN_IMR, uint256(tier.mmr) + 1), WAD);
    }

    function _setGlobalConfig(GlobalConfig memory g) internal {
        _bound("keeperRewardCap", g.keeperRewardCap, 0, MAX_KEEPER_REWARD);
        _bound("keeperRewardFloor", g.keeperRewardFloor, 0, g.keeperRewardCap);
        _bound("minCollateral", g.minCollateral, 0, MAX_MIN_COLLATERAL);
        _bound("keeperRewardShare", g.keeperRewardShare, 0, WAD);
        _bound("maxPnlFactor", g.maxPnlFactor, MIN_PNL_FACTOR, WAD);
        _bound("lossHaircut", g.lossHaircut, 0, WAD);
        _bound("reserveFactor", g.reserveFactor, 1, WAD);
        _bound("lpFeeShare", g.lpFeeShare, 0, WAD);
        _bound("insuranceFeeShare", g.insuranceFeeShare, 0, WAD - g.lpFeeShare);
        globalConfig = g;
        emit GlobalConfigUpdated(g);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) internal pure {
        if (value < lo) revert ParameterOutOfBounds(name, value, lo);
        if (value > hi) revert ParameterOutOfBounds(name, value, hi);
    }
}
