import { Type } from '@sinclair/typebox'
import { Id, Timestamp, User } from '../common-schemas.js'

export const ProjectObject = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  owner_id: Type.Integer(),
  conversation_id: Type.Integer({ description: "The project's own `project` conversation" }),
  created_at: Timestamp,
})

export const CreateProjectBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    member_ids: Type.Optional(Type.Array(Id, { maxItems: 500 })),
  },
  { additionalProperties: false },
)

export const ProjectEnvelope = Type.Object({
  project: ProjectObject,
  members: Type.Array(Type.Ref(User)),
})
export const ProjectList = Type.Object({ projects: Type.Array(ProjectObject) })

export const ProjectParams = Type.Object({ id: Id })
export const ProjectMemberParams = Type.Object({ id: Id, userId: Id })
export const AddProjectMemberBody = Type.Object({ user_id: Id }, { additionalProperties: false })
