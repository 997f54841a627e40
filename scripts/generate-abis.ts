/**
 * Writes `sdk/src/abis.ts` from the compiled artifacts, so the SDK carries `as const` ABIs and
 * needs no Hardhat at runtime.
 *
 *   npm run abis                       (hardhat run scripts/generate-abis.ts): writes the file
 *   AEON_ABIS_CHECK=1 npm run abis     or `node scripts/generate-abis.ts --check`: exits 1 when
 *                                      the committed file differs from what the artifacts give
 *
 * The engine's ABI merges ClearingEngine with its modules (Governance, Liquidator,
 * PoolValuation), which run by delegatecall on the engine's address. `aeonErrorAbi` and
 * `aeonEventAbi` gather every error and event the protocol's contracts can surface, so one call
 * decodes any revert or log.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One ABI item, as found in an artifact. */
export interface AbiItem {
  readonly type: string;
  readonly name?: string;
  readonly inputs?: readonly AbiParameter[];
  readonly [key: string]: unknown;
}

interface AbiParameter {
  readonly type: string;
  readonly name?: string;
  readonly components?: readonly AbiParameter[];
  readonly [key: string]: unknown;
}

/** Artifact (by `contracts/` relative path and contract name) feeding each generated export. */
export const ABI_SOURCES = {
  engineAbi: ["ClearingEngine.sol/ClearingEngine", "Governance.sol/Governance", "Liquidator.sol/Liquidator", "PoolValuation.sol/PoolValuation"],
  orderBookAbi: ["OrderBook.sol/OrderBook"],
  liquidityPoolAbi: ["LiquidityPool.sol/LiquidityPool"],
  lensAbi: ["AeonLens.sol/AeonLens"],
  vaultAbi: ["Vault.sol/Vault"],
  erc20PermitAbi: ["mocks/MockUSDC.sol/MockUSDC"],
} as const satisfies Record<string, readonly string[]>;

export type AbiName = keyof typeof ABI_SOURCES;

/** Not part of a standard token: the mock's open mint. */
const NOT_ERC20_PERMIT = new Set(["mint"]);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The generated file. */
export const ABIS_FILE = path.join(ROOT, "sdk", "src", "abis.ts");

/** Reads the ABIs of every artifact that `ABI_SOURCES` names. */
export async function readArtifactAbis(artifactsDir = path.join(ROOT, "artifacts")): Promise<Record<string, readonly AbiItem[]>> {
  const out: Record<string, readonly AbiItem[]> = {};
  for (const sources of Object.values(ABI_SOURCES)) {
    for (const source of sources) {
      const file = path.join(artifactsDir, "contracts", `${source}.json`);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        throw new Error(`generate-abis: no artifact at ${file}. Run \`npx hardhat build\` first.`);
      }
      const artifact = JSON.parse(text) as { abi?: unknown };
      if (!Array.isArray(artifact.abi)) throw new Error(`generate-abis: ${file} has no abi array`);
      out[source] = artifact.abi as AbiItem[];
    }
  }
  return out;
}

/** The signature that identifies an item: kind, name and input types (constructors are dropped). */
function signature(item: AbiItem): string {
  const type = (p: AbiParameter): string =>
    p.components === undefined ? p.type : `(${p.components.map(type).join(",")})${p.type.slice("tuple".length)}`;
  return `${item.type} ${item.name ?? ""}(${(item.inputs ?? []).map(type).join(",")})`;
}

