// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {ChainlinkLib} from "../../contracts/libraries/ChainlinkLib.sol";
import {MockAggregator} from "../../contracts/mocks/MockAggregator.sol";

/// @dev Exposes the internal library through external calls, so tests can expect reverts and
/// catch them.
contract ChainlinkHarness {
    function latest(ChainlinkLib.Feed memory feed, ChainlinkLib.Sequencer memory sequencer)
        external
        view
        returns (ChainlinkLib.Round memory, ChainlinkLib.Status)
    {
        return ChainlinkLib.latest(feed, sequencer);
    }

    function sequencerStatus(ChainlinkLib.Sequencer memory sequencer) external view returns (ChainlinkLib.Status) {
        return ChainlinkLib.sequencerStatus(sequencer);
    }

    function getRound(ChainlinkLib.Feed memory feed, uint80 roundId)
        external
        view
        returns (ChainlinkLib.Round memory, bool)
    {
        return ChainlinkLib.getRound(feed, roundId);
    }

    function priceStatus(ChainlinkLib.Feed memory feed, ChainlinkLib.Round memory round)
        external
        pure
        returns (ChainlinkLib.Status)
    {
        return ChainlinkLib.priceStatus(feed, round);
    }

    function proveFirstRoundAfter(
        ChainlinkLib.Feed memory feed,
        uint80 anchorRoundId,
        uint256 time,
        uint80 roundId,
        uint80 previousRoundId
    ) external view returns (ChainlinkLib.Round memory) {
        return ChainlinkLib.proveFirstRoundAfter(feed, anchorRoundId, time, roundId, previousRoundId);
    }

    function toWad(int256 answer, uint8 decimals) external pure returns (uint256) {
        return ChainlinkLib.toWad(answer, decimals);
    }
}

/// @dev A feed that burns every unit of gas it is given.
contract GasBurningFeed {
    fallback() external {
        while (true) {}
    }
}

/// @dev A feed that answers with `data` whatever it is asked.
contract RawFeed {
    bytes private _data;

    function setData(bytes calldata data) external {
        _data = data;
    }

    fallback() external {
        bytes memory data = _data;
        assembly {
            return(add(data, 32), mload(data))
        }
    }
}

