// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EngineFixture} from "./utils/EngineFixture.sol";
import {EngineBase} from "../../contracts/EngineBase.sol";
import {Governance} from "../../contracts/Governance.sol";

/// @dev Roles, the guardian's pause and every setter's hard bounds (SPEC sections 2 and 3).
contract GovernanceTest is EngineFixture {
    function setUp() public {
        setUpEngine();
    }

    function _cfg() internal view returns (EngineBase.MarketConfig memory) {
        return defaultMarketConfig(address(ethFeed), 1_000_000e18);
    }

    function _expectBound(string memory name, uint256 value, uint256 bound_) internal {
        vm.expectRevert(abi.encodeWithSelector(EngineBase.ParameterOutOfBounds.selector, name, value, bound_));
    }

    /* ---------------------------- market bounds ---------------------------- */

    function test_marketConfig_feeAndRiskBounds() public {
        EngineBase.MarketConfig memory c = _cfg();
        c.kMax = 0;
        _expectBound("kMax", 0, 1);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.kMax = 0.05e18 + 1;
        _expectBound("kMax", 0.05e18 + 1, 0.05e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.takerFee = 0.01e18 + 1;
        _expectBound("takerFee", 0.01e18 + 1, 0.01e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.makerFee = 0.0005e18 + 1;
        _expectBound("makerFee", 0.0005e18 + 1, 0.0005e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.liquidationFee = 0.05e18 + 1;
        _expectBound("liquidationFee", 0.05e18 + 1, 0.05e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.gapBuffer = 0.1e18 + 1;
        _expectBound("gapBuffer", 0.1e18 + 1, 0.1e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.deviation = 0.05e18 + 1;
        _expectBound("deviation", 0.05e18 + 1, 0.05e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.skewScale = 0;
        _expectBound("skewScale", 0, 1);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.maxOpenInterestUsd = 0;
        _expectBound("maxOpenInterestUsd", 0, 1);
        governance.setMarketConfig(ETH, c);
    }

    function test_marketConfig_fundingAndBorrowBounds() public {
        EngineBase.MarketConfig memory c = _cfg();
        c.fundingInterval = 1 hours - 1;
        _expectBound("fundingInterval", 1 hours - 1, 1 hours);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.fundingInterval = 1 days + 1;
        _expectBound("fundingInterval", 1 days + 1, 1 days);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.fundingCap = 0.05e18 + 1;
        _expectBound("fundingCap", 0.05e18 + 1, 0.05e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.interestRate = -0.0076e18;
        _expectBound("interestRate", 0.0076e18, 0.0075e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.borrowKink = 0;
        _expectBound("borrowKink", 0, 1);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.borrowKink = 1e18;
        _expectBound("borrowKink", 1e18, 1e18 - 1);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.borrowMaxRate = 10e18 + 1;
        _expectBound("borrowMaxRate", 10e18 + 1, 10e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.borrowKinkRate = 0.01e18;
        _expectBound("borrowKinkRate", 0.01e18, 0.02e18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.borrowKinkRate = 1e18 + 1;
        _expectBound("borrowKinkRate", 1e18 + 1, 1e18);
        governance.setMarketConfig(ETH, c);
    }

    function test_marketConfig_feedBounds() public {
        EngineBase.MarketConfig memory c = _cfg();
        c.feed.heartbeat = 59;
        _expectBound("heartbeat", 59, 60);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.feed.heartbeat = 2 days + 1;
        _expectBound("heartbeat", 2 days + 1, 2 days);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.feed.decimals = 19;
        _expectBound("feed.decimals", 19, 18);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.feed.minPrice = 0;
        _expectBound("feed.minPrice", 0, 1);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.feed.minPrice = c.feed.maxPrice + 1;
        _expectBound("feed.minPrice", c.feed.maxPrice + 1, c.feed.maxPrice);
        governance.setMarketConfig(ETH, c);

        c = _cfg();
        c.feed.aggregator = address(0);
        _expectBound("feed.aggregator", 0, 1);
        governance.setMarketConfig(ETH, c);
    }

    /// @dev mmr >= liquidationFee + 2 * deviation + gapBuffer + kMax.
    function test_maintenanceBound_onConfigAndTiers() public {
        EngineBase.MarketConfig memory c = _cfg();
        c.kMax = 0.01e18; // floor 0.5% + 0.1% + 0.3% + 1% = 1.9% > tier 0's 1.4286%
        vm.expectRevert(abi.encodeWithSelector(EngineBase.MaintenanceBelowBound.selector, uint256(0.014286e18), uint256(0.019e18)));
        governance.setMarketConfig(ETH, c);

        EngineBase.MarginTier[] memory tiers = defaultTiers();
        tiers[0].mmr = 0.014e18 - 1;
        vm.expectRevert(abi.encodeWithSelector(EngineBase.MaintenanceBelowBound.selector, uint256(0.014e18 - 1), uint256(0.014e18)));
        governance.setMarginTiers(ETH, tiers);

        tiers[0].mmr = 0.014e18; // exactly the bound passes
        tiers[0].imr = 0.014e18;
        _expectBound("tier.imr", 0.014e18, 0.014e18 + 1);
        governance.setMarginTiers(ETH, tiers);
        tiers[0].imr = 0.028e18;
        governance.setMarginTiers(ETH, tiers);
        assertEq(governance.marginTiers(ETH)[0].mmr, 0.014e18, "stored");
    }

    function test_tiers_orderAndCount() public {
        EngineBase.MarginTier[] memory tiers = defaultTiers();
        tiers[1].maxOpenInterestUsd = tiers[0].maxOpenInterestUsd;
        _expectBound("tier.maxOpenInterestUsd", tiers[0].maxOpenInterestUsd, tiers[0].maxOpenInterestUsd + 1);
        governance.setMarginTiers(ETH, tiers);

        tiers = defaultTiers();
        tiers[2].imr = 0.045e18;
        tiers[2].mmr = 0.03e18;
        _expectBound("tier.imr", 0.045e18, 0.05e18);
        governance.setMarginTiers(ETH, tiers);

        EngineBase.MarginTier[] memory fewer = new EngineBase.MarginTier[](2);
        fewer[0] = defaultTiers()[0];
        fewer[1] = defaultTiers()[1];
        _expectBound("tiers.length", 2, 3); // open positions keep their tier index
        governance.setMarginTiers(ETH, fewer);

        EngineBase.MarginTier[] memory five = new EngineBase.MarginTier[](5);
        _expectBound("tiers.length", 5, 4);
        governance.listMarket(_cfg(), five);
    }

    /// Tiers live in fixed slots: the view returns exactly the tiers set, and the last one set
    /// applies beyond every threshold, its own included.
    function test_tiers_lastSetAppliesBeyondEveryThreshold() public {
        EngineBase.MarginTier[] memory four = new EngineBase.MarginTier[](4);
        four[0] = EngineBase.MarginTier({maxOpenInterestUsd: 1e18, imr: 0.028572e18, mmr: 0.014286e18});
        four[1] = EngineBase.MarginTier({maxOpenInterestUsd: 2e18, imr: 0.05e18, mmr: 0.025e18});
        four[2] = EngineBase.MarginTier({maxOpenInterestUsd: 3e18, imr: 0.1e18, mmr: 0.05e18});
        four[3] = EngineBase.MarginTier({maxOpenInterestUsd: 4e18, imr: 0.2e18, mmr: 0.1e18});
        governance.setMarginTiers(ETH, four);
        EngineBase.MarginTier[] memory stored = governance.marginTiers(ETH);
        assertEq(stored.length, 4, "four tiers");
        assertEq(stored[3].imr, 0.2e18, "the fourth");
        assertEq(governance.marginTiers(BTC).length, 3, "the other market keeps its three");
        assertEq(governance.initialMarginRate(ETH, 3000e18), 0.028572e18, "no open interest: the first");

        fundPool(1_000_000e6);
        uint40 a = depositFor(alice, 0, 1_000e6);
        fillAt(a, ETH, 1e18, 3000e18); // 3,000 USD of open interest, beyond the last threshold
        assertEq(engine.getPosition(a, ETH).tier, 3, "the last tier set");
        assertEq(governance.initialMarginRate(ETH, 3000e18), 0.2e18, "its rate");

        // Three set: the fourth slot is empty and never chosen.
        EngineBase.MarginTier[] memory three = new EngineBase.MarginTier[](3);
        (three[0], three[1], three[2]) = (four[0], four[1], four[2]);
        governance.setMarginTiers(BTC, three);
        fillAt(a, BTC, 0.01e18, 60_000e18); // 600 USD, beyond every threshold
        assertEq(engine.getPosition(a, BTC).tier, 2, "the last of three");
        assertEq(governance.initialMarginRate(BTC, 60_000e18), 0.1e18, "its rate");
        assertEq(governance.marginTiers(BTC).length, 3, "still three");
    }

    /* ---------------------------- global bounds ---------------------------- */

    function test_globalConfig_bounds() public {
        EngineBase.GlobalConfig memory g = defaultGlobalConfig();
        g.keeperRewardCap = 1_000e18 + 1;
        _expectBound("keeperRewardCap", 1_000e18 + 1, 1_000e18);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.keeperRewardFloor = 500e18 + 1;
        _expectBound("keeperRewardFloor", 500e18 + 1, 500e18);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.minCollateral = 1_000e18 + 1;
        _expectBound("minCollateral", 1_000e18 + 1, 1_000e18);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.keeperRewardShare = 1e18 + 1;
        _expectBound("keeperRewardShare", 1e18 + 1, 1e18);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.maxPnlFactor = 0.1e18 - 1;
        _expectBound("maxPnlFactor", 0.1e18 - 1, 0.1e18);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.lossHaircut = 1e18 + 1;
        _expectBound("lossHaircut", 1e18 + 1, 1e18);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.reserveFactor = 0;
        _expectBound("reserveFactor", 0, 1);
        governance.setGlobalConfig(g);

        g = defaultGlobalConfig();
        g.insuranceFeeShare = 0.3e18 + 1;
        _expectBound("insuranceFeeShare", 0.3e18 + 1, 0.3e18);
        governance.setGlobalConfig(g);

        _expectBound("gracePeriod", 1 days + 1, 1 days);
        governance.setSequencer(address(1), uint32(1 days + 1));
    }

    /* -------------------------------- roles -------------------------------- */

    function test_roles_onlyRiskRoleSetsParameters() public {
        bytes32 risk = engine.RISK_ROLE();
        EngineBase.MarketConfig memory c = _cfg();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, risk));
        vm.prank(bob);
        governance.setMarketConfig(ETH, c);
        EngineBase.GlobalConfig memory g = defaultGlobalConfig();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, risk));
        vm.prank(bob);
        governance.setGlobalConfig(g);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, risk));
        vm.prank(bob);
        governance.listMarket(c, defaultTiers());

        engine.grantRole(risk, bob);
        vm.prank(bob);
        governance.setMarketConfig(ETH, c);
        // the risk role cannot pause
        bytes32 guardian = engine.GUARDIAN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, guardian));
        vm.prank(bob);
        governance.setOpeningPaused(true);
    }

    function test_roles_onlyGuardianPauses() public {
        bytes32 guardian = engine.GUARDIAN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, carol, guardian));
        vm.prank(carol);
        governance.setOpeningPaused(true);
        engine.grantRole(guardian, carol);
        vm.prank(carol);
        governance.setOpeningPaused(true);
        assertTrue(engine.openingPaused(), "paused");
        // the guardian cannot set parameters
        EngineBase.MarketConfig memory c = _cfg();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, carol, engine.RISK_ROLE())
        );
        vm.prank(carol);
        governance.setMarketConfig(ETH, c);
    }

    function test_modules_setOnce() public {
        vm.expectRevert(abi.encodeWithSelector(EngineBase.ModulesAlreadySet.selector));
        governance.setModules(bob, bob);
        assertEq(engine.orderBook(), address(this), "unchanged");
    }

    function test_modules_zeroAddressRejected() public {
        Governance2Fixture f = new Governance2Fixture();
        f.check();
    }

    function test_modulesCalledDirectly_holdNoRoles() public {
        address module = engine.governance();
        EngineBase.MarketConfig memory c = _cfg();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), engine.RISK_ROLE())
        );
        Governance(module).setMarketConfig(ETH, c);
    }
}

/// @dev A fresh engine whose modules are not wired yet.
contract Governance2Fixture is EngineFixture {
    function check() external {
        vm.warp(START);
        setUpEngineUnwired();
        vm.expectRevert(abi.encodeWithSelector(EngineBase.ParameterOutOfBounds.selector, "orderBook", uint256(0), uint256(1)));
        governance.setModules(address(0), address(this));
        vm.expectRevert(abi.encodeWithSelector(EngineBase.ParameterOutOfBounds.selector, "liquidityPool", uint256(0), uint256(1)));
        governance.setModules(address(this), address(0));
        governance.setModules(address(this), address(this));
    }
}
