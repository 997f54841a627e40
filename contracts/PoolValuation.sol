// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {Vault} from "./Vault.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title PoolValuation
/// @notice The liquidity pool's value as SPEC section 4 defines it, from per-market aggregates
/// in O(markets): live, and as it stood at an LP epoch's cutoff (SPEC section 6), whose state is
/// checkpointed lazily by the engine. The engine delegatecalls this module, so it runs on the
/// engine's storage.
contract PoolValuation is EngineBase {
    using MathLib for uint256;
    using SafeCast for uint256;

    /// @param vault_ the engine's collateral vault
    constructor(Vault vault_) EngineBase(vault_) {}

    /// @notice The pool's base value (cash and receivables, without traders' PnL) and traders'
    /// net PnL at the last valid prices, accrued to now.
    /// @return baseValue cash + debts + accrued funding and borrowing owed to the pool
    /// @return tradersPnl sum over markets of size * price - cost
    function poolValue() external view returns (int256 baseValue, int256 tradersPnl) {
        baseValue = _ledger.poolCash + totalDebt.toInt();
        for (uint8 i; i < marketCount; ++i) {
            StoredMarketState storage stored = _marketStates[i];
            MarketState memory state = _loadForAccrual(stored);
            state.costSum = stored.costSum;
            state.fundingSnapSum = stored.fundingSnapSum;
            state.borrowSnapSum = stored.borrowSnapSum;
            _accrueInMemory(_marketConfigs[i], state, state.lastPrice);
            (int256 receivable, int256 pnl) = _marketValuation(state, state.lastPrice);
            baseValue += receivable;
            tradersPnl += pnl;
        }
    }

    /// @notice The pool totals the reserve check and the profit cap read: the sums over markets of
    /// reserved notional and of funding and borrowing owed to the pool, as of each market's last change.
    /// @return reservedUsd sum of max(long, short) * last valid price, rounded up per market
    /// @return receivable sum of what traders owe the pool at the stored accumulators, rounded down per market
    function poolTotals() external view returns (uint256 reservedUsd, int256 receivable) {
        return (_poolTotals.reservedUsd, _poolTotals.receivable);
    }

    /// @notice Records every checkpoint of the pending cutoff not recorded yet (after the cutoff;
    /// a no-op before). Permissionless.
    function checkpointAll() external {
        _checkpointLedger();
        for (uint8 i; i < marketCount; ++i) {
            _checkpointMarket(i);
        }
    }

    /// @notice Values the pool as it stood at the pending cutoff, with each market priced at
    /// `prices[m]`: base value, traders' PnL, and the open interest the pool reserves for.
    /// Reverts until every checkpoint is recorded (call `checkpointAll` after the cutoff).
    /// @param prices one price per market (WAD)
    /// @return baseValue cash + debts + funding and borrowing owed to the pool, accrued to the cutoff
    /// @return tradersPnl sum of size * price - cost
    /// @return reservedUsd sum of max(long, short) * price
    function epochValuation(uint256[] calldata prices)
        external
        view
        returns (int256 baseValue, int256 tradersPnl, uint256 reservedUsd)
    {
        uint64 epoch = cutoffEpoch;
        if (_ledgerCheckpoint.epoch != epoch) revert CheckpointMissing(epoch, type(uint256).max);
        baseValue = _ledgerCheckpoint.poolCash + _ledgerCheckpoint.totalDebt.toInt();
        for (uint8 i; i < marketCount; ++i) {
            MarketCheckpoint storage checkpoint = _marketCheckpoints[i];
            if (checkpoint.epoch != epoch) revert CheckpointMissing(epoch, i);
            MarketState memory state = _loadMarket(checkpoint.state);
            _accrueInMemoryTo(_marketConfigs[i], state, prices[i], cutoffTime);
            (int256 receivable, int256 pnl) = _marketValuation(state, prices[i]);
            baseValue += receivable;
            tradersPnl += pnl;
            reservedUsd += MathLib.max(state.longSize, state.shortSize).mulDivUp(prices[i], WAD);
        }
    }

    /// @notice A market's skew and last valid price as checkpointed at the pending cutoff.
    /// @param marketId the market
    /// @return skew long minus short open interest
    /// @return lastPrice the last valid price at the cutoff
    function epochMarket(uint8 marketId) external view returns (int256 skew, uint256 lastPrice) {
        StoredMarketState storage state = _marketCheckpoints[marketId].state;
        return (uint256(state.longSize).toInt() - uint256(state.shortSize).toInt(), state.lastPrice);
    }

}
