import type { MessageRow } from '../../db/types.js'

// One way to append a message, whatever the database (see index.ts for which one runs).

export interface AppendInput {
  conversationId: number
  senderId: number
  content: string
  clientId: string | null
}

export interface AppendResult {
  row: MessageRow
  /** false when the sender's client_id named an earlier message, which is returned instead. */
  created: boolean
}

/** Appends messages with group commit and client_id dedupe; resolves only after COMMIT. */
export interface MessageStore {
  append(input: AppendInput): Promise<AppendResult>
  /** Resolves when every append asked for so far has committed or failed. */
  drain(): Promise<void>
  /** After drain: releases what the store holds (the writer thread). */
  close(): Promise<void>
}

/** Told of every commit: its size, its time, and the thread that ran it. */
export type CommitObserver = (size: number, ms: number, thread: 'main' | 'writer') => void
