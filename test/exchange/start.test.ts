/**
 * `npm start` end to end: a 30-second crash50 run on a free port, as CI runs it, and the summary
 * it writes: the crash liquidates (every liquidatable account within two price updates), orders
 * execute and funding settles.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

/** A port nobody listens on now (the OS picks it), so the run never collides with 8545. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Runs `npm start -- ...args`; resolves with its exit code and output. */
function npmStart(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["start", "--", ...args], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm start did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const SUMMARY_FIELDS = [
  "ordersExecuted",
  "fundingSettlements",
  "liquidations",
  "badDebtUsd",
  "poolValueUsd",
  "insuranceFundUsd",
  "missedLiquidations",
] as const;

describe("npm start", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "aeon-start-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs crash50 for 30 s: liquidations, none missed, orders executed, funding settled", { timeout: 400_000 }, async () => {
    const out = path.join(dir, "out.json");
    const port = await freePort();
    // Build, deploy and funding come before the 30 s; the build is cached after the test run's own.
    const { code, output } = await npmStart(["--duration", "30", "--scenario", "crash50", "--json", out, "--port", String(port)], 360_000);
    assert.equal(code, 0, output);
    const summary = JSON.parse(await readFile(out, "utf8")) as Record<string, unknown>;
    for (const field of SUMMARY_FIELDS) {
      assert.equal(typeof summary[field], "number", `${field} in ${JSON.stringify(summary)}`);
      assert.ok(Number.isFinite(summary[field]), field);
    }
    const n = (field: (typeof SUMMARY_FIELDS)[number]): number => summary[field] as number;
    assert.ok(n("liquidations") > 0, `no liquidation in a 50% crash:\n${output}`);
    assert.equal(n("missedLiquidations"), 0, `missed liquidations:\n${output}`);
    assert.ok(n("ordersExecuted") > 0, "no order executed");
    assert.ok(n("fundingSettlements") > 0, "no funding settlement");
    assert.ok(n("badDebtUsd") >= 0 && n("insuranceFundUsd") >= 0 && n("poolValueUsd") > 0);
  });
});
