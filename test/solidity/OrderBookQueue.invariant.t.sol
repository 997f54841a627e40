// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderBookFixture} from "./utils/OrderBookFixture.sol";
import {OrderBook} from "../../contracts/OrderBook.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";

/// @dev SPEC section 9, invariant 8, as a fuzz test over random interleavings of order creation
/// by several traders, price rounds and executions: every fill uses the first round observed
/// after the order's creation (or, for a late execution, the worse of it and the latest round),
/// fills happen in queue order, no other round is accepted, and nobody can cancel a queued order.
contract OrderBookQueueInvariantTest is OrderBookFixture {
    struct Pending {
        uint256 key;
        uint40 accountId;
        address owner;
        int256 size;
        uint256 createdAt;
        uint256 anchor; // index into `rounds`
    }

    struct Round {
        uint80 id;
        uint256 startedAt;
        uint256 price;
    }

    uint256 internal constant STEPS = 48;

    /// @dev The time, tracked here: block.timestamp may be cached across warps under viaIR.
    uint256 internal clock;
    uint16 internal lastSubaccount;

    function setUp() public {
        setUpOrderBook();
    }

    function next(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed)));
    }

    function testFuzz_fillsUseTheFirstRoundAfterCreationInQueueOrder(uint256 seed) public {
        Pending[] memory queue = new Pending[](STEPS + 1);
        Round[] memory rounds = new Round[](STEPS + 2);
        rounds[0] = Round(round1(1), START, 3000e18);
        uint256 roundCount = 1;
        uint256 head;
        uint256 tail;
        clock = START;

        for (uint256 step; step < STEPS; ++step) {
            seed = next(seed);
            uint256 action = seed % 3;
            if (action == 0) {
                queue[tail] = commit(seed, tail, roundCount - 1);
                ++tail;
            } else if (action == 1) {
                // Time passes (possibly not at all) and the feed writes a round.
                clock += (seed >> 8) % 25;
                vm.warp(clock);
                uint256 price = (2500 + (seed >> 16) % 1000) * 1e18 + ((seed >> 32) % 100) * 1e16;
                uint80 id = ethFeed.setPrice(int256(price / 1e10));
                rounds[roundCount] = Round(id, clock, price);
                ++roundCount;
            } else if (head < tail) {
                head = executeHead(queue, head, tail, rounds, roundCount);
            }
        }
        // Drain: one more round after everything, then the whole queue executes in order.
        vm.warp(++clock);
        rounds[roundCount] = Round(ethFeed.setPrice(3000e8), clock, 3000e18);
        ++roundCount;
        while (head < tail) {
            head = executeHead(queue, head, tail, rounds, roundCount);
        }
        (uint64 queueHead, uint64 queueTail) = book.queues(ETH);
        assertEq(uint256(queueHead), tail, "queue drained");
        assertEq(uint256(queueTail), tail, "tail");
    }

    /// @dev A trader commits an order on a fresh subaccount, so its position shows its fill price.
    function commit(uint256 seed, uint256 tail, uint256 anchor) internal returns (Pending memory) {
        address[3] memory traders = [alice, bob, carol];
        address owner = traders[(seed >> 8) % 3];
        uint16 subaccount = ++lastSubaccount;
        uint40 accountId = depositFor(owner, subaccount, 10_000e6);
        int256 size = int256(((seed >> 16) % 20 + 1) * 0.01e18);
        if ((seed >> 32) % 2 == 0) size = -size;
        uint256 key = marketOrder(owner, subaccount, ETH, size, size > 0 ? type(uint256).max : 0);
        assertEq(key, book.queuedKey(ETH, uint64(tail)), "queued at the tail");
        return Pending(key, accountId, owner, size, clock, anchor);
    }

    /// @dev Executes the model's head if its fill round exists; checks the wrong rounds around it
    /// are refused, the fill price, and that the orders behind it are untouched.
    function executeHead(
        Pending[] memory queue,
        uint256 head,
        uint256 tail,
        Round[] memory rounds,
        uint256 roundCount
    ) internal
        returns (uint256)
    {
        Pending memory o = queue[head];
        uint256 fill = type(uint256).max;
        for (uint256 j = o.anchor + 1; j < roundCount; ++j) {
            if (rounds[j].startedAt > o.createdAt) {
                fill = j;
                break;
            }
        }
        if (fill == type(uint256).max) {
            // No fill round yet: the latest round is refused.
            if (roundCount - 1 > o.anchor) {
                try book.executeOrder(ETH, rounds[roundCount - 1].id, rounds[roundCount - 1].id - 1) {
                    revert AssertionFailed("executed before its fill round existed");
                } catch {}
            }
            return head;
        }
        // The owner cannot back out.
        vm.prank(o.owner);
        try book.cancelOrder(o.key) {
            revert AssertionFailed("owner cancelled a queued order");
        } catch {}
        // Neither a later round nor an earlier one is accepted.
        if (fill + 1 < roundCount) {
            try book.executeOrder(ETH, rounds[fill + 1].id, rounds[fill].id) {
                revert AssertionFailed("a later round was accepted");
            } catch {}
        }
        if (fill - 1 > o.anchor) {
            try book.executeOrder(ETH, rounds[fill - 1].id, rounds[fill - 2].id) {
                revert AssertionFailed("an earlier round was accepted");
            } catch {}
        }

        uint256 price = rounds[fill].price;
        if (clock > rounds[fill].startedAt + defaultOrderConfig().lateDelay) {
            uint256 latest = rounds[roundCount - 1].price;
            price = o.size > 0 ? (latest > price ? latest : price) : (latest < price ? latest : price);
        }
        executeAt(keeper, ETH, rounds[fill].id);

        EngineBase.Position memory pos = engine.getPosition(o.accountId, ETH);
        assertEq(int256(pos.size), o.size, "the head filled");
        assertEq(int256(pos.cost), o.size * int256(price) / 1e18, "at its first round after creation");
        assertEq(book.getOrder(o.key).accountId, 0, "popped");
        assertEq(reservedMargin(o.accountId), 0, "reservation released");
        for (uint256 k = head + 1; k < tail; ++k) {
            assertEq(book.getOrder(queue[k].key).accountId, queue[k].accountId, "orders behind still queued");
            assertEq(int256(engine.getPosition(queue[k].accountId, ETH).size), 0, "orders behind not filled");
        }
        return head + 1;
    }
}
