import type { StoredEvent } from "../events.js";
import { emptyScope, removeMember, setMember, type MemberScope } from "../orgs/org.js";
import { ProjectEvents, readProjectEvent } from "./events.js";

export { ProjectEvents } from "./events.js";

/** zitadel.project.v1.ProjectState numbers; REMOVED is internal (ZITADEL's domain.ProjectStateRemoved), never on the wire. */
export const ProjectStateNum = { unspecified: 0, active: 1, inactive: 2, removed: 3 } as const;

// --- project grants (PGRANT) ---
/** zitadel.project.v1.ProjectGrantState numbers (ZITADEL's domain.ProjectGrantState; removed grants leave the map). */
export const ProjectGrantStateNum = { unspecified: 0, active: 1, inactive: 2 } as const;

/** A grant of the project to another org: the org and the subset of the project's role keys it may hand out. */
export interface ProjectGrantState {
  grantId: string;
  grantedOrgId: string;
  roleKeys: string[];
  state: number /* 1 active, 2 inactive */;
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}
// --- end project grants ---

export interface ProjectRoleState {
  key: string;
  displayName: string;
  group: string;
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

/**
 * A project as its events build it (ZITADEL's ProjectWriteModel, role and member write models in
 * one): its settings, its roles by key and its members (ZITADEL's PROJECT_* manager roles).
 *
 * Project grants are events of this aggregate (`grants`, by grant id; a removed grant leaves the map).
 * Extension point (docs/design.md, "Projects"): applications get their map here too (`apps`), reduced
 * in evolveProject. User grants are a separate aggregate ("usergrant") that refers to the project by id;
 * they are not held here — removing a project or a role finds them through their read model and
 * writes their cascade events in the same push (app/projects/cascade.ts).
 */
export interface ProjectState extends MemberScope {
  id: string;
  /** Added and not removed. */
  exists: boolean;
  state: number;
  /** The owning org (the events' resource owner). */
  orgId: string;
  name: string;
  projectRoleAssertion: boolean;
  projectRoleCheck: boolean;
  hasProjectCheck: boolean;
  privateLabelingSetting: number;
  roles: Map<string, ProjectRoleState>;
  /** Project grants by grant id (PGRANT). */
  grants: Map<string, ProjectGrantState>;
  sequence: number;
  createdAt?: Date;
  changedAt?: Date;
}

export function evolveProject(p: ProjectState, stored: StoredEvent): ProjectState {
  p.sequence = stored.sequence;
  p.changedAt = stored.createdAt;
  const e = readProjectEvent(stored);
  switch (e?.type) {
    case ProjectEvents.added:
      p.exists = true;
      p.state = ProjectStateNum.active;
      p.orgId = e.resourceOwner;
      p.createdAt = e.createdAt;
      Object.assign(p, e.payload);
      break;
    case ProjectEvents.changed:
      Object.assign(p, e.payload);
      break;
    case ProjectEvents.deactivated:
      p.state = ProjectStateNum.inactive;
      break;
    case ProjectEvents.reactivated:
      p.state = ProjectStateNum.active;
      break;
    case ProjectEvents.removed:
      p.state = ProjectStateNum.removed;
      p.exists = false;
      p.roles = new Map();
      p.members = new Map();
      p.grants = new Map(); // project grants (PGRANT): ended with the project
      break;
    case ProjectEvents.roleAdded:
      p.roles.set(e.payload.key, { ...e.payload, sequence: e.sequence, createdAt: e.createdAt, changedAt: e.createdAt });
      break;
    case ProjectEvents.roleChanged: {
      const r = p.roles.get(e.payload.key);
      if (r) p.roles.set(r.key, { ...r, ...e.payload, sequence: e.sequence, changedAt: e.createdAt });
      break;
    }
    case ProjectEvents.roleRemoved:
      p.roles.delete(e.payload.key);
      break;
    case ProjectEvents.memberAdded:
    case ProjectEvents.memberChanged:
      setMember(p, e.payload, stored, e.type === ProjectEvents.memberAdded);
      break;
    case ProjectEvents.memberRemoved:
    case ProjectEvents.memberCascadeRemoved:
      removeMember(p, e.payload, stored);
      break;
    // --- project grants (PGRANT) ---
    case ProjectEvents.grantAdded:
      p.grants.set(e.payload.grantId, {
        grantId: e.payload.grantId,
        grantedOrgId: e.payload.grantedOrgId,
        roleKeys: e.payload.roleKeys,
        state: ProjectGrantStateNum.active,
        sequence: e.sequence,
        createdAt: e.createdAt,
        changedAt: e.createdAt,
      });
      break;
    case ProjectEvents.grantChanged:
    case ProjectEvents.grantCascadeChanged:
      changeGrant(p, e.payload.grantId, stored, { roleKeys: e.payload.roleKeys });
      break;
    case ProjectEvents.grantDeactivated:
      changeGrant(p, e.payload.grantId, stored, { state: ProjectGrantStateNum.inactive });
      break;
    case ProjectEvents.grantReactivated:
      changeGrant(p, e.payload.grantId, stored, { state: ProjectGrantStateNum.active });
      break;
    case ProjectEvents.grantRemoved:
      p.grants.delete(e.payload.grantId);
      break;
    // --- end project grants ---
  }
  return p;
}

// project grants (PGRANT)
function changeGrant(p: ProjectState, grantId: string, stored: StoredEvent, change: Partial<ProjectGrantState>) {
  const g = p.grants.get(grantId);
  if (g) p.grants.set(grantId, { ...g, ...change, sequence: stored.sequence, changedAt: stored.createdAt });
}

export const reduceProject = (id: string, events: StoredEvent[]) =>
  events.reduce(evolveProject, {
    id,
    exists: false,
    state: ProjectStateNum.unspecified,
    orgId: "",
    name: "",
    projectRoleAssertion: false,
    projectRoleCheck: false,
    hasProjectCheck: false,
    privateLabelingSetting: 0,
    roles: new Map(),
    grants: new Map(), // project grants (PGRANT)
    sequence: 0,
    ...emptyScope(),
  } as ProjectState);
