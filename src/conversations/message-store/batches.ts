import type { FileRow, MessageRow } from '../../db/types.js'
import { notFound, quotaExceeded } from '../../errors.js'
import { type AppendOutcome, NO_CONVERSATION, QUOTA_EXCEEDED } from './sqlite-appender.js'
import type { AppendInput, AppendResult, CommitObserver } from './types.js'

// What the two SQLite stores share: a queue of waiters, settled from the appender's outcomes.

/** An outcome from the appender (sqlite-appender.js) as the caller sees it. */
export function settle(outcome: AppendOutcome): AppendResult {
  if (outcome.ok) {
    const row = outcome.row as unknown as MessageRow
    if (!outcome.file) return { row, created: outcome.created }
    return { row, created: outcome.created, file: outcome.file as unknown as FileRow }
  }
  throw toError(outcome.code, outcome.message)
}

export function toError(code: string | undefined, message: string): Error {
  if (code === NO_CONVERSATION) return notFound('Conversation')
  // The appender cannot build the contract's error; it passes the quota as the message.
  if (code === QUOTA_EXCEEDED) return quotaExceeded(Number(message))
  // Keeps the driver's code (SQLITE_BUSY, SQLITE_FULL, ...): it decides between 503 and 500.
  return Object.assign(new Error(message), { code })
}

export type Waiter = { input: AppendInput; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }

/** Each waiter of a committed batch gets its message, or the error its own append failed with. */
export function settleBatch(batch: Waiter[], outcomes: AppendOutcome[]): void {
  batch.forEach((item, i) => {
    try {
      item.resolve(settle(outcomes[i]))
    } catch (error) {
      item.reject(error)
    }
  })
}

/** Runs a batch on this thread's connection; the waiters are settled before it returns. */
export function commitHere(
  appendBatch: (inputs: AppendInput[]) => AppendOutcome[],
  batch: Waiter[],
  onCommit?: CommitObserver,
): void {
  const started = performance.now()
  let outcomes: AppendOutcome[]
  try {
    outcomes = appendBatch(batch.map((item) => item.input))
  } catch (error) {
    for (const item of batch) item.reject(error)
    return
  }
  onCommit?.(batch.length, performance.now() - started, 'main')
  settleBatch(batch, outcomes)
}
