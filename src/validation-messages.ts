import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors'

// Why input was refused, in words a person can act on, the same over HTTP (Ajv's errors) and on
// the socket (TypeBox's): "content must not be blank", not `must match pattern "\S"`.

/** One rule a value broke, named as JSON Schema names it. */
export interface BrokenRule {
  keyword: string
  limit?: number
  pattern?: string
  type?: string
  /** The schema's own description of what it wants (e.g. a username's letters), when it has one. */
  description?: string
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
}

/** "<field> must ...", or undefined for a rule this does not know (the caller says it its own way). */
export function ruleMessage(field: string, rule: BrokenRule): string | undefined {
  const limited = ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems']
  if (limited.includes(rule.keyword) && typeof rule.limit !== 'number') return undefined
  if (rule.keyword === 'pattern' && rule.pattern === undefined) return undefined
  switch (rule.keyword) {
    case 'pattern':
      // \S is the schemas' way of saying "not only spaces".
      if (rule.pattern === '\\S') return `${field} must not be blank`
      return `${field} must be ${rule.description ?? `text matching ${rule.pattern}`}`
    case 'minLength':
      return rule.limit === 1
        ? `${field} must not be empty`
        : `${field} must be at least ${rule.limit} characters`
    case 'maxLength':
      return `${field} must be at most ${rule.limit} characters`
    case 'minimum':
      return `${field} must be at least ${rule.limit}`
    case 'maximum':
      return `${field} must be at most ${rule.limit}`
    case 'minItems':
      return `${field} must have at least ${rule.limit} items`
    case 'maxItems':
      return `${field} must have at most ${rule.limit} items`
    case 'type':
      return `${field} must be ${TYPE_NAMES[rule.type ?? ''] ?? rule.type}`
    default:
      return undefined
  }
}

/** A TypeBox error as the same rule (TypeBox's messages are for programmers). */
export function typeboxRule(error: ValueError): BrokenRule | undefined {
  const schema = error.schema as { minLength?: number; maxLength?: number; pattern?: string } & Record<
    string,
    unknown
  >
  const description = typeof schema.description === 'string' ? schema.description : undefined
  switch (error.type) {
    case ValueErrorType.StringPattern:
      return { keyword: 'pattern', pattern: schema.pattern, description }
    case ValueErrorType.StringMinLength:
      return { keyword: 'minLength', limit: schema.minLength }
    case ValueErrorType.StringMaxLength:
      return { keyword: 'maxLength', limit: schema.maxLength }
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return { keyword: 'minimum', limit: schema.minimum as number }
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return { keyword: 'maximum', limit: schema.maximum as number }
    case ValueErrorType.ArrayMinItems:
      return { keyword: 'minItems', limit: schema.minItems as number }
    case ValueErrorType.ArrayMaxItems:
      return { keyword: 'maxItems', limit: schema.maxItems as number }
    case ValueErrorType.String:
      return { keyword: 'type', type: 'string' }
    case ValueErrorType.Integer:
      return { keyword: 'type', type: 'integer' }
    case ValueErrorType.Number:
      return { keyword: 'type', type: 'number' }
    case ValueErrorType.Boolean:
      return { keyword: 'type', type: 'boolean' }
    case ValueErrorType.Object:
      return { keyword: 'type', type: 'object' }
    case ValueErrorType.Array:
      return { keyword: 'type', type: 'array' }
    default:
      return undefined
  }
}

/** "Malformed JSON at line 1, column 2 (position 1)": where the parser stopped, from its error. */
export function malformedJson(text: string, error: Error): string {
  const at = /at position (\d+)/.exec(error.message)
  const position = at ? Number(at[1]) : /end of JSON input/.test(error.message) ? text.length : undefined
  if (position === undefined) return 'Malformed JSON'
  const before = text.slice(0, position)
  const line = before.split('\n').length
  const column = position - before.lastIndexOf('\n')
  const ending = position >= text.length ? ': it ends too early' : ''
  return `Malformed JSON at line ${line}, column ${column} (position ${position})${ending}`
}
