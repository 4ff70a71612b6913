import { AjvCompiler } from '@fastify/ajv-compiler'
import { decimalPathIds } from './path-ids.js'

// What every request's parts must be, beyond their schemas.

/**
 * Query strings and params are text, so their numbers are coerced; JSON bodies are not:
 * `{"content": 5}` is a wrong type, not the string "5".
 */
// biome-ignore lint/suspicious/noExplicitAny: Fastify types this factory loosely; its shape is checked by tests
export function buildValidator(): any {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const fromPool = AjvCompiler() as (schemas: unknown, options: any) => (route: unknown) => unknown
  return (externalSchemas: unknown, options: { customOptions?: object }) => {
    const coercing = fromPool(externalSchemas, options)
    const strict = fromPool(externalSchemas, {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: false },
    })
    return (route: { httpPart?: string }) =>
      textAndNumbersStorable(
        decimalPathIds(
          route,
          (route.httpPart === 'body' ? strict(route) : coercing(route)) as CoercingValidate,
        ),
      )
  }
}

type CoercingValidate = ((data: unknown) => boolean) & { errors?: unknown }

/**
 * What the schemas let through but a database cannot take, refused with a 400 in both dialects:
 * Ajv coerces "Infinity" and "1e400" in a path or query string to Infinity and passes it as an
 * integer within bounds (SQLite finds nothing for it, PostgreSQL fails), and PostgreSQL's text
 * cannot hold U+0000 (SQLite's can).
 */
function textAndNumbersStorable(validate: CoercingValidate): CoercingValidate {
  const checked: CoercingValidate = (data: unknown) => {
    if (!validate(data)) {
      checked.errors = validate.errors
      return false
    }
    const nul = findNul(data)
    if (nul) {
      checked.errors = [
        {
          keyword: 'pattern',
          instancePath: nul,
          schemaPath: '#',
          params: {},
          message: 'must not contain U+0000',
        },
      ]
      return false
    }
    for (const [key, value] of Object.entries(data ?? {})) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        checked.errors = [
          {
            keyword: 'maximum',
            instancePath: `/${key}`,
            schemaPath: '#',
            params: {},
            message: 'must be a finite number',
          },
        ]
        return false
      }
    }
    checked.errors = null
    return true
  }
  return checked
}

/**
 * The path of the first string holding U+0000 in a parsed JSON value, or undefined. PostgreSQL's
 * text cannot store that character (SQLite can): input carrying it is refused with a 400 in
 * both dialects, so they behave alike.
 */
export function findNul(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '/' : undefined
  if (typeof value !== 'object' || value === null) return undefined
  for (const [key, item] of Object.entries(value)) {
    const found = findNul(item, `${path}/${key}`)
    if (found) return found
  }
  return undefined
}
