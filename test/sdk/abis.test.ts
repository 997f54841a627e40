/**
 * The committed `sdk/src/abis.ts` must be what the compiled artifacts produce
 * (`npm run abis` regenerates it).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { ABIS_FILE, readArtifactAbis, renderAbis } from "../../scripts/generate-abis.js";
import { aeonErrorAbi, engineAbi } from "../../sdk/src/index.js";

describe("sdk: generated ABIs", () => {
  it("sdk/src/abis.ts matches the artifacts (run `npm run abis` after changing a contract)", async () => {
    const expected = renderAbis(await readArtifactAbis());
    const committed = await readFile(ABIS_FILE, "utf8");
    assert.ok(committed === expected, "sdk/src/abis.ts is out of date: run `npm run abis` and commit it");
  });

  it("the engine ABI carries its modules' functions (called on the engine's address)", () => {
    const names = new Set<string>(engineAbi.filter((item) => item.type === "function").map((item) => item.name));
    for (const name of ["deposit", "listMarket", "liquidate", "liquidateBatch", "poolValue"]) assert.ok(names.has(name), name);
    const errors: string[] = aeonErrorAbi.map((item) => item.name);
    assert.ok(errors.includes("InsufficientMargin") && errors.includes("EarlierRoundQualifies"));
  });
});
