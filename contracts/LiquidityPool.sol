// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MathLib} from "./libraries/MathLib.sol";
import {ChainlinkLib} from "./libraries/ChainlinkLib.sol";
import {EngineBase} from "./EngineBase.sol";
import {ClearingEngine} from "./ClearingEngine.sol";
import {PoolValuation} from "./PoolValuation.sol";
import {Vault} from "./Vault.sol";

/// @title LiquidityPool
/// @notice LP shares over the settlement token, the counterparty of every trade (SPEC sections
/// 4 and 6). Deposits and redemptions are asynchronous requests (ERC-7540) collected in epochs:
/// a request joins the epoch whose cutoff is still ahead and becomes irrevocable at that cutoff;
/// the epoch is priced on the pool's state at the cutoff (checkpointed by the engine) with each
/// market's first round observed after it, so nobody enters or leaves at a price they already
/// know. Deposits and redemptions net; redemptions beyond what the open-interest reserve allows
/// are filled pro rata and the rest rolls into the next epoch. While traders' profit exceeds the
/// cap or the pool value is not positive, the epoch defers and everything rolls.
contract LiquidityPool is ERC20, ReentrancyGuardTransient {
    using MathLib for uint256;
    using MathLib for int256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /* ------------------------------------------------------------------ */
    /*                          CONSTANTS, TYPES                           */
    /* ------------------------------------------------------------------ */

    uint256 internal constant WAD = 1e18;
    /// @dev Virtual shares and assets (one share, one dollar) against the first-depositor
    /// inflation attack: an attacker's donation is shared with the virtual share.
    uint256 internal constant VIRTUAL_SHARES = 1e18;
    uint256 internal constant VIRTUAL_ASSETS = 1e18;
    uint256 internal constant MAX_RESOLVE_STEPS = 32;

    /// @notice Pool parameters, set by the engine's risk role within hard bounds.
    struct PoolConfig {
        uint32 epochLength; // seconds between cutoffs
        uint32 epochPriceWait; // how long after a cutoff a market's first round may start
        uint64 depositFee; // of deposited assets, kept by the pool
        uint64 redeemFee; // of redeemed assets, kept by the pool
        uint128 minDeposit; // token units
    }

    /// @notice An epoch's requests and results. Amounts in WAD (assets) or shares.
    struct Epoch {
        uint64 cutoff;
        bool settled;
        bool depositsFilled; // false when the epoch was deferred: deposits rolled
        uint128 depositAssets;
        uint128 sharesMinted;
        uint128 redeemShares;
        uint128 redeemSharesFilled;
        uint128 assetsPaid; // net of the redeem fee
    }

    /// @dev Packing: one slot (64 + 128 + 64 bits).
    /// @notice The pool as it stood at a cutoff, valued at one set of prices.
    struct Valuation {
        int256 base;
        int256 pnl;
        uint256 reservedUsd;
    }

    struct Request {
        uint64 epoch; // the epoch the request waits for (rolled forward by deferrals and pro rata fills)
        uint128 amount; // assets (WAD) for deposits, shares for redemptions
        uint64 origin; // the epoch its oldest part joined: once that cutoff passed, none of it is revocable
    }

    struct Claimable {
        uint128 requested; // deposit assets (WAD) or redeem shares the claim is for
        uint128 result; // shares for deposits, assets (WAD) for redemptions
    }

    /* ------------------------------------------------------------------ */
    /*                           ERRORS, EVENTS                            */
    /* ------------------------------------------------------------------ */

    error NotRiskRole(address caller);
    error NotAdmin(address caller);
    error AlreadyStarted();
    error NotStarted();
    error NotAuthorized(address owner, address caller);
    error ZeroAmount();
    error DepositTooSmall(uint256 assets, uint256 minDeposit);
    error PendingRequestInOtherEpoch(uint64 pendingEpoch, uint64 requestEpoch);
    error RequestIrrevocable(uint64 epoch, uint64 cutoff);
    error NoPendingRequest(address controller);
    error EpochNotOver(uint64 epoch, uint64 cutoff);
    error WrongPriceCount(uint256 given, uint256 markets);
    error EpochPriceMissing(uint8 marketId, uint256 waitUntil);
    error ExceedsClaimable(uint256 amount, uint256 claimable);
    error AsyncOnly();
    error ParameterOutOfBounds(string name, uint256 value, uint256 bound);

    event DepositRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 assets
    );
    event RedeemRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 shares
    );
    event RequestCancelled(address indexed controller, uint64 indexed epoch, bool deposit, uint256 amount);
    event OperatorSet(address indexed controller, address indexed operator, bool approved);
    event Deposit(address indexed sender, address indexed owner, uint256 assets, uint256 shares);
    event Withdraw(
        address indexed sender, address indexed receiver, address indexed owner, uint256 assets, uint256 shares
    );
    event EpochSettled(
        uint64 indexed epoch,
        uint256[] depositPrices,
        uint256[] redeemPrices,
        int256 depositValue,
        int256 redeemValue,
        uint256 depositAssets,
        uint256 sharesMinted,
        uint256 redeemShares,
        uint256 redeemSharesFilled,
        uint256 assetsPaid
    );
    event EpochDeferred(uint64 indexed epoch, int256 baseValue, int256 tradersPnl);
    event EpochOpened(uint64 indexed epoch, uint64 cutoff);
    event PoolConfigSet(PoolConfig config);

    /* ------------------------------------------------------------------ */
    /*                               STORAGE                               */
    /* ------------------------------------------------------------------ */

    ClearingEngine public immutable engine;
    Vault public immutable vault;
    uint8 internal immutable tokenDecimals;

    PoolConfig public poolConfig;
    /// @notice The epoch awaiting settlement; requests made after its cutoff go to the next one.
    uint64 public currentEpoch;
    mapping(uint64 => Epoch) public epochs;
    /// @dev Each market's latest round when the epoch opened: the anchor of its price proof.
    mapping(uint64 => mapping(uint8 => uint80)) public anchorRounds;

    mapping(address => Request) public depositRequests;
    mapping(address => Request) public redeemRequests;
    mapping(address => Claimable) public claimableDeposits;
    mapping(address => Claimable) public claimableRedeems;
    mapping(address => mapping(address => bool)) public isOperator;

    /// @notice Assets (WAD) waiting in requests, and assets (WAD) settled and not yet claimed;
    /// both are ledger entries backed by the vault's balance.
    uint256 public pendingDepositAssets;
    uint256 public claimableAssets;

    /// @param engine_ the clearing engine (its roles govern this contract)
    /// @param vault_ the collateral vault (grants this contract its operator role)
    /// @param config initial parameters
    constructor(ClearingEngine engine_, Vault vault_, PoolConfig memory config) ERC20("Aeon LP", "ALP") {
        engine = engine_;
        vault = vault_;
        tokenDecimals = vault_.tokenDecimals();
        _setPoolConfig(config);
    }

    /* ------------------------------------------------------------------ */
    /*                              GOVERNANCE                             */
    /* ------------------------------------------------------------------ */

    /// @notice Opens the first epoch. Only the engine's admin, once the engine knows this pool.
    function start() external {
        if (!engine.hasRole(engine.DEFAULT_ADMIN_ROLE(), msg.sender)) revert NotAdmin(msg.sender);
        if (currentEpoch != 0) revert AlreadyStarted();
        _openEpoch(1, block.timestamp + poolConfig.epochLength);
    }

    /// @notice Sets the pool parameters. Only the engine's risk role.
    /// @param config the new parameters, within the hard bounds
    function setPoolConfig(PoolConfig calldata config) external {
        if (!engine.hasRole(engine.RISK_ROLE(), msg.sender)) revert NotRiskRole(msg.sender);
        _setPoolConfig(config);
    }

    /* ------------------------------------------------------------------ */
    /*                         REQUESTS (ERC-7540)                         */
    /* ------------------------------------------------------------------ */

    /// @notice Approves or revokes an operator that may request and claim for the caller.
    /// @param operator the operator
    /// @param approved the new state
    /// @return true
    function setOperator(address operator, bool approved) external returns (bool) {
        isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
        return true;
    }

    /// @notice Requests a deposit of `assets` from `owner`, pulled now, credited to `controller`
    /// once its epoch settles.
    /// @param assets token units
    /// @param controller who claims the shares
    /// @param owner whose tokens are pulled (the caller or an owner who made it an operator)
    /// @return requestId the epoch the request joined
    function requestDeposit(uint256 assets, address controller, address owner)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        _requireAuthorized(owner);
        uint256 minDeposit = poolConfig.minDeposit;
        if (assets < minDeposit || assets == 0) revert DepositTooSmall(assets, minDeposit);
        uint256 assetsWad = assets.toWad(tokenDecimals);
        uint64 epoch = _addRequest(depositRequests[controller], _resolveDeposit(controller), assetsWad);
        epochs[epoch].depositAssets += assetsWad.toUint128();
        pendingDepositAssets += assetsWad;
        emit DepositRequest(controller, owner, epoch, msg.sender, assets);
        vault.pull(owner, assets);
        return epoch;
    }

    /// @notice Requests a redemption of `shares` of `owner`, escrowed now, paid to `controller`'s
    /// claim once its epoch settles.
    /// @param shares LP shares
    /// @param controller who claims the assets
    /// @param owner whose shares are escrowed (the caller, an operator's owner, or an allowance)
    /// @return requestId the epoch the request joined
    function requestRedeem(uint256 shares, address controller, address owner)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        if (shares == 0) revert ZeroAmount();
        if (msg.sender != owner && !isOperator[owner][msg.sender]) _spendAllowance(owner, msg.sender, shares);
        uint64 epoch = _addRequest(redeemRequests[controller], _resolveRedeem(controller), shares);
        epochs[epoch].redeemShares += shares.toUint128();
        _transfer(owner, address(this), shares);
        emit RedeemRequest(controller, owner, epoch, msg.sender, shares);
        return epoch;
    }

    /// @notice Cancels the caller's (or its controller's) deposit request before its cutoff and
    /// returns the assets.
    /// @param controller the request's controller
    /// @param receiver who gets the assets back
    function cancelDepositRequest(address controller, address receiver) external nonReentrant {
        _requireAuthorized(controller);
        uint256 amount = _cancelRequest(depositRequests[controller], controller, true);
        epochs[currentEpoch].depositAssets -= amount.toUint128();
        pendingDepositAssets -= amount;
        vault.push(receiver, amount.fromWadDown(tokenDecimals));
    }

    /// @notice Cancels a redeem request before its cutoff and returns the shares.
    /// @param controller the request's controller
    /// @param receiver who gets the shares back
    function cancelRedeemRequest(address controller, address receiver) external nonReentrant {
        _requireAuthorized(controller);
        uint256 amount = _cancelRequest(redeemRequests[controller], controller, false);
        epochs[currentEpoch].redeemShares -= amount.toUint128();
        _transfer(address(this), receiver, amount);
    }

    /// @notice Moves `controller`'s requests through settled epochs (at most 32 per side and
    /// call) into its claims. Permissionless: it only records results; claims and requests do
    /// it too, but a request deferred over more epochs needs this to catch up.
    /// @param controller the requests' controller
    function resolveRequests(address controller) external {
        _resolveDeposit(controller);
        _resolveRedeem(controller);
    }

    /* ------------------------------------------------------------------ */
    /*                               CLAIMS                                */
    /* ------------------------------------------------------------------ */

    /// @notice Claims the shares of `assets` of settled deposit requests (ERC-7540 `deposit`).
    /// @param assets token units of the request to claim for
    /// @param receiver who gets the shares
    /// @param controller the request's controller
    /// @return shares sent
    function deposit(uint256 assets, address receiver, address controller)
        external
        nonReentrant
        returns (uint256 shares)
    {
        _requireAuthorized(controller);
        _resolveDeposit(controller);
        uint256 assetsWad = assets.toWad(tokenDecimals);
        shares = _claim(claimableDeposits[controller], assetsWad);
        emit Deposit(controller, receiver, assets, shares);
        _transfer(address(this), receiver, shares);
    }

    /// @notice Claims the assets of `shares` of settled redeem requests (ERC-7540 `redeem`).
    /// @param shares shares of the request to claim for
    /// @param receiver who gets the assets
    /// @param controller the request's controller
    /// @return assets token units sent
    function redeem(uint256 shares, address receiver, address controller)
        external
        nonReentrant
        returns (uint256 assets)
    {
        _requireAuthorized(controller);
        _resolveRedeem(controller);
        uint256 assetsWad = _claim(claimableRedeems[controller], shares);
        assets = assetsWad.fromWadDown(tokenDecimals);
        // Per-request rounding can leave the last claimer a few wei short: never pay beyond the bucket.
        uint256 paid = MathLib.min(assets.toWad(tokenDecimals), claimableAssets);
        claimableAssets -= paid;
        assets = paid.fromWadDown(tokenDecimals);
        emit Withdraw(msg.sender, receiver, controller, assets, shares);
        vault.push(receiver, assets);
    }

    /* ------------------------------------------------------------------ */
    /*                             SETTLEMENT                              */
    /* ------------------------------------------------------------------ */

    /// @notice Settles the current epoch once its cutoff has passed: the pool as it stood at the
    /// cutoff, priced at each market's first round observed after it (proved like an order's fill
    /// round; a market whose first round is missing past `epochPriceWait`, late or invalid is
    /// priced at its last valid price moved by gapBuffer against the depositing or redeeming LPs).
    /// Permissionless.
    /// @param fillRoundIds per market, the first round after the cutoff (0: there is none yet)
    /// @param previousRoundIds per market, that round's predecessor
    function settleEpoch(uint80[] calldata fillRoundIds, uint80[] calldata previousRoundIds) external nonReentrant {
        uint64 epochId = currentEpoch;
        if (epochId == 0) revert NotStarted();
        Epoch storage epoch = epochs[epochId];
        if (block.timestamp < epoch.cutoff) revert EpochNotOver(epochId, epoch.cutoff);
        uint256 markets = engine.marketCount();
        if (fillRoundIds.length != markets || previousRoundIds.length != markets) {
            revert WrongPriceCount(fillRoundIds.length, markets);
        }
        PoolValuation valuation = PoolValuation(address(engine));
        valuation.checkpointAll();
        // A market without a usable first round is priced against whoever enters or leaves:
        // deposits and redemptions then value the pool apart.
        uint256[] memory depositPrices = new uint256[](markets);
        uint256[] memory redeemPrices = new uint256[](markets);
        bool gapPriced;
        for (uint256 m; m < markets; ++m) {
            (depositPrices[m], redeemPrices[m]) =
                _epochPrices(epochId, uint8(m), epoch.cutoff, fillRoundIds[m], previousRoundIds[m]);
            gapPriced = gapPriced || depositPrices[m] != redeemPrices[m];
        }
        Valuation memory forRedeem;
        (forRedeem.base, forRedeem.pnl, forRedeem.reservedUsd) = valuation.epochValuation(redeemPrices);
        // Memory structs assign by reference: a gap-priced epoch needs a valuation of its own.
        Valuation memory forDeposit = forRedeem;
        if (gapPriced) {
            forDeposit = Valuation(0, 0, forRedeem.reservedUsd);
            (forDeposit.base, forDeposit.pnl,) = valuation.epochValuation(depositPrices);
        }

        Epoch storage next = epochs[epochId + 1];
        epoch.settled = true;
        if (_capBinds(forRedeem.base, forRedeem.pnl)) {
            next.depositAssets += epoch.depositAssets;
            next.redeemShares += epoch.redeemShares;
            emit EpochDeferred(epochId, forRedeem.base, forRedeem.pnl);
        } else {
            _fillEpoch(epoch, next, forDeposit, forRedeem);
            emit EpochSettled(
                epochId,
                depositPrices,
                redeemPrices,
                forDeposit.base - forDeposit.pnl,
                forRedeem.base - forRedeem.pnl,
                epoch.depositAssets,
                epoch.sharesMinted,
                epoch.redeemShares,
                epoch.redeemSharesFilled,
                epoch.assetsPaid
            );
        }
        uint256 nextCutoff = uint256(epoch.cutoff) + poolConfig.epochLength;
        if (nextCutoff <= block.timestamp) nextCutoff = block.timestamp + poolConfig.epochLength;
        _openEpoch(epochId + 1, nextCutoff);
    }

    /* ------------------------------------------------------------------ */
    /*                                VIEWS                                */
    /* ------------------------------------------------------------------ */

    /// @notice The settlement token.
    /// @return the token
    function asset() external view returns (address) {
        return address(vault.token());
    }

    /// @notice The pool's live value for depositors (base value minus traders' PnL, profit
    /// capped), in token units.
    /// @return token units
    function totalAssets() public view returns (uint256) {
        (int256 base, int256 pnl) = PoolValuation(address(engine)).poolValue();
        return _depositValue(base, pnl).pos().fromWadDown(tokenDecimals);
    }

    /// @notice Shares `assets` would buy at the live value (indicative: requests settle at the epoch price).
    /// @param assets token units
    /// @return shares
    function convertToShares(uint256 assets) external view returns (uint256) {
        return assets.toWad(tokenDecimals).mulDivDown(totalSupply() + VIRTUAL_SHARES, totalAssets().toWad(tokenDecimals) + VIRTUAL_ASSETS);
    }

    /// @notice Assets `shares` are worth at the live value (indicative).
    /// @param shares LP shares
    /// @return token units
    function convertToAssets(uint256 shares) external view returns (uint256) {
        return shares.mulDivDown(totalAssets().toWad(tokenDecimals) + VIRTUAL_ASSETS, totalSupply() + VIRTUAL_SHARES)
            .fromWadDown(tokenDecimals);
    }

    /// @notice Requests are asynchronous: there is no synchronous preview (ERC-7540).
    function previewDeposit(uint256) external pure returns (uint256) {
        revert AsyncOnly();
    }

    /// @notice Requests are asynchronous: there is no synchronous preview (ERC-7540).
    function previewRedeem(uint256) external pure returns (uint256) {
        revert AsyncOnly();
    }

    /// @notice Assets (token units) of `controller`'s deposit request still waiting for its epoch.
    /// @param controller the controller
    /// @return token units
    function pendingDepositRequest(uint256, address controller) external view returns (uint256) {
        (Request memory r,) = _previewDeposit(controller);
        return uint256(r.amount).fromWadDown(tokenDecimals);
    }

    /// @notice Shares of `controller`'s redeem request still waiting for its epoch.
    /// @param controller the controller
    /// @return shares
    function pendingRedeemRequest(uint256, address controller) external view returns (uint256) {
        (Request memory r,) = _previewRedeem(controller);
        return r.amount;
    }

    /// @notice Assets (token units) of settled deposit requests `controller` can claim shares for.
    /// @param controller the controller
    /// @return token units
    function claimableDepositRequest(uint256, address controller) external view returns (uint256) {
        (, Claimable memory claim) = _previewDeposit(controller);
        return uint256(claim.requested).fromWadDown(tokenDecimals);
    }

    /// @notice Shares of settled redeem requests `controller` can claim assets for.
    /// @param controller the controller
    /// @return shares
    function claimableRedeemRequest(uint256, address controller) external view returns (uint256) {
        (, Claimable memory claim) = _previewRedeem(controller);
        return claim.requested;
    }

    /* ------------------------------------------------------------------ */
    /*                              INTERNAL                               */
    /* ------------------------------------------------------------------ */

    /// @dev Fills deposits in full and redemptions up to what the cash and the open-interest
    /// reserve allow (pro rata), at the epoch's values: deposits at the value counting traders'
    /// loss in full, redemptions at the value counting it at a haircut.
    function _fillEpoch(Epoch storage epoch, Epoch storage next, Valuation memory forDeposit, Valuation memory forRedeem)
        internal
    {
        EngineBase.GlobalConfig memory g = _globalConfig();
        uint256 supply = totalSupply();
        uint256 depositAssets = epoch.depositAssets;
        uint256 netDeposit = depositAssets - depositAssets.mulDivUp(poolConfig.depositFee, WAD);
        uint256 depositValue = _depositValue(forDeposit.base, forDeposit.pnl).pos();
        uint256 sharesMinted = netDeposit.mulDivDown(supply + VIRTUAL_SHARES, depositValue + VIRTUAL_ASSETS);

        int256 base = forRedeem.base;
        int256 pnl = forRedeem.pnl;
        uint256 reservedUsd = forRedeem.reservedUsd;
        int256 lossCounted = pnl < 0 ? MathLib.mulDivCeil(pnl, WAD - g.lossHaircut, WAD) : pnl;
        uint256 redeemValue = (base - lossCounted).pos();
        uint256 redeemShares = epoch.redeemShares;
        uint256 filled = redeemShares;
        uint256 assetsPaid = _redeemAssets(filled, redeemValue, supply);
        // Cash and the reserve for open interest bound what can leave the pool.
        int256 cash = engine.poolCash() + depositAssets.toInt();
        int256 freeValue = base + depositAssets.toInt() - reservedUsd.mulDivUp(WAD, g.reserveFactor).toInt();
        uint256 maxOut = MathLib.minInt(cash, freeValue).pos();
        if (assetsPaid > maxOut) {
            filled = redeemShares.mulDivDown(maxOut, assetsPaid);
            assetsPaid = _redeemAssets(filled, redeemValue, supply);
        }

        epoch.depositsFilled = true;
        epoch.sharesMinted = sharesMinted.toUint128();
        epoch.redeemSharesFilled = filled.toUint128();
        epoch.assetsPaid = assetsPaid.toUint128();
        next.redeemShares += (redeemShares - filled).toUint128();

        pendingDepositAssets -= depositAssets;
        claimableAssets += assetsPaid;
        _mint(address(this), sharesMinted);
        _burn(address(this), filled);
        engine.movePoolCash(depositAssets.toInt() - assetsPaid.toInt());
    }

    function _redeemAssets(uint256 shares, uint256 value, uint256 supply) internal view returns (uint256) {
        uint256 gross = shares.mulDivDown(value + VIRTUAL_ASSETS, supply + VIRTUAL_SHARES);
        return gross - gross.mulDivUp(poolConfig.redeemFee, WAD);
    }

    /// @dev Traders' net profit counts in full (it is capped by deferral) and their net loss in
    /// full: the value a depositor buys at.
    function _depositValue(int256 base, int256 pnl) internal pure returns (int256) {
        return base - pnl;
    }

    /// @dev Deposits and redemptions wait while traders' profit exceeds maxPnlFactor times the
    /// base value, or the base value is not positive while there are LPs (an empty pool has
    /// nobody to protect and must be able to take its first deposit).
    function _capBinds(int256 base, int256 pnl) internal view returns (bool) {
        if (base <= 0) return totalSupply() != 0 || pnl > 0;
        return pnl > MathLib.mulDivFloor(base, _globalConfig().maxPnlFactor, WAD);
    }

    /// @dev A market's prices for an epoch: its first round after the cutoff, for deposits and
    /// redemptions alike, when that round is valid and started within `epochPriceWait`.
    /// Otherwise (no round in the window, proved by the first round or by the latest round
    /// predating the cutoff) the feed's last valid price at the cutoff moved by gapBuffer against
    /// whoever transacts: a redemption values the pool low (up when traders are net long, down when
    /// net short) and a deposit values it high (the other way), so neither dilutes the LPs who stay.
    function _epochPrices(uint64 epochId, uint8 marketId, uint256 cutoff, uint80 fillRoundId, uint80 previousRoundId)
        internal
        view
        returns (uint256 depositPrice, uint256 redeemPrice)
    {
        EngineBase.MarketConfig memory market = engine.marketConfig(marketId);
        uint256 waitUntil = cutoff + poolConfig.epochPriceWait;
        ChainlinkLib.Round memory lastRound; // the feed's last round at or before the cutoff
        if (fillRoundId != 0) {
            ChainlinkLib.Round memory round = ChainlinkLib.proveFirstRoundAfter(
                market.feed, anchorRounds[epochId][marketId], cutoff, fillRoundId, previousRoundId
            );
            if (
                round.startedAt <= waitUntil && ChainlinkLib.priceStatus(market.feed, round) == ChainlinkLib.Status.Valid
                    && !market.closed
            ) {
                return (round.price, round.price);
            }
            // The proof checked that the predecessor (or the anchor) started at or before the cutoff.
            (lastRound,) = ChainlinkLib.getRound(market.feed, previousRoundId);
        } else {
            (lastRound,) = ChainlinkLib.latest(market.feed, _sequencer());
            if (block.timestamp <= waitUntil || lastRound.startedAt > cutoff) {
                revert EpochPriceMissing(marketId, waitUntil);
            }
        }
        (int256 skew, uint256 lastPrice) = PoolValuation(address(engine)).epochMarket(marketId);
        if (ChainlinkLib.priceStatus(market.feed, lastRound) == ChainlinkLib.Status.Valid) lastPrice = lastRound.price;
        uint256 up = lastPrice.mulDivUp(WAD + market.gapBuffer, WAD);
        uint256 down = lastPrice.mulDivDown(WAD - market.gapBuffer, WAD);
        return skew >= 0 ? (down, up) : (up, down);
    }

    function _openEpoch(uint64 epochId, uint256 cutoff) internal {
        currentEpoch = epochId;
        epochs[epochId].cutoff = cutoff.toUint64();
        uint256 markets = engine.marketCount();
        ChainlinkLib.Sequencer memory sequencer = _sequencer();
        for (uint256 m; m < markets; ++m) {
            (ChainlinkLib.Round memory latest,) = ChainlinkLib.latest(engine.marketConfig(uint8(m)).feed, sequencer);
            anchorRounds[epochId][uint8(m)] = latest.roundId;
        }
        engine.openEpoch(epochId, uint64(cutoff));
        emit EpochOpened(epochId, uint64(cutoff));
    }

    /// @dev Adds to a pending request: requests join the epoch whose cutoff is ahead; one request
    /// per controller per side is pending at a time.
    function _addRequest(Request storage request, Request memory resolved, uint256 amount)
        internal
        returns (uint64 epoch)
    {
        epoch = block.timestamp < epochs[currentEpoch].cutoff ? currentEpoch : currentEpoch + 1;
        if (currentEpoch == 0) revert NotStarted();
        if (resolved.amount != 0 && resolved.epoch != epoch) revert PendingRequestInOtherEpoch(resolved.epoch, epoch);
        request.epoch = epoch;
        request.amount = (uint256(resolved.amount) + amount).toUint128();
        // A top-up keeps the origin of a rolled part, so that it cannot be cancelled with it.
        request.origin = resolved.amount == 0 ? epoch : resolved.origin;
    }

    function _cancelRequest(Request storage request, address controller, bool isDeposit)
        internal
        returns (uint256 amount)
    {
        amount = request.amount;
        uint64 epoch = request.epoch;
        if (amount == 0 || epochs[epoch].settled) revert NoPendingRequest(controller);
        // A request that rolled out of an earlier epoch stays irrevocable, even topped up.
        uint64 origin = request.origin;
        uint64 cutoff = epochs[origin].cutoff;
        if (origin != currentEpoch || epoch != origin || block.timestamp >= cutoff) {
            revert RequestIrrevocable(origin, cutoff);
        }
        request.amount = 0;
        emit RequestCancelled(controller, epoch, isDeposit, amount);
    }

    /// @dev Moves a controller's deposit request through settled epochs into its claim (a
    /// deferred epoch rolls it into the next) and writes the result.
    function _resolveDeposit(address controller) internal returns (Request memory r) {
        Claimable memory claim;
        (r, claim) = _previewDeposit(controller);
        depositRequests[controller] = r;
        claimableDeposits[controller] = claim;
    }

    /// @dev Moves a controller's redeem request through settled epochs (the filled part into its
    /// claim, the rest rolled into the next epoch) and writes the result.
    function _resolveRedeem(address controller) internal returns (Request memory r) {
        Claimable memory claim;
        (r, claim) = _previewRedeem(controller);
        redeemRequests[controller] = r;
        claimableRedeems[controller] = claim;
    }

    function _previewDeposit(address controller) internal view returns (Request memory r, Claimable memory claim) {
        r = depositRequests[controller];
        claim = claimableDeposits[controller];
        for (uint256 i; r.amount != 0 && epochs[r.epoch].settled && i < MAX_RESOLVE_STEPS; ++i) {
            Epoch storage epoch = epochs[r.epoch];
            if (epoch.depositsFilled) {
                claim.requested += r.amount;
                claim.result += uint256(r.amount).mulDivDown(epoch.sharesMinted, epoch.depositAssets).toUint128();
                r.amount = 0;
            } else {
                ++r.epoch;
            }
        }
    }

    function _previewRedeem(address controller) internal view returns (Request memory r, Claimable memory claim) {
        r = redeemRequests[controller];
        claim = claimableRedeems[controller];
        for (uint256 i; r.amount != 0 && epochs[r.epoch].settled && i < MAX_RESOLVE_STEPS; ++i) {
            Epoch storage epoch = epochs[r.epoch];
            uint256 filled = epoch.redeemShares == 0
                ? 0
                : uint256(r.amount).mulDivDown(epoch.redeemSharesFilled, epoch.redeemShares);
            if (filled != 0) {
                claim.requested += filled.toUint128();
                claim.result += filled.mulDivDown(epoch.assetsPaid, epoch.redeemSharesFilled).toUint128();
            }
            r.amount -= filled.toUint128();
            ++r.epoch;
        }
    }

    function _claim(Claimable storage claim, uint256 requested) internal returns (uint256 result) {
        if (requested == 0) revert ZeroAmount();
        uint256 available = claim.requested;
        if (requested > available) revert ExceedsClaimable(requested, available);
        result = uint256(claim.result).mulDivDown(requested, available);
        claim.requested = (available - requested).toUint128();
        claim.result -= result.toUint128();
    }

    function _requireAuthorized(address owner) internal view {
        if (msg.sender != owner && !isOperator[owner][msg.sender]) revert NotAuthorized(owner, msg.sender);
    }

    function _globalConfig() internal view returns (EngineBase.GlobalConfig memory g) {
        (
            g.keeperRewardFloor,
            g.minCollateral,
            g.reserveFactor,
            g.lpFeeShare,
            g.insuranceFeeShare,
            g.maxPnlFactor,
            g.keeperRewardCap,
            g.keeperRewardShare,
            g.lossHaircut
        ) = engine.globalConfig();
    }

    function _sequencer() internal view returns (ChainlinkLib.Sequencer memory s) {
        (s.feed, s.gracePeriod) = engine.sequencer();
    }

    function _setPoolConfig(PoolConfig memory c) internal {
        if (c.epochLength < 60 || c.epochLength > 7 days) revert ParameterOutOfBounds("epochLength", c.epochLength, 7 days);
        if (c.epochPriceWait < 60 || c.epochPriceWait > 1 days) {
            revert ParameterOutOfBounds("epochPriceWait", c.epochPriceWait, 1 days);
        }
        if (c.depositFee > 0.01e18) revert ParameterOutOfBounds("depositFee", c.depositFee, 0.01e18);
        if (c.redeemFee > 0.01e18) revert ParameterOutOfBounds("redeemFee", c.redeemFee, 0.01e18);
        poolConfig = c;
        emit PoolConfigSet(c);
    }
}