/** Concatenates ABIs keeping the first of every signature; drops constructors, fallbacks and receives. */
export function mergeAbis(abis: readonly (readonly AbiItem[])[]): AbiItem[] {
  const seen = new Set<string>();
  const out: AbiItem[] = [];
  for (const abi of abis) {
    for (const item of abi) {
      if (item.type === "constructor" || item.type === "fallback" || item.type === "receive") continue;
      const key = signature(item);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/** The content of `sdk/src/abis.ts` for these artifact ABIs. Pure: same input, same text. */
export function renderAbis(artifactAbis: Readonly<Record<string, readonly AbiItem[]>>): string {
  const get = (source: string): readonly AbiItem[] => {
    const abi = artifactAbis[source];
    if (abi === undefined) throw new Error(`generate-abis: missing artifact ${source}`);
    return abi;
  };
  const abis = {} as Record<AbiName, AbiItem[]>;
  for (const [name, sources] of Object.entries(ABI_SOURCES) as [AbiName, readonly string[]][]) {
    abis[name] = mergeAbis(sources.map(get));
  }
  abis.erc20PermitAbi = abis.erc20PermitAbi.filter((item) => !(item.type === "function" && NOT_ERC20_PERMIT.has(item.name ?? "")));
  const all = Object.values(abis);
  const errors = mergeAbis(all.map((abi) => abi.filter((item) => item.type === "error")));
  const events = mergeAbis(all.map((abi) => abi.filter((item) => item.type === "event")));

  const docs: Record<AbiName | "aeonErrorAbi" | "aeonEventAbi", string> = {
    engineAbi: "ClearingEngine merged with its delegatecalled modules (Governance, Liquidator, PoolValuation): call all of them on the engine's address.",
    orderBookAbi: "OrderBook: orders, keeper execution, native fee credits.",
    liquidityPoolAbi: "LiquidityPool: LP shares (ERC-4626) with asynchronous ERC-7540 requests settled in epochs.",
    lensAbi: "AeonLens: one-call views of markets and accounts.",
    vaultAbi: "Vault: holds every token of the protocol.",
    erc20PermitAbi: "An ERC-20 token with EIP-2612 permit and ERC-5267 `eip712Domain` (the settlement token).",
    aeonErrorAbi: "Every custom error the protocol's contracts (and the token, through them) can revert with.",
    aeonEventAbi: "Every event the protocol's contracts emit: decodes any receipt's logs.",
  };
  const block = (name: keyof typeof docs, abi: readonly AbiItem[]): string =>
    `/** ${docs[name]} */\nexport const ${name} = ${JSON.stringify(abi, null, 2)} as const;\n`;

  return [
    "// Generated by scripts/generate-abis.ts from the compiled artifacts: do not edit.",
    "// Regenerate with `npm run abis` after `npx hardhat build`; test/sdk/abis.test.ts fails on drift.",
    "",
    ...Object.entries(abis).map(([name, abi]) => block(name as AbiName, abi)),
    block("aeonErrorAbi", errors),
    block("aeonEventAbi", events),
  ].join("\n");
}

/** Writes `sdk/src/abis.ts`, or with `check` compares it; returns whether the file was up to date. */
export async function generateAbis(options: { readonly check: boolean }): Promise<boolean> {
  const text = renderAbis(await readArtifactAbis());
  let current: string | undefined;
  try {
    current = await readFile(ABIS_FILE, "utf8");
  } catch {
    current = undefined;
  }
  const upToDate = current === text;
  if (!options.check && !upToDate) await writeFile(ABIS_FILE, text);
  return upToDate;
}

function isCliEntry(): boolean {
  const self = fileURLToPath(import.meta.url);
  return process.argv.slice(1).some((arg) => path.resolve(arg) === self);
}

if (isCliEntry()) {
  const check = process.argv.includes("--check") || process.env["AEON_ABIS_CHECK"] === "1";
  const upToDate = await generateAbis({ check });
  if (check) {
    if (!upToDate) {
      console.error(`${path.relative(ROOT, ABIS_FILE)} differs from the artifacts: run \`npm run abis\` and commit it.`);
      process.exitCode = 1;
    } else {
      console.log(`${path.relative(ROOT, ABIS_FILE)} matches the artifacts.`);
    }
  } else {
    console.log(upToDate ? `${path.relative(ROOT, ABIS_FILE)} already up to date.` : `Wrote ${path.relative(ROOT, ABIS_FILE)}.`);
  }
}
