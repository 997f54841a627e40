// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title ChainlinkLib
/// @notice The protocol's only code that talks to Chainlink (SPEC sections 1, 3 and 6): reads the
/// latest round and says whether its price is valid, reads historical rounds, and proves that a
/// round is the first one observed after a given time.
/// @dev Reading never reverts because of what a feed does (reverts, burns its gas, has no code,
/// returns malformed data): a market without a valid price must still be liquidated. Each feed call
/// gets a fixed gas budget, and the read reverts when the caller left less than that budget, so a
/// caller cannot starve the call to make a valid price look invalid or a round look missing.
library ChainlinkLib {
    /// @notice Feed config, stored per market by the clearing engine.
    /// @dev Packed in one slot: 20 + 1 + 4 = 25 bytes, then minPrice and maxPrice in a second.
    struct Feed {
        address aggregator; // AggregatorV3Interface (proxy)
        uint8 decimals; // answer decimals, cached when the market is listed; at most 18
        uint32 heartbeat; // seconds: a latest round whose updatedAt is older than this is stale
        uint96 minPrice; // WAD bounds; outside them the price is invalid
        uint96 maxPrice;
    }

    /// @notice Optional L2 sequencer-uptime feed (answer 0 = up, anything else = down; startedAt =
    /// when the status last changed). feed == address(0): no sequencer (L1).
    struct Sequencer {
        address feed;
        uint32 gracePeriod;
    }

    /// @notice A round with its answer scaled to WAD (price = 0 when answer <= 0). Times above
    /// 2^64 - 1 are saturated.
    struct Round {
        uint80 roundId;
        uint256 price;
        uint64 startedAt;
        uint64 updatedAt;
    }

    enum Status {
        Valid,
        NotPositive,
        OutOfBounds,
        Stale,
        SequencerDown,
        SequencerGrace
    }

    /// @notice Feed decimals above 18 cannot be scaled to WAD exactly.
    error DecimalsAboveWad(uint8 decimals);
    /// @notice Less gas is left than a feed call is guaranteed: retry with more gas.
    error InsufficientGasForFeedCall(uint256 gasLeft, uint256 required);
    /// @notice The proof only spans the anchor's phase and the next one.
    error UnsupportedPhaseJump(uint80 anchorRoundId, uint80 roundId);
    /// @notice The round does not exist on the feed.
    error RoundNotFound(uint80 roundId);
    /// @notice The round's observation started at or before `time`.
    error RoundNotAfterTime(uint80 roundId, uint256 startedAt, uint256 time);
    /// @notice The claimed predecessor is older than the anchor round.
    error PredecessorBeforeAnchor(uint80 previousRoundId, uint80 anchorRoundId);
    /// @notice `previousRoundId` is not the round immediately before `roundId`.
    error NotPredecessor(uint80 roundId, uint80 previousRoundId);
    /// @notice The claimed last round of a phase is not the last: `previousRoundId + 1` exists.
    error PredecessorNotLastOfPhase(uint80 previousRoundId);
    /// @notice The predecessor was itself observed after `time`, so `roundId` is not the first.
    error EarlierRoundQualifies(uint80 previousRoundId, uint256 startedAt, uint256 time);

    /// @dev Gas each feed call gets; a Chainlink proxy read costs well under a tenth of it.
    uint256 internal constant FEED_CALL_GAS = 200_000;
    /// @dev Gas needed before a call for the callee to get FEED_CALL_GAS after the 1/64 rule
    /// (EIP-150), with room for the call's own cost (cold account access, memory).
    uint256 internal constant MIN_GAS_FOR_FEED_CALL = FEED_CALL_GAS * 64 / 63 + 10_000;
    uint256 private constant ROUND_WORDS_LENGTH = 5 * 32;

    /// @dev Latest round of the feed, validated. The first failing check gives the status: the
    /// sequencer (down, then grace), staleness (`updatedAt + heartbeat < block.timestamp`, or the
    /// feed call failed: then the round is zero), the sign, then the bounds. Never reverts for a
    /// bad price or a failing feed.
    function latest(Feed memory feed, Sequencer memory sequencer)
        internal
        view
        returns (Round memory round, Status status)
    {
        bool ok;
        (round, ok) = readRound(feed, abi.encodeCall(AggregatorV3Interface.latestRoundData, ()));
        status = sequencerStatus(sequencer);
        if (status != Status.Valid) return (round, status);
        if (!ok || uint256(round.updatedAt) + feed.heartbeat < block.timestamp) return (round, Status.Stale);
        return (round, priceStatus(feed, round));
    }

    /// @dev Status of the sequencer alone: Valid when none is configured; SequencerDown when it
    /// reports down, its feed fails or its status time is unset (startedAt == 0); SequencerGrace
    /// until `gracePeriod` seconds have passed since it came back up.
    function sequencerStatus(Sequencer memory sequencer) internal view returns (Status) {
        if (sequencer.feed == address(0)) return Status.Valid;
        (bool ok,, int256 answer, uint256 startedAt,) =
            callRound(sequencer.feed, abi.encodeCall(AggregatorV3Interface.latestRoundData, ()));
        if (!ok || answer != 0 || startedAt == 0) return Status.SequencerDown;
        if (startedAt >= block.timestamp || block.timestamp - startedAt <= sequencer.gracePeriod) {
            return Status.SequencerGrace;
        }
        return Status.Valid;
    }

    /// @dev A historical round; exists == false when getRoundData reverts, returns updatedAt == 0
    /// or returns another round id (Chainlink proxies revert for rounds that do not exist).
    function getRound(Feed memory feed, uint80 roundId) internal view returns (Round memory round, bool exists) {
        (round, exists) = readRound(feed, abi.encodeCall(AggregatorV3Interface.getRoundData, (roundId)));
        exists = exists && round.updatedAt != 0 && round.roundId == roundId;
    }

    /// @dev Validity of a historical round's price: NotPositive, OutOfBounds or Valid (no
    /// staleness: it is history). `price == 0` exactly when the answer was <= 0.
    function priceStatus(Feed memory feed, Round memory round) internal pure returns (Status) {
        if (round.price == 0) return Status.NotPositive;
        if (round.price < feed.minPrice || round.price > feed.maxPrice) return Status.OutOfBounds;
        return Status.Valid;
    }

    /// @dev Proves that `roundId` is the first round after `anchorRoundId` whose startedAt is
    /// strictly after `time`, and returns it. `previousRoundId` is the round immediately before:
    /// `roundId - 1` in the same phase, or, when `roundId` is round 1 of its phase, the last round
    /// of the previous phase (proved by `previousRoundId + 1` not existing). Because startedAt never
    /// decreases, a predecessor at or before `time` (or equal to the anchor) proves that no earlier
    /// round after the anchor qualifies. Only the anchor's phase and the next one are supported.
    function proveFirstRoundAfter(
        Feed memory feed,
        uint80 anchorRoundId,
        uint256 time,
        uint80 roundId,
        uint80 previousRoundId
    ) internal view returns (Round memory round) {
        (uint256 phase, uint256 number) = splitRoundId(roundId);
        (uint256 anchorPhase,) = splitRoundId(anchorRoundId);
        if (phase != anchorPhase && phase != anchorPhase + 1) revert UnsupportedPhaseJump(anchorRoundId, roundId);
        if (previousRoundId < anchorRoundId) revert PredecessorBeforeAnchor(previousRoundId, anchorRoundId);
        if (number == 0) revert RoundNotFound(roundId);
        if (number > 1) {
            if (previousRoundId != roundId - 1) revert NotPredecessor(roundId, previousRoundId);
        } else {
            (uint256 previousPhase, uint256 previousNumber) = splitRoundId(previousRoundId);
            if (previousPhase + 1 != phase || previousNumber == 0) revert NotPredecessor(roundId, previousRoundId);
        }

        bool exists;
        (round, exists) = getRound(feed, roundId);
        if (!exists) revert RoundNotFound(roundId);
        if (round.startedAt <= time) revert RoundNotAfterTime(roundId, round.startedAt, time);

        if (number == 1) {
            (, bool nextExists) = getRound(feed, previousRoundId + 1);
            if (nextExists) revert PredecessorNotLastOfPhase(previousRoundId);
        }
        if (previousRoundId != anchorRoundId) {
            (Round memory previous, bool previousExists) = getRound(feed, previousRoundId);
            if (!previousExists) revert RoundNotFound(previousRoundId);
            if (previous.startedAt > time) revert EarlierRoundQualifies(previousRoundId, previous.startedAt, time);
        }
    }

    /// @dev Scales a raw answer to WAD: answer * 10**(18 - decimals), 0 when answer <= 0. An answer
    /// too large for 256 bits saturates to type(uint256).max, which is out of any uint96 bounds.
    function toWad(int256 answer, uint8 decimals) internal pure returns (uint256) {
        if (decimals > 18) revert DecimalsAboveWad(decimals);
        if (answer <= 0) return 0;
        uint256 unit = 10 ** (18 - decimals);
        if (uint256(answer) > type(uint256).max / unit) return type(uint256).max;
        return uint256(answer) * unit;
    }

    /// @dev Re-raises a caught failure that comes from the caller's gas limit, not from the rules:
    /// an out-of-gas (empty reason) or a feed read refused for lack of gas. A try/catch that turns
    /// failures into outcomes (a cancel, a skipped liquidation) must call this first, or whoever
    /// picks the gas limit picks the outcome.
    function rethrowIfGasStarved(bytes memory reason) internal pure {
        if (reason.length < 4 || bytes4(reason) == InsufficientGasForFeedCall.selector) {
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    /// @dev Chainlink round ids are (phaseId << 64) | aggregatorRoundId.
    function splitRoundId(uint80 roundId) internal pure returns (uint256 phase, uint256 number) {
        return (roundId >> 64, uint64(roundId));
    }

    /// @dev Calls a round getter on the feed and builds the Round; ok == false when the call failed
    /// or returned data that is not a round.
    function readRound(Feed memory feed, bytes memory callData) internal view returns (Round memory round, bool ok) {
        (bool success, uint256 roundId, int256 answer, uint256 startedAt, uint256 updatedAt) =
            callRound(feed.aggregator, callData);
        if (!success) return (round, false);
        round = Round({
            roundId: uint80(roundId), // safe: callRound checked it fits
            price: toWad(answer, feed.decimals),
            startedAt: toUint64Saturating(startedAt),
            updatedAt: toUint64Saturating(updatedAt)
        });
        return (round, true);
    }

    /// @dev Calls `feed` with a round getter, with FEED_CALL_GAS, and decodes the first four words.
    /// A low-level call, because try/catch does not catch a call to an address without code nor
    /// malformed return data.
    function callRound(address feed, bytes memory callData)
        internal
        view
        returns (bool ok, uint256 roundId, int256 answer, uint256 startedAt, uint256 updatedAt)
    {
        if (gasleft() < MIN_GAS_FOR_FEED_CALL) revert InsufficientGasForFeedCall(gasleft(), MIN_GAS_FOR_FEED_CALL);
        (bool success, bytes memory data) = feed.staticcall{gas: FEED_CALL_GAS}(callData);
        if (!success || data.length < ROUND_WORDS_LENGTH) return (false, 0, 0, 0, 0);
        (roundId, answer, startedAt, updatedAt) = abi.decode(data, (uint256, int256, uint256, uint256));
        if (roundId > type(uint80).max) return (false, 0, 0, 0, 0);
        return (true, roundId, answer, startedAt, updatedAt);
    }

    function toUint64Saturating(uint256 x) internal pure returns (uint64) {
        return x > type(uint64).max ? type(uint64).max : uint64(x);
    }
}