contract ChainlinkLibTest is Test {
    uint256 internal constant T0 = 1_000_000;
    uint32 internal constant HEARTBEAT = 3600;
    uint32 internal constant GRACE = 3600;
    uint96 internal constant MIN_PRICE = 1e18;
    uint96 internal constant MAX_PRICE = 1_000_000e18;
    uint80 internal constant PHASE_1 = uint80(1) << 64;
    uint80 internal constant PHASE_2 = uint80(2) << 64;

    ChainlinkHarness internal lib;
    MockAggregator internal agg8;
    MockAggregator internal agg18;
    MockAggregator internal sequencerFeed;

    function setUp() public {
        vm.warp(T0);
        lib = new ChainlinkHarness();
        agg8 = new MockAggregator(8, "ETH / USD");
        agg18 = new MockAggregator(18, "ETH / USD (18)");
        sequencerFeed = new MockAggregator(0, "L2 sequencer uptime");
    }

    // ---------------------------------------------------------------- helpers

    function feedOf(address aggregator, uint8 decimals) internal pure returns (ChainlinkLib.Feed memory) {
        return ChainlinkLib.Feed(aggregator, decimals, HEARTBEAT, MIN_PRICE, MAX_PRICE);
    }

    function feed8() internal view returns (ChainlinkLib.Feed memory) {
        return feedOf(address(agg8), 8);
    }

    function noSequencer() internal pure returns (ChainlinkLib.Sequencer memory) {
        return ChainlinkLib.Sequencer(address(0), 0);
    }

    function withSequencer() internal view returns (ChainlinkLib.Sequencer memory) {
        return ChainlinkLib.Sequencer(address(sequencerFeed), GRACE);
    }

    function latestStatus(ChainlinkLib.Feed memory feed) internal view returns (ChainlinkLib.Status status) {
        (, status) = lib.latest(feed, noSequencer());
    }

    function assertStatus(ChainlinkLib.Status actual, ChainlinkLib.Status expected, string memory what)
        internal
        pure
    {
        assertEq(uint256(actual), uint256(expected), what);
    }

    // ---------------------------------------------------------------- latest: prices and scaling

    function test_latest_scales8DecimalAnswerToExactWad() public {
        agg8.setPrice(3000_12345678);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.Valid, "status");
        assertEq(round.price, 3000.12345678e18, "price");
        assertEq(uint256(round.roundId), uint256(PHASE_1 | 1), "roundId");
        assertEq(uint256(round.startedAt), T0, "startedAt");
        assertEq(uint256(round.updatedAt), T0, "updatedAt");
    }

    function test_latest_keeps18DecimalAnswerAsIs() public {
        agg18.setPrice(2500.123456789012345678e18);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) =
            lib.latest(feedOf(address(agg18), 18), noSequencer());
        assertStatus(status, ChainlinkLib.Status.Valid, "status");
        assertEq(round.price, 2500.123456789012345678e18, "price");
    }

    function test_toWad_scalesExactlyAndZeroesNonPositiveAnswers() public view {
        assertEq(lib.toWad(1, 8), 1e10, "1 unit of 8 decimals");
        assertEq(lib.toWad(7, 0), 7e18, "0 decimals");
        assertEq(lib.toWad(123, 18), 123, "18 decimals");
        assertEq(lib.toWad(0, 8), 0, "zero");
        assertEq(lib.toWad(-5e8, 8), 0, "negative");
        assertEq(lib.toWad(type(int256).max, 8), type(uint256).max, "saturates instead of overflowing");
    }

    function test_toWad_revertsAbove18Decimals() public {
        vm.expectRevert(abi.encodeWithSelector(ChainlinkLib.DecimalsAboveWad.selector, uint8(19)));
        lib.toWad(1, 19);
    }

    function test_latest_staleWhenUpdatedAtPlusHeartbeatBeforeNow() public {
        agg8.setPrice(2000e8);
        vm.warp(T0 + HEARTBEAT + 1);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.Stale, "status");
        assertEq(round.price, 2000e18, "the stale round is still returned");
    }

    function test_latest_validExactlyAtHeartbeatEdge() public {
        agg8.setPrice(2000e8);
        vm.warp(T0 + HEARTBEAT);
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.Valid, "status");
    }

    function test_latest_staleIsJudgedOnUpdatedAtNotStartedAt() public {
        agg8.setRound(2000e8, T0 - 2 * HEARTBEAT, T0 - HEARTBEAT);
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.Valid, "updatedAt within heartbeat");
        vm.warp(T0 + 1);
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.Stale, "updatedAt past heartbeat");
    }

    function test_latest_zeroAnswerIsNotPositive() public {
        agg8.setPrice(0);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.NotPositive, "status");
        assertEq(round.price, 0, "price");
    }

    function test_latest_negativeAnswerIsNotPositive() public {
        agg8.setPrice(-1);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.NotPositive, "status");
        assertEq(round.price, 0, "price");
    }

    function test_latest_belowMinIsOutOfBounds() public {
        agg8.setPrice(0.99999999e8);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.OutOfBounds, "status");
        assertEq(round.price, 0.99999999e18, "price");
    }

    function test_latest_aboveMaxIsOutOfBounds() public {
        agg8.setPrice(1_000_000.00000001e8);
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.OutOfBounds, "status");
    }

    function test_latest_boundsAreInclusive() public {
        agg8.setPrice(1e8);
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.Valid, "at min");
        agg8.setPrice(1_000_000e8);
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.Valid, "at max");
    }

    function test_latest_hugeAnswerIsOutOfBoundsWithoutReverting() public {
        agg8.setPrice(type(int256).max);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.OutOfBounds, "status");
        assertEq(round.price, type(uint256).max, "saturated price");
    }

    // ---------------------------------------------------------------- latest: failing feeds

    function test_latest_revertingAggregatorIsStaleWithoutReverting() public {
        agg8.setPrice(2000e8);
        agg8.setDeprecated(true);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), noSequencer());
        assertStatus(status, ChainlinkLib.Status.Stale, "status");
        assertEq(uint256(round.roundId), 0, "zero round id");
        assertEq(round.price, 0, "zero price");
        assertEq(uint256(round.updatedAt), 0, "zero updatedAt");
    }

    function test_latest_aggregatorWithoutCodeIsStale() public view {
        assertStatus(latestStatus(feedOf(address(0xdead), 8)), ChainlinkLib.Status.Stale, "status");
    }

    function test_latest_gasBurningAggregatorIsStale() public {
        GasBurningFeed burner = new GasBurningFeed();
        assertStatus(latestStatus(feedOf(address(burner), 8)), ChainlinkLib.Status.Stale, "status");
    }

    function test_latest_malformedAnswersAreStale() public {
        RawFeed raw = new RawFeed();
        ChainlinkLib.Feed memory feed = feedOf(address(raw), 8);
        raw.setData(abi.encode(uint256(1), int256(2000e8), T0, T0)); // 4 words instead of 5
        assertStatus(latestStatus(feed), ChainlinkLib.Status.Stale, "short data");
        raw.setData(abi.encode(uint256(type(uint80).max) + 1, int256(2000e8), T0, T0, uint256(1)));
        assertStatus(latestStatus(feed), ChainlinkLib.Status.Stale, "round id above uint80");
        raw.setData(abi.encode(uint256(7), int256(2000e8), T0, T0, uint256(7)));
        assertStatus(latestStatus(feed), ChainlinkLib.Status.Valid, "well-formed data is read");
    }

    function test_latest_revertsWhenCallerLeavesLessThanTheFeedCallGas() public {
        agg8.setPrice(2000e8);
        ChainlinkLib.Feed memory feed = feed8();
        ChainlinkLib.Sequencer memory sequencer = noSequencer();
        try lib.latest{gas: 150_000}(feed, sequencer) {
            revert AssertionFailed("a starved feed call must revert, not report an invalid price");
        } catch (bytes memory reason) {
            assertEq(bytes32(bytes4(reason)), bytes32(ChainlinkLib.InsufficientGasForFeedCall.selector), "error");
        }
        (, ChainlinkLib.Status status) = lib.latest{gas: 300_000}(feed, sequencer);
        assertStatus(status, ChainlinkLib.Status.Valid, "enough gas");
    }

    function test_latest_emptyPhaseAfterPhaseChangeIsStale() public {
        agg8.setPrice(2000e8);
        agg8.startNewPhase();
        assertStatus(latestStatus(feed8()), ChainlinkLib.Status.Stale, "status");
    }

    // ---------------------------------------------------------------- sequencer

    function test_sequencer_downMakesLatestInvalid() public {
        sequencerFeed.setRound(1, T0 - 10 * GRACE, T0 - 10 * GRACE);
        agg8.setPrice(2000e8);
        (ChainlinkLib.Round memory round, ChainlinkLib.Status status) = lib.latest(feed8(), withSequencer());
        assertStatus(status, ChainlinkLib.Status.SequencerDown, "status");
        assertEq(round.price, 2000e18, "round still returned");
    }

    function test_sequencer_justBackUpIsInGrace() public {
        sequencerFeed.setRound(0, T0 - 1, T0 - 1);
        agg8.setPrice(2000e8);
        (, ChainlinkLib.Status status) = lib.latest(feed8(), withSequencer());
        assertStatus(status, ChainlinkLib.Status.SequencerGrace, "status");
    }

    function test_sequencer_graceEdgeIsInclusive() public {
        sequencerFeed.setRound(0, T0 - GRACE, T0 - GRACE);
        assertStatus(lib.sequencerStatus(withSequencer()), ChainlinkLib.Status.SequencerGrace, "at grace end");
        vm.warp(T0 + 1);
        assertStatus(lib.sequencerStatus(withSequencer()), ChainlinkLib.Status.Valid, "one second after");
    }

    function test_sequencer_upAfterGraceIsValid() public {
        sequencerFeed.setRound(0, T0 - GRACE - 1, T0 - GRACE - 1);
        agg8.setPrice(2000e8);
        (, ChainlinkLib.Status status) = lib.latest(feed8(), withSequencer());
        assertStatus(status, ChainlinkLib.Status.Valid, "status");
    }

    function test_sequencer_noneConfiguredIsValid() public view {
        assertStatus(lib.sequencerStatus(noSequencer()), ChainlinkLib.Status.Valid, "status");
    }

    function test_sequencer_revertingFeedCountsAsDown() public {
        sequencerFeed.setRound(0, T0 - 10 * GRACE, T0 - 10 * GRACE);
        sequencerFeed.setDeprecated(true);
        assertStatus(lib.sequencerStatus(withSequencer()), ChainlinkLib.Status.SequencerDown, "status");
    }

    function test_sequencer_unsetStatusTimeCountsAsDown() public {
        sequencerFeed.setRound(0, 0, T0);
        assertStatus(lib.sequencerStatus(withSequencer()), ChainlinkLib.Status.SequencerDown, "status");
    }

    function test_sequencer_statusChangeInTheFutureIsGrace() public {
        sequencerFeed.setRound(0, T0 + 5, T0 + 5);
        assertStatus(lib.sequencerStatus(withSequencer()), ChainlinkLib.Status.SequencerGrace, "status");
    }

    // ---------------------------------------------------------------- historical rounds

    function test_getRound_readsAnExistingRound() public {
        agg8.setRound(1500e8, T0 - 20, T0 - 10);
        (ChainlinkLib.Round memory round, bool exists) = lib.getRound(feed8(), PHASE_1 | 1);
        assertTrue(exists, "exists");
        assertEq(uint256(round.roundId), uint256(PHASE_1 | 1), "roundId");
        assertEq(round.price, 1500e18, "price");
        assertEq(uint256(round.startedAt), T0 - 20, "startedAt");
        assertEq(uint256(round.updatedAt), T0 - 10, "updatedAt");
    }

    function test_getRound_missingRoundDoesNotExist() public {
        agg8.setPrice(1500e8);
        (ChainlinkLib.Round memory round, bool exists) = lib.getRound(feed8(), PHASE_1 | 2);
        assertFalse(exists, "next round");
        assertEq(round.price, 0, "zero round");
        (, exists) = lib.getRound(feed8(), PHASE_1);
        assertFalse(exists, "round number 0");
        (, exists) = lib.getRound(feed8(), PHASE_2 | 1);
        assertFalse(exists, "round of a phase not started");
    }

    function test_getRound_zeroUpdatedAtDoesNotExist() public {
        agg8.setRound(1500e8, 0, 0); // what an OCR2 aggregator returns for a missing round
        (, bool exists) = lib.getRound(feed8(), PHASE_1 | 1);
        assertFalse(exists, "exists");
    }

    function test_getRound_answerForAnotherRoundIdDoesNotExist() public {
        RawFeed raw = new RawFeed();
        raw.setData(abi.encode(uint256(PHASE_1 | 2), int256(2000e8), T0, T0, uint256(PHASE_1 | 2)));
        (, bool exists) = lib.getRound(feedOf(address(raw), 8), PHASE_1 | 3);
        assertFalse(exists, "a different round id is not the round asked for");
        (, exists) = lib.getRound(feedOf(address(raw), 8), PHASE_1 | 2);
        assertTrue(exists, "the round asked for");
    }

    function test_priceStatus_historyIsNeverStale() public {
        agg8.setRound(1500e8, T0 - 1, T0 - 1);
        agg8.setRound(0, T0 - 1, T0 - 1);
        agg8.setRound(2_000_000e8, T0 - 1, T0 - 1);
        vm.warp(T0 + 100 * HEARTBEAT);
        ChainlinkLib.Feed memory feed = feed8();
        (ChainlinkLib.Round memory round,) = lib.getRound(feed, PHASE_1 | 1);
        assertStatus(lib.priceStatus(feed, round), ChainlinkLib.Status.Valid, "old valid round");
        (round,) = lib.getRound(feed, PHASE_1 | 2);
        assertStatus(lib.priceStatus(feed, round), ChainlinkLib.Status.NotPositive, "zero answer");
        (round,) = lib.getRound(feed, PHASE_1 | 3);
        assertStatus(lib.priceStatus(feed, round), ChainlinkLib.Status.OutOfBounds, "above max");
    }

    // ---------------------------------------------------------------- the mock numbers rounds like a proxy

    function test_mock_numbersRoundsPerPhaseAndRevertsForMissingOnes() public {
        assertEq(uint256(agg8.setPrice(1e8)), uint256(PHASE_1 | 1), "first round");
        assertEq(uint256(agg8.setPrice(2e8)), uint256(PHASE_1 | 2), "second round");
        agg8.startNewPhase();
        vm.expectRevert(abi.encodeWithSelector(MockAggregator.NoDataPresent.selector, PHASE_2));
        agg8.latestRoundData();
        assertEq(uint256(agg8.setRound(3e8, T0 - 5, T0 - 4)), uint256(PHASE_2 | 1), "new phase starts at 1");
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) = agg8.latestRoundData();
        assertEq(uint256(id), uint256(PHASE_2 | 1), "latest id");
        assertEq(answer, 3e8, "latest answer");
        assertEq(startedAt, T0 - 5, "startedAt");
        assertEq(updatedAt, T0 - 4, "updatedAt");
        assertEq(uint256(answeredIn), uint256(PHASE_2 | 1), "answeredInRound");
        (, answer,,,) = agg8.getRoundData(PHASE_1 | 2);
        assertEq(answer, 2e8, "old phase still readable");
        vm.expectRevert(abi.encodeWithSelector(MockAggregator.NoDataPresent.selector, PHASE_1 | 3));
        agg8.getRoundData(PHASE_1 | 3);
        assertEq(uint256(agg8.decimals()), 8, "decimals");
    }

    // ---------------------------------------------------------------- first round after a time

    uint256 internal constant ORDER_TIME = T0 + 150;

    /// @dev Phase 1 rounds 1..5 observed at T0 + 100, 120, 150, 151, 200 (updated 1s later). An
    /// order created at ORDER_TIME with round 1 as its anchor fills at round 4: round 3 started at
    /// the order time, so it is not after it.
    function buildHistory() internal {
        agg8.setRound(2000e8, T0 + 100, T0 + 101);
        agg8.setRound(2001e8, T0 + 120, T0 + 121);
        agg8.setRound(2002e8, T0 + 150, T0 + 151);
        agg8.setRound(2003e8, T0 + 151, T0 + 152);
        agg8.setRound(2004e8, T0 + 200, T0 + 201);
    }

    function expectProofRevert(bytes memory err, uint80 anchor, uint256 time, uint80 roundId, uint80 previous)
        internal
    {
        ChainlinkLib.Feed memory feed = feed8();
        vm.expectRevert(err);
        lib.proveFirstRoundAfter(feed, anchor, time, roundId, previous);
    }

    function test_prove_acceptsTheTrueFirstRound() public {
        buildHistory();
        ChainlinkLib.Round memory round =
            lib.proveFirstRoundAfter(feed8(), PHASE_1 | 1, ORDER_TIME, PHASE_1 | 4, PHASE_1 | 3);
        assertEq(uint256(round.roundId), uint256(PHASE_1 | 4), "roundId");
        assertEq(round.price, 2003e18, "price");
        assertEq(uint256(round.startedAt), T0 + 151, "startedAt");
        assertEq(uint256(round.updatedAt), T0 + 152, "updatedAt");
    }

    function test_prove_rejectsALaterRoundWhosePredecessorAlsoQualifies() public {
        buildHistory();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.EarlierRoundQualifies.selector, PHASE_1 | 4, T0 + 151, ORDER_TIME),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_1 | 5,
            PHASE_1 | 4
        );
    }

    function test_prove_refusesARoundObservedAtTheOrderTime() public {
        buildHistory();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotAfterTime.selector, PHASE_1 | 3, T0 + 150, ORDER_TIME),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_1 | 3,
            PHASE_1 | 2
        );
    }

    function test_prove_refusesARoundWhoseObservationPrecedesTheOrder() public {
        buildHistory();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotAfterTime.selector, PHASE_1 | 2, T0 + 120, ORDER_TIME),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_1 | 2,
            PHASE_1 | 1
        );
    }

    function test_prove_rejectsAWrongPredecessorId() public {
        buildHistory();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.NotPredecessor.selector, PHASE_1 | 4, PHASE_1 | 2),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_1 | 4,
            PHASE_1 | 2
        );
        // Skipping the rounds in between by naming the anchor as predecessor.
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.NotPredecessor.selector, PHASE_1 | 4, PHASE_1 | 1),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_1 | 4,
            PHASE_1 | 1
        );
    }

    function test_prove_rejectsAPredecessorOlderThanTheAnchor() public {
        buildHistory();
        // The anchor itself is not a round after the anchor.
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.PredecessorBeforeAnchor.selector, PHASE_1 | 2, PHASE_1 | 3),
            PHASE_1 | 3,
            ORDER_TIME,
            PHASE_1 | 3,
            PHASE_1 | 2
        );
        // A round before the anchor, even one observed after the time, cannot be proved through.
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.PredecessorBeforeAnchor.selector, PHASE_1 | 4, PHASE_1 | 5),
            PHASE_1 | 5,
            ORDER_TIME,
            PHASE_1 | 5,
            PHASE_1 | 4
        );
    }

    function test_prove_acceptsTheRoundAfterTheAnchorWhateverTheAnchorStartedAt() public {
        buildHistory();
        // The anchor's own observation time is not checked: only rounds after it count.
        ChainlinkLib.Round memory round =
            lib.proveFirstRoundAfter(feed8(), PHASE_1 | 4, ORDER_TIME, PHASE_1 | 5, PHASE_1 | 4);
        assertEq(uint256(round.roundId), uint256(PHASE_1 | 5), "anchor started after the time");
        round = lib.proveFirstRoundAfter(feed8(), PHASE_1 | 3, ORDER_TIME, PHASE_1 | 4, PHASE_1 | 3);
        assertEq(uint256(round.roundId), uint256(PHASE_1 | 4), "anchor started at the time");
    }

    function test_prove_rejectsAMissingRound() public {
        buildHistory();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotFound.selector, PHASE_1 | 6),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_1 | 6,
            PHASE_1 | 5
        );
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotFound.selector, PHASE_2),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_2,
            PHASE_1 | 5
        );
    }

    /// @dev Phase 1 rounds 1..3 at T0 + 100, 120, 140; phase 2 rounds 1..2 at T0 + 160, 170.
    function buildPhaseChange() internal {
        agg8.setRound(2000e8, T0 + 100, T0 + 100);
        agg8.setRound(2001e8, T0 + 120, T0 + 120);
        agg8.setRound(2002e8, T0 + 140, T0 + 140);
        agg8.startNewPhase();
        agg8.setRound(2100e8, T0 + 160, T0 + 160);
        agg8.setRound(2101e8, T0 + 170, T0 + 170);
    }

    function test_prove_acceptsAcrossAPhaseChangeThroughThePreviousPhasesLastRound() public {
        buildPhaseChange();
        ChainlinkLib.Round memory round =
            lib.proveFirstRoundAfter(feed8(), PHASE_1 | 1, ORDER_TIME, PHASE_2 | 1, PHASE_1 | 3);
        assertEq(uint256(round.roundId), uint256(PHASE_2 | 1), "roundId");
        assertEq(round.price, 2100e18, "price");
        // The anchor is the previous phase's last round.
        round = lib.proveFirstRoundAfter(feed8(), PHASE_1 | 3, ORDER_TIME, PHASE_2 | 1, PHASE_1 | 3);
        assertEq(uint256(round.roundId), uint256(PHASE_2 | 1), "anchor is the last round");
        // Within the new phase, from an anchor in the old one.
        round = lib.proveFirstRoundAfter(feed8(), PHASE_1 | 2, T0 + 165, PHASE_2 | 2, PHASE_2 | 1);
        assertEq(uint256(round.roundId), uint256(PHASE_2 | 2), "second round of the new phase");
    }

    function test_prove_rejectsAPhaseChangeProofWhoseLastRoundIsNotTheLast() public {
        buildPhaseChange();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.PredecessorNotLastOfPhase.selector, PHASE_1 | 2),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_2 | 1,
            PHASE_1 | 2
        );
        // The anchor as the claimed last round does not skip the proof either.
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.PredecessorNotLastOfPhase.selector, PHASE_1 | 1),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_2 | 1,
            PHASE_1 | 1
        );
    }

    function test_prove_rejectsAPhaseChangeProofThroughAMissingRound() public {
        buildPhaseChange();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.RoundNotFound.selector, PHASE_1 | 7),
            PHASE_1 | 1,
            ORDER_TIME,
            PHASE_2 | 1,
            PHASE_1 | 7
        );
    }

    function test_prove_rejectsAPhaseChangeProofWhenAnEarlierRoundQualifies() public {
        buildPhaseChange();
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.EarlierRoundQualifies.selector, PHASE_1 | 3, T0 + 140, T0 + 130),
            PHASE_1 | 1,
            T0 + 130,
            PHASE_2 | 1,
            PHASE_1 | 3
        );
    }

    function test_prove_rejectsPhasesBeyondTheNext() public {
        buildPhaseChange();
        agg8.startNewPhase();
        agg8.setRound(2200e8, T0 + 180, T0 + 180);
        uint80 phase3 = uint80(3) << 64;
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.UnsupportedPhaseJump.selector, PHASE_1 | 3, phase3 | 1),
            PHASE_1 | 3,
            ORDER_TIME,
            phase3 | 1,
            PHASE_2 | 2
        );
        expectProofRevert(
            abi.encodeWithSelector(ChainlinkLib.UnsupportedPhaseJump.selector, PHASE_2 | 1, uint80(5)),
            PHASE_2 | 1,
            ORDER_TIME,
            uint80(5),
            uint80(4)
        );
    }

    // ---------------------------------------------------------------- fuzz: exactly one round is provable

    struct FuzzHistory {
        uint80[] ids;
        uint256[] starts;
        uint80 anchor;
        uint256 time;
        uint256 expected; // index of the first qualifying round, ids.length when none
    }

    function testFuzz_prove_acceptsExactlyTheFirstQualifyingRound(
        uint256 seed,
        uint256 count,
        uint256 anchorIndex,
        uint256 phaseChangeAt,
        uint256 time
    ) public {
        FuzzHistory memory h = buildFuzzHistory(seed, count, anchorIndex, phaseChangeAt, time);
        ChainlinkLib.Feed memory feed = feed8();
        uint256 n = h.ids.length;
        for (uint256 i; i < n; ++i) {
            uint80 previous = i == 0 ? h.anchor : h.ids[i - 1];
            bool accepted = tryProve(feed, h.anchor, h.time, h.ids[i], previous);
            assertEq(accepted, i == h.expected, "accepted exactly the first qualifying round");
        }
        assertFalse(tryProve(feed, h.anchor, h.time, h.ids[n - 1] + 1, h.ids[n - 1]), "a round not written yet");
        if (h.expected < n) checkFirstRound(feed, h);
    }

    /// @dev `count` rounds (1..20) with non-decreasing startedAt (steps of 0..3 s, so ties happen),
    /// a phase change before round `phaseChangeAt` unless it is `count`, an anchor among them and
    /// a time from just before the first round to just after the last.
    function buildFuzzHistory(uint256 seed, uint256 count, uint256 anchorIndex, uint256 phaseChangeAt, uint256 time)
        internal
        returns (FuzzHistory memory h)
    {
        count = bound(count, 1, 20);
        anchorIndex = bound(anchorIndex, 0, count - 1);
        phaseChangeAt = bound(phaseChangeAt, 1, count);
        h.ids = new uint80[](count);
        h.starts = new uint256[](count);
        uint256 t = T0;
        for (uint256 i; i < count; ++i) {
            if (i == phaseChangeAt) agg8.startNewPhase();
            t += uint256(keccak256(abi.encode(seed, i))) % 4;
            h.starts[i] = t;
            h.ids[i] = agg8.setRound(int256(2000e8 + i), t, t + 1);
        }
        h.anchor = h.ids[anchorIndex];
        h.time = bound(time, T0 - 1, t + 1);
        h.expected = count;
        for (uint256 i = anchorIndex + 1; i < count; ++i) {
            if (h.starts[i] > h.time) {
                h.expected = i;
                break;
            }
        }
    }

    /// @dev The first qualifying round is returned with its data, and only through its predecessor.
    function checkFirstRound(ChainlinkLib.Feed memory feed, FuzzHistory memory h) internal view {
        uint256 e = h.expected;
        ChainlinkLib.Round memory round = lib.proveFirstRoundAfter(feed, h.anchor, h.time, h.ids[e], h.ids[e - 1]);
        assertEq(uint256(round.roundId), uint256(h.ids[e]), "roundId");
        assertEq(uint256(round.startedAt), h.starts[e], "startedAt");
        assertEq(round.price, (2000e8 + e) * 1e10, "price");
        for (uint256 j; j < h.ids.length; ++j) {
            if (j == e - 1) continue;
            assertFalse(tryProve(feed, h.anchor, h.time, h.ids[e], h.ids[j]), "wrong predecessor");
        }
    }

    function tryProve(ChainlinkLib.Feed memory feed, uint80 anchor, uint256 time, uint80 roundId, uint80 previous)
        internal
        view
        returns (bool)
    {
        try lib.proveFirstRoundAfter(feed, anchor, time, roundId, previous) returns (ChainlinkLib.Round memory) {
            return true;
        } catch {
            return false;
        }
    }
}
