import type { Insertable, Kysely } from 'kysely'
import type { Database, ProjectRow, ProjectsTable } from '../types.js'

// The `projects` table. A project's members are its conversation's members.

type Db = Kysely<Database>

const projectsOfMember = (db: Db, userId: number) =>
  db
    .selectFrom('projects')
    .innerJoin('conversation_members', 'conversation_members.conversation_id', 'projects.conversation_id')
    .selectAll('projects')
    .where('conversation_members.user_id', '=', userId)

/** The project if `userId` is one of its members. */
export function findProjectOfMember(
  db: Db,
  projectId: number,
  userId: number,
): Promise<ProjectRow | undefined> {
  return projectsOfMember(db, userId).where('projects.id', '=', projectId).executeTakeFirst()
}

/** `userId`'s projects, newest first. */
export function listProjectsOfMember(db: Db, userId: number): Promise<ProjectRow[]> {
  return projectsOfMember(db, userId).orderBy('projects.id', 'desc').execute()
}

export function insertProject(db: Db, values: Insertable<ProjectsTable>): Promise<ProjectRow> {
  return db.insertInto('projects').values(values).returningAll().executeTakeFirstOrThrow()
}

export async function deleteProjectRow(db: Db, projectId: number): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', projectId).execute()
}

export function projectsOwnedBy(db: Db, userId: number) {
  return db.selectFrom('projects').select(['id', 'conversation_id']).where('owner_id', '=', userId).execute()
}

export async function setProjectOwner(db: Db, projectId: number, ownerId: number): Promise<void> {
  await db.updateTable('projects').set({ owner_id: ownerId }).where('id', '=', projectId).execute()
}

export async function findProjectOwner(db: Db, projectId: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('projects')
    .select('owner_id')
    .where('id', '=', projectId)
    .executeTakeFirst()
  return row && Number(row.owner_id)
}
