// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockAggregator
/// @notice Test double of a Chainlink aggregator proxy. Rounds are stored per phase and their ids
/// are `(phaseId << 64) | n`, starting at phase 1, n = 1, as a real proxy numbers them; a round
/// that does not exist makes `getRoundData` revert, as a proxy in front of an OCR aggregator does.
/// @dev Also serves as an L2 sequencer-uptime feed: answer 0 = up, 1 = down, `startedAt` = when
/// the status last changed (use `setRound`). Times are stored as given, so tests can build any
/// history, including malformed ones.
contract MockAggregator is AggregatorV3Interface {
    error NoDataPresent(uint80 roundId);
    error FeedDeprecated();

    event RoundSet(uint80 indexed roundId, int256 answer, uint256 startedAt, uint256 updatedAt);
    event PhaseStarted(uint16 indexed phaseId);

    struct StoredRound {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    uint256 private constant VERSION = 1;

    uint8 private immutable _decimals;
    string private _description;

    /// @notice The phase new rounds are written to.
    uint16 public phaseId = 1;
    /// @notice While true, every read reverts with `FeedDeprecated` (a feed taken down).
    bool public deprecated;
    /// @notice Number of rounds in each phase; the rounds of a phase are n = 1..roundCount.
    mapping(uint16 phaseId => uint64 count) public roundCount;
    mapping(uint80 roundId => StoredRound) private _rounds;

    /// @param decimals_ Decimals of the answers.
    /// @param description_ Feed description, e.g. "ETH / USD".
    constructor(uint8 decimals_, string memory description_) {
        _decimals = decimals_;
        _description = description_;
    }

    /// @notice Writes a new round observed now: startedAt = updatedAt = block.timestamp.
    /// @param answer The round's answer, in `decimals()`.
    /// @return roundId The new round's id.
    function setPrice(int256 answer) external returns (uint80 roundId) {
        return _push(answer, block.timestamp, block.timestamp);
    }

    /// @notice Writes a new round with explicit times.
    /// @param answer The round's answer, in `decimals()`.
    /// @param startedAt When the round's observation started.
    /// @param updatedAt When the round's answer was written.
    /// @return roundId The new round's id.
    function setRound(int256 answer, uint256 startedAt, uint256 updatedAt) external returns (uint80 roundId) {
        return _push(answer, startedAt, updatedAt);
    }

    /// @notice Switches to a new phase (a new aggregator behind the proxy): the next round is
    /// `(phaseId + 1) << 64 | 1`. Until it is written, `latestRoundData` reverts.
    function startNewPhase() external {
        uint16 next = phaseId + 1;
        phaseId = next;
        emit PhaseStarted(next);
    }

    /// @notice Makes every read revert (true) or work again (false).
    /// @param value Whether the feed is deprecated.
    function setDeprecated(bool value) external {
        deprecated = value;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return VERSION;
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Reverts with `NoDataPresent` when the round does not exist.
    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (deprecated) revert FeedDeprecated();
        uint64 n = uint64(roundId_); // safe: the low 64 bits are the aggregator round number
        if (n == 0 || n > roundCount[uint16(roundId_ >> 64)]) revert NoDataPresent(roundId_);
        return _read(roundId_);
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Reverts with `NoDataPresent` when the current phase has no round yet.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (deprecated) revert FeedDeprecated();
        uint16 phase = phaseId;
        uint80 id = _roundId(phase, roundCount[phase]);
        if (roundCount[phase] == 0) revert NoDataPresent(id);
        return _read(id);
    }

    function _push(int256 answer, uint256 startedAt, uint256 updatedAt) private returns (uint80 roundId) {
        uint16 phase = phaseId;
        uint64 n = roundCount[phase] + 1;
        roundCount[phase] = n;
        roundId = _roundId(phase, n);
        _rounds[roundId] = StoredRound(answer, startedAt, updatedAt);
        emit RoundSet(roundId, answer, startedAt, updatedAt);
    }

    function _read(uint80 id)
        private
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        StoredRound storage r = _rounds[id];
        return (id, r.answer, r.startedAt, r.updatedAt, id);
    }

    function _roundId(uint16 phase, uint64 n) private pure returns (uint80) {
        return (uint80(phase) << 64) | n;
    }
}
