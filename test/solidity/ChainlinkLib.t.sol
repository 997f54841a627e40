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
}
