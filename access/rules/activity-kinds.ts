/** The activity history's kinds (db/enums.ts is their one home: the schema types its columns with them). */
export { ACTIVITY_ACTOR_KINDS, ACTIVITY_KINDS, type ActivityActorKind, type ActivityKind } from '../../db/index.js';
