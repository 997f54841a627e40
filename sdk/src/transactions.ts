/**
 * Sending a write: simulate (reverts surface as `AeonError` before signing), send through the
 * client's signer, wait for the receipt with viem, decode the protocol's events.
 */
import {
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type EncodeFunctionDataParameters,
  type Hash,
  type ParseEventLogsReturnType,
  type SimulateContractParameters,
  type TransactionReceipt,
  encodeFunctionData,
  isAddressEqual,
  parseEventLogs,
} from "viem";
import { aeonEventAbi } from "./abis.js";
import type { AeonBaseClient, AeonSigner, AeonTransactionRequest } from "./client.js";
import { AeonTransactionError, decodeAeonError, findRevertData, toAeonError } from "./errors.js";

/** Every protocol event, decoded. Narrow on `eventName` to type `args`. */
export type AeonEvent = ParseEventLogsReturnType<typeof aeonEventAbi, undefined, true>[number];

/** The result of every write: the hash, the successful receipt and the protocol's decoded events. */
export interface WriteResult {
  readonly hash: Hash;
  readonly receipt: TransactionReceipt;
  readonly events: readonly AeonEvent[];
}

/** A write: a contract call of a payable or nonpayable function. */
export interface ContractWrite<abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">> {
  readonly address: Address;
  readonly abi: abi;
  readonly functionName: fn;
  readonly args: ContractFunctionArgs<abi, "nonpayable" | "payable", fn>;
  readonly value?: bigint;
  /** Gas limit; default: estimated by the signer. */
  readonly gas?: bigint;
}

/** The signer of a client, or an error telling how to get one. */
export function requireSigner(client: AeonBaseClient): AeonSigner {
  if (client.signer === undefined) {
    throw new AeonTransactionError("This client is read-only: pass `wallet` (a viem WalletClient or an ethers Signer) to createAeonClient.");
  }
  return client.signer;
}

/**
 * Simulates the call (a revert surfaces as `AeonError` before anything is signed), sends it with
 * the client's signer, waits for the receipt and decodes the protocol's events.
 */
export async function sendContractWrite<const abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">>(
  client: AeonBaseClient,
  call: ContractWrite<abi, fn>,
): Promise<WriteResult> {
  const signer = requireSigner(client);
  const account = await signer.getAddress();
  try {
    await client.publicClient.simulateContract({
      address: call.address,
      abi: call.abi,
      functionName: call.functionName,
      args: call.args,
      account,
      value: call.value,
      gas: call.gas,
    } as unknown as SimulateContractParameters);
  } catch (error) {
    throw toAeonError(error);
  }
  const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args } as unknown as EncodeFunctionDataParameters);
  const request: AeonTransactionRequest = {
    to: call.address,
    data,
    ...(call.value === undefined ? {} : { value: call.value }),
    ...(call.gas === undefined ? {} : { gas: call.gas }),
  };
  let hash: Hash;
  try {
    hash = await signer.sendTransaction(request);
  } catch (error) {
    throw toAeonError(error);
  }
  const receipt = await client.publicClient.waitForTransactionReceipt({ hash, confirmations: client.confirmations });
  if (receipt.status !== "success") throw await revertedError(client, account, request, receipt);
  return { hash, receipt, events: decodeEvents(client, receipt) };
}

/** Decodes the logs of a receipt emitted by the protocol's contracts and its settlement token. */
export function decodeEvents(client: AeonBaseClient, receipt: TransactionReceipt): AeonEvent[] {
  const a = client.deployment.addresses;
  const ours = [a.clearingEngine, a.orderBook, a.liquidityPool, a.vault, a.usdc];
  const logs = receipt.logs.filter((log) => ours.some((address) => isAddressEqual(address, log.address)));
  // Strict decoding drops logs whose data does not match, so every returned event has all its args.
  return parseEventLogs({ abi: aeonEventAbi, logs, strict: true }) as AeonEvent[];
}

/** Replays a mined, reverted transaction at its block's parent to recover the reason. */
async function revertedError(client: AeonBaseClient, account: Address, request: AeonTransactionRequest, receipt: TransactionReceipt): Promise<Error> {
  const hash = receipt.transactionHash;
  try {
    await client.publicClient.call({ account, ...request, blockNumber: receipt.blockNumber - 1n });
  } catch (error) {
    const data = findRevertData(error);
    const decoded = data === undefined ? undefined : decodeAeonError(data, { cause: error, transactionHash: hash });
    if (decoded !== undefined) return decoded;
  }
  return new AeonTransactionError(
    `Transaction ${hash} reverted in block ${receipt.blockNumber} without a protocol error (gas used ${receipt.gasUsed}).\n` +
      "Most often it ran out of gas: resend and let the node estimate the gas limit.",
    { transactionHash: hash },
  );
}
