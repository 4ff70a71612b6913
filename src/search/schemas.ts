import { Type } from '@sinclair/typebox'
import { Id } from '../common-schemas.js'
import { FileObject, Message } from '../conversations/schemas.js'

const PageCursor = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'The `cursor` of the previous page: the next page continues after it',
})
/** The words to look for: `q` of GET /search and of the socket's `search` frame. */
export const SearchText = Type.String({
  maxLength: 500,
  description:
    'Words (all must match, case and Latin accents ignored, the last one also as a prefix) and "quoted phrases"; CJK text matches by substring of 3+ characters',
})
const IsoDate = Type.String({
  maxLength: 40,
  description: 'A date (2026-12-01, midnight UTC) or an ISO date-time',
})

export const SearchQuery = Type.Object(
  {
    q: Type.Optional(SearchText),
    conversation_id: Type.Optional(Id),
    project_id: Type.Optional(Id),
    from: Type.Optional(Type.Integer({ minimum: 1, description: 'Only messages this user sent' })),
    after: Type.Optional({ ...IsoDate, description: 'Sent at or after (inclusive)' }),
    before: Type.Optional({ ...IsoDate, description: 'Sent before (exclusive)' }),
    has: Type.Optional(Type.Literal('file', { description: 'Only messages with attachments' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Default 20' })),
    cursor: Type.Optional(PageCursor),
  },
  { additionalProperties: false },
)

export const SearchResult = Type.Object({
  message: Type.Ref(Message),
  conversation_id: Type.Integer(),
  snippet: Type.String({ description: 'Plain text around the match' }),
  highlights: Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 2, maxItems: 2 }), {
    description: 'The matches in the snippet: [start, end) in UTF-16 code units',
  }),
})

const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as `cursor` for the next page; null on the last one',
})

export const SearchPage = Type.Object({
  results: Type.Array(SearchResult),
  has_more: Type.Boolean(),
  cursor: NextCursor,
})

export const FileSearchQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Words the file name holds, case ignored' })),
    project_id: Type.Optional(Id),
    conversation_id: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Default 20' })),
    cursor: Type.Optional(PageCursor),
  },
  { additionalProperties: false },
)

export const FilePage = Type.Object({
  files: Type.Array(Type.Ref(FileObject)),
  has_more: Type.Boolean(),
  cursor: NextCursor,
})
