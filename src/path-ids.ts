// Ids in paths are decimal digits and nothing else. Path params are text that Ajv coerces to the
// schema's integer, and its coercion is JavaScript's: "0x1", " 1", "1e0", "+1" and "1.0" all
// became id 1. Every integer param of every route is checked as text first, before coercion.

type Validate = ((data: unknown) => boolean) & { errors?: unknown }

const DECIMAL = /^[0-9]+$/

interface RouteSchema {
  schema?: { properties?: Record<string, { type?: unknown }> }
  httpPart?: string
}

/** The params validator of a route, refusing integer params that are not plain digits. */
export function decimalPathIds(route: RouteSchema, validate: Validate): Validate {
  if (route.httpPart !== 'params') return validate
  const integers = Object.entries(route.schema?.properties ?? {})
    .filter(([, property]) => property?.type === 'integer')
    .map(([name]) => name)
  if (integers.length === 0) return validate
  const checked: Validate = (data: unknown) => {
    const params = (data ?? {}) as Record<string, unknown>
    for (const name of integers) {
      const value = params[name]
      if (typeof value === 'string' && !DECIMAL.test(value)) {
        checked.errors = [
          {
            keyword: 'pattern',
            instancePath: `/${name}`,
            schemaPath: '#',
            params: {},
            message: 'must be decimal digits',
          },
        ]
        return false
      }
    }
    const ok = validate(data)
    checked.errors = validate.errors
    return ok
  }
  return checked
}
