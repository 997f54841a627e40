/**
 * The Aeon client: a viem public client for reads, an optional signer for writes (a viem wallet
 * client or an ethers v6 signer), and the deployment. Actions are plain functions of the client
 * (`getAccount(client, ...)`); `createAeonClient` also binds them as methods.
 */
import type { Signer as EthersSigner } from "ethers";
import { type Address, type Hash, type Hex, type PublicClient, type TypedDataDefinition, type WalletClient, getAddress } from "viem";
import type { AeonDeployment } from "./deployment.js";
import { AeonTransactionError } from "./errors.js";
import * as previews from "./previews.js";
import * as reads from "./reads.js";
import * as writes from "./writes.js";

/** A transaction the signer is asked to send. */
export interface AeonTransactionRequest {
  readonly to: Address;
  readonly data: Hex;
  readonly value?: bigint;
  /** Gas limit; default: the signer estimates it. */
  readonly gas?: bigint;
}

/** What the SDK needs from a wallet: its address, sending, and EIP-712 signing. */
export interface AeonSigner {
  /** The sender's address. */
  getAddress(): Promise<Address>;
  /** Signs and broadcasts; resolves to the transaction hash (the receipt is read with viem). */
  sendTransaction(request: AeonTransactionRequest): Promise<Hash>;
  /** Signs EIP-712 typed data (permits). */
  signTypedData(typedData: AeonTypedData): Promise<Hex>;
}

/** EIP-712 data in viem's shape (`EIP712Domain` left implicit). */
export type AeonTypedData = TypedDataDefinition<Record<string, readonly { name: string; type: string }[]>, string>;

/** A viem wallet client or an ethers v6 signer. */
export type AeonWallet = WalletClient | EthersSigner;

/** Options of `createAeonClient`. */
export interface CreateAeonClientParameters {
  /** Reads, simulations and receipts. */
  readonly publicClient: PublicClient;
  /** Signs and sends writes. Omit for a read-only client. */
  readonly wallet?: AeonWallet;
  /** Where the protocol lives (`loadDeployment(json)`). */
  readonly deployment: AeonDeployment;
  /**
   * Gas a keeper spends executing one order, for the execution-fee estimate
   * (`gasPrice * executionGas`, used when above the market's minimum). Default 1,500,000.
   */
  readonly executionGas?: bigint;
  /** Blocks a write waits for before it resolves (1: the receipt's own block). Default 1. */
  readonly confirmations?: number;
}

/** The client without bound actions: what every action takes first. */
export interface AeonBaseClient {
  readonly publicClient: PublicClient;
  readonly signer: AeonSigner | undefined;
  readonly deployment: AeonDeployment;
  readonly executionGas: bigint;
  readonly confirmations: number;
}

type BindFirst<F> = F extends (client: AeonBaseClient, ...rest: infer P) => infer R ? (...rest: P) => R : never;
type Bound<M> = { readonly [K in keyof M as M[K] extends (client: AeonBaseClient, ...rest: never[]) => unknown ? K : never]: BindFirst<M[K]> };

/** An Aeon client: the base client plus every read, preview and write action bound to it. */
export type AeonClient = AeonBaseClient & Bound<typeof reads> & Bound<typeof previews> & Bound<typeof writes>;

/** Creates a client. Pass a wallet for writes: a viem `WalletClient` (with an account) or an ethers v6 `Signer`. */
export function createAeonClient(parameters: CreateAeonClientParameters): AeonClient {
  const base: AeonBaseClient = {
    publicClient: parameters.publicClient,
    signer: parameters.wallet === undefined ? undefined : toAeonSigner(parameters.wallet),
    deployment: parameters.deployment,
    executionGas: parameters.executionGas ?? 1_500_000n,
    confirmations: parameters.confirmations ?? 1,
  };
  const bound: Record<string, unknown> = {};
  for (const module of [reads, previews, writes] as const) {
    for (const [name, action] of Object.entries(module)) {
      if (typeof action === "function") {
        bound[name] = (...args: unknown[]) => (action as (client: AeonBaseClient, ...rest: unknown[]) => unknown)(base, ...args);
      }
    }
  }
  return { ...base, ...bound } as AeonClient;
}

// ---------------------------------------------------------------- signers

/** Adapts a viem wallet client or an ethers v6 signer. */
export function toAeonSigner(wallet: AeonWallet): AeonSigner {
  return isEthersSigner(wallet) ? fromEthersSigner(wallet) : fromWalletClient(wallet);
}

function isEthersSigner(wallet: AeonWallet): wallet is EthersSigner {
  return typeof (wallet as Partial<EthersSigner>).getAddress === "function" && typeof (wallet as Partial<EthersSigner>).signTransaction === "function";
}

/** A viem wallet client: it must carry an account (or expose one through `getAddresses`). */
export function fromWalletClient(wallet: WalletClient): AeonSigner {
  const account = async () => {
    if (wallet.account !== undefined) return wallet.account;
    const [address] = await wallet.getAddresses();
    if (address === undefined) throw new AeonTransactionError("The wallet client has no account: create it with one to send transactions.");
    return address;
  };
  return {
    async getAddress() {
      const a = await account();
      return typeof a === "string" ? a : a.address;
    },
    async sendTransaction(request) {
      return wallet.sendTransaction({ account: await account(), chain: wallet.chain ?? null, ...request });
    },
    async signTypedData(typedData) {
      return wallet.signTypedData({ account: await account(), ...typedData });
    },
  };
}

/** An ethers v6 signer: ethers signs and sends; the SDK reads receipts with viem. */
export function fromEthersSigner(signer: EthersSigner): AeonSigner {
  return {
    async getAddress() {
      return getAddress(await signer.getAddress());
    },
    async sendTransaction(request) {
      const response = await signer.sendTransaction({
        to: request.to,
        data: request.data,
        value: request.value ?? 0n,
        ...(request.gas === undefined ? {} : { gasLimit: request.gas }),
      });
      return response.hash as Hash;
    },
    async signTypedData(typedData) {
      const { domain, types, message } = typedData as {
        domain?: Record<string, unknown>;
        types: Record<string, readonly { name: string; type: string }[]>;
        message: Record<string, unknown>;
      };
      const { EIP712Domain: _, ...rest } = types;
      const plain = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, v.map((f) => ({ name: f.name, type: f.type }))]));
      return (await signer.signTypedData(domain ?? {}, plain, message)) as Hex;
    },
  };
}
