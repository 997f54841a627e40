// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {ChainlinkLib} from "./libraries/ChainlinkLib.sol";
import {Vault} from "./Vault.sol";
import {EngineBase} from "./EngineBase.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";

/// @title Liquidator
/// @notice Permissionless liquidation, the keeper reward, the insurance fund and bad debt
/// (SPEC section 7). The engine delegatecalls this module, so it runs on the engine's storage.
contract Liquidator is EngineBase {
    using MathLib for uint256;
    using MathLib for int256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @param vault_ the engine's collateral vault
    constructor(Vault vault_) EngineBase(vault_) {}


    /// @notice Liquidates an account whose equity is below its maintenance requirement, at the
    /// latest prices. Positions in markets with a valid price close through the skew curve
    /// (impact capped at kMax); the others pass to the pool at their last valid price moved
    /// against the account. Pending orders are cancelled; their fees go to the caller.
    /// @param accountId the account
    function liquidate(uint40 accountId) external nonReentrant {
        _liquidate(accountId, msg.sender);
    }

    /// @notice Liquidates every liquidatable account of a list, skipping healthy accounts and any
    /// whose liquidation fails, without reverting.
    /// @param accountIds the accounts
    /// @return liquidated how many were liquidated
    function liquidateBatch(uint40[] calldata accountIds) external nonReentrant returns (uint256 liquidated) {
        for (uint256 i; i < accountIds.length; ++i) {
            try this.liquidateFor(accountIds[i], msg.sender) {
                ++liquidated;
            } catch (bytes memory reason) {
                // Never let the caller's gas limit make a batch liquidate nobody.
                ChainlinkLib.rethrowIfGasStarved(reason);
            }
        }
    }

    /// @notice Self-call used by `liquidateBatch` so one failing account cannot revert the batch.
    /// @param accountId the account
    /// @param liquidator who earns the reward
    function liquidateFor(uint40 accountId, address liquidator) external {
        if (msg.sender != address(this)) revert NotSelf(msg.sender);
        _liquidate(accountId, liquidator);
    }

    /// @notice An account's valuation at the latest prices: equity, requirements, and whether
    /// it can be liquidated.
    /// @param accountId the account
    /// @return h the valuation
    /// @return liquidatable whether equity is below the maintenance requirement
    function accountHealth(uint40 accountId) external view returns (Health memory h, bool liquidatable) {
        Account storage acc = _accounts[accountId];
        h = _health(acc, accountId, type(uint256).max, 0);
        liquidatable = _isLiquidatable(acc, h);
    }

    /* ------------------------------------------------------------------ */
    /*                        INTERNAL: LIQUIDATION                        */
    /* ------------------------------------------------------------------ */

    function _liquidate(uint40 accountId, address liquidator) internal {
        _checkpointLedger();
        Account storage account = _accounts[accountId];
        Health memory h = _health(account, accountId, type(uint256).max, 0);
        if (!_isLiquidatable(account, h)) revert NotLiquidatable(h.equity, h.maintenanceMargin);
        // Pending orders go with the account's solvency: cancel them, their fees to the liquidator.
        // Only the order book creates orders, and the account says whether it may hold any.
        uint256 latestMarketOrder = account.latestMarketOrder;
        if (latestMarketOrder != 0 || account.usesOrderTable) {
            IOrderBook(orderBook).cancelAccountOrders(accountId, latestMarketOrder, liquidator);
            account.usesOrderTable = false;
        }
        account.reservedUnits = 0;
        account.latestMarketOrder = 0;

        uint256 notional;
        uint256 fee;
        uint64 mask = account.marketMask;
        for (uint8 marketId; mask != 0; ++marketId) {
            if (mask & 1 == 1) {
                (uint256 closedNotional, uint256 closeFee) = _closeForLiquidation(accountId, account, marketId);
                notional += closedNotional;
                fee += closeFee;
            }
            mask >>= 1;
        }

        // The fee comes only from positive equity; the account pays at least the keeper's reward
        // when it can, so self-liquidation never earns more than it costs.
        GlobalConfig memory g = globalConfig;
        uint256 reward = MathLib.min(MathLib.max(fee.mulDivDown(g.keeperRewardShare, WAD), g.keeperRewardFloor), g.keeperRewardCap);
        fee = MathLib.max(fee, reward);
        int256 collateral = account.collateral;
        uint256 feeTaken = MathLib.min(fee, collateral.pos());
        uint256 rewardFromAccount = MathLib.min(reward, feeTaken);
        Ledger storage ledger = _ledger;
        uint256 insurance = ledger.insuranceFund;
        uint256 rewardFromInsurance = MathLib.min(reward - rewardFromAccount, insurance + feeTaken - rewardFromAccount);
        insurance = insurance + feeTaken - rewardFromAccount - rewardFromInsurance;
        keeperCredits[liquidator] += rewardFromAccount + rewardFromInsurance;
        collateral -= feeTaken.toInt();
        int256 collateralTotal = ledger.totalCollateral - feeTaken.toInt();

        if (collateral < 0) {
            uint256 shortfall = uint256(-collateral);
            uint256 fromInsurance = MathLib.min(shortfall, insurance);
            insurance -= fromInsurance;
            ledger.poolCash = (ledger.poolCash + fromInsurance.toInt()).toInt128();
            totalDebt -= shortfall;
            collateralTotal += collateral.abs().toInt();
            collateral = 0;
            emit BadDebt(accountId, shortfall, fromInsurance, shortfall - fromInsurance);
        }
        ledger.insuranceFund = insurance.toUint128();
        ledger.totalCollateral = collateralTotal.toInt128();
        account.collateral = collateral.toInt120();
        emit Liquidated(accountId, liquidator, notional, feeTaken, rewardFromAccount + rewardFromInsurance, rewardFromInsurance, collateral);
    }

    /// @dev Closes one position of a liquidated account and returns its notional and its
    /// liquidation fee.
    function _closeForLiquidation(uint40 accountId, Account storage account, uint8 marketId)
        internal
        returns (uint256 notional, uint256 fee)
    {
        MarketConfig storage config = _marketConfigs[marketId];
        int256 size = _positions[accountId][marketId].size;
        // Accrued here for the latest price the close needs; the trade does not read it again.
        (uint256 latest, ChainlinkLib.Status status) = _accrue(marketId, config);
        (uint256 price, bool valid) = _valuationPrice(config, latest, status, size);
        _trade(
            Trade({
                accountId: accountId,
                marketId: marketId,
                sizeDelta: -size,
                price: price,
                acceptablePrice: size > 0 ? 0 : type(uint256).max,
                reduceOnly: true,
                passToPool: !valid,
                accrued: true
            }),
            account
        );
        notional = MathLib.abs(size).mulDivUp(price, WAD);
        fee = notional.mulDivUp(config.liquidationFee, WAD);
    }

}
