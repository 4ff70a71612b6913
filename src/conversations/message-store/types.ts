import type { FileRow, MessageRow } from '../../db/types.js'

// One way to append a message, whatever the database (see index.ts for which one runs).

/** An upload's file, stored already: its row commits with the message that carries it. */
export interface AttachmentInput {
  name: string
  size: number
  contentType: string
  sha256: string
  storageName: string
  projectId: number | null
  /** Images: the displayed size and the thumbnail's storage name (null for other files). */
  width: number | null
  height: number | null
  thumbnailName: string | null
  /** The uploader's UPLOAD_QUOTA_BYTES, checked in the transaction that inserts the row. */
  quotaBytes: number
}

export interface AppendInput {
  conversationId: number
  senderId: number
  content: string
  clientId: string | null
  attachment?: AttachmentInput
  /** The members it mentions (resolved before the append, the sender never among them). */
  mentions?: number[]
}

export interface AppendResult {
  row: MessageRow
  /** false when the sender's client_id named an earlier message, which is returned instead. */
  created: boolean
  /** The attachment's row, when the input carried one. */
  file?: FileRow
}

/** Appends messages with group commit and client_id dedupe; resolves only after COMMIT. */
export interface MessageStore {
  append(input: AppendInput): Promise<AppendResult>
  /**
   * Resolves when every message committed so far can be found by a search (SQLite indexes new
   * messages in chunks after they commit; PostgreSQL's index is always up to date).
   */
  searchable(): Promise<void>
  /** Resolves when every append asked for so far has committed or failed. */
  drain(): Promise<void>
  /** After drain: releases what the store holds (the writer thread). */
  close(): Promise<void>
}

/** Told of every commit: its size, its time, and the thread that ran it. */
export type CommitObserver = (size: number, ms: number, thread: 'main' | 'writer') => void
