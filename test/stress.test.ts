/**
 * The stress scenarios in their short form (coarser steps, a smaller crowd) on the real contracts
 * and keepers: every report has its fields, and the default parameters keep their guarantees:
 * bad debt within the insurance fund, no account left liquidatable, no profit for the manipulator.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { move } from "../scripts/exchange/prices.js";
import { SCENARIO_NAMES, type ScenarioReport, guaranteeFailures, renderChart, reportTable, runScenario } from "../scripts/stress.js";

describe("stress scenarios (short form)", () => {
  const reports: ScenarioReport[] = [];

  for (const name of SCENARIO_NAMES) {
    it(`${name}: reports every field and keeps the default-parameter guarantees`, async () => {
      const report = await runScenario(name, { seed: 1, short: true });
      reports.push(report);
      for (const key of ["badDebtUsd", "insuranceUsedUsd", "poolDrawdownPct", "liquidations", "maxLiquidationDelaySeconds", "tradesRejectedByCaps", "fundingPaidLongUsd", "fundingPaidShortUsd"] as const) {
        assert.equal(typeof report[key], "number", key);
        assert.ok(Number.isFinite(report[key]), `${key} = ${report[key]}`);
      }
      assert.ok(report.path.length > 10, "a share-price path");
      assert.ok(report.path.every((p) => p.sharePrice > 0 && p.price > 0));
      assert.deepEqual(guaranteeFailures(report), []);
      if (name === "manipulation") {
        assert.equal(typeof report.attackerProfitUsd, "number");
        assert.ok((report.attackerProfitUsd ?? 1) <= 0, `the attacker earned ${report.attackerProfitUsd}`);
      } else {
        assert.equal(report.attackerProfitUsd, undefined);
      }
      if (name === "crash50" || name === "squeeze" || name === "keeper-outage") assert.ok(report.liquidations > 0, "the move liquidates part of the crowd");
      if (name === "keeper-outage") assert.ok(report.maxLiquidationDelaySeconds >= 1800, "accounts waited for the keepers' return");
      if (name === "drain") assert.ok(report.lpRedeemedUsd > 0, "LPs got out");
      const svg = renderChart(report);
      assert.match(svg, /^<svg[\s\S]*<path d="M[\s\S]*<\/svg>\n$/);
    });
  }

  it("is reproducible: the same seed gives the same report", async () => {
    const again = await runScenario("keeper-outage", { seed: 1, short: true });
    const first = reports.find((r) => r.scenario === "keeper-outage");
    assert.ok(first !== undefined);
    const { path: _a, ...a } = first;
    const { path: _b, ...b } = again;
    assert.deepEqual(b, a);
    assert.match(reportTable(reports), /^\| scenario \|[\s\S]*\| manipulation \|/);
  });

  it("moves a price path linearly over its window and keeps the walk's moves after it", () => {
    const flat = () => 100;
    const path = move(flat, 10, 20, -0.5);
    assert.equal(path(5), 100);
    assert.equal(path(20), 75);
    assert.equal(path(30), 50);
    assert.equal(path(99), 50);
    assert.throws(() => move(flat, 0, 10, -1), /change must be > -1/);
    assert.throws(() => move(flat, 0, 0, 0.5), /duration must be a positive number/);
  });
});
