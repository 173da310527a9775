/**
 * In-memory "database" of the stand-in: users, project users, leads, departments, requests,
 * messages, subscriptions. Documents are stored in their wire (JSON) shape.
 */
import { randomUUID } from 'node:crypto';
import type {
  StandInAgent,
  StandInDepartment,
  StandInLead,
  StandInMessage,
  StandInProjectUser,
  StandInRequest,
  StandInSubscription,
  StandInUserDoc,
} from './types';
import { objectId, nowIso } from './util';
import type { StandInBot } from './bots';

export const ADMIN_USER_ID = '65a1b2c3d4e5f6a7b8c9d0a0';
export const DEFAULT_AGENT: StandInAgent = {
  id: '65a1b2c3d4e5f6a7b8c9d0aa',
  firstname: 'Anna',
  lastname: 'Rossi',
  email: 'anna.rossi@acme.example',
  available: true,
};

export class Store {
  /** What `GET publicanalytics/waiting/current` reports (ms); computed when undefined. */
  waitingTimeAvgMs: number | undefined;
  readonly users = new Map<string, StandInUserDoc>();
  /** Key: 'u:' + id_user or 'x:' + uuid_user. */
  private readonly projectUsers = new Map<string, StandInProjectUser>();
  private readonly leads = new Map<string, StandInLead>();
  readonly departments = new Map<string, StandInDepartment>();
  readonly requests = new Map<string, StandInRequest>();
  readonly messages = new Map<string, StandInMessage[]>();
  readonly subscriptions = new Map<string, StandInSubscription>();
  /** Tiledesk bots (`faq_kb`, bots.ts). */
  readonly bots = new Map<string, StandInBot>();
  /** `secret: {default: uuidv4()}` in models/faq_kb.js: evaluated once per server process. */
  readonly botSecret = randomUUID();
  /** Passwords of the agents that may sign in (the admin's is kept by Auth). */
  readonly passwords = new Map<string, string>();
  /** Routing pool in round-robin order: agents, then the admin account. */
  readonly routable: string[] = [];
  readonly defaultDepartment: StandInDepartment;
  /** §5.1 quirk: `secret: {default: uuidv4()}` is evaluated once per server process. */
  readonly subscriptionSecret = randomUUID();
  /** When the project was created (its document's `createdAt`). */
  readonly createdAt = nowIso();
  private ticketSeq = 0;
  private roundRobin = 0;

  constructor(
    readonly projectId: string,
    admin: { email: string; password: string },
    agents: StandInAgent[],
    departments: Array<{
      _id: string;
      name: string;
      routing?: 'assigned' | 'pooled';
      id_bot?: string;
    }>,
    readonly projectName = 'Stand-in project',
  ) {
    this.addUser(ADMIN_USER_ID, admin.email, 'Admin', 'Standin', 'admin', false);
    for (const a of agents) {
      this.addUser(a.id, a.email, a.firstname, a.lastname, 'agent', a.available);
      if (a.password !== undefined) this.passwords.set(a.id, a.password);
    }
    this.routable.push(...agents.map((a) => a.id), ADMIN_USER_ID);
    this.defaultDepartment = this.makeDepartment(
      objectId(),
      'Default Department',
      'assigned',
      true,
    );
    this.departments.set(this.defaultDepartment._id, this.defaultDepartment);
    for (const d of departments) {
      const dep = this.makeDepartment(d._id, d.name, d.routing ?? 'assigned', false);
      if (d.id_bot !== undefined) dep.id_bot = d.id_bot;
      this.departments.set(d._id, dep);
    }
  }

  private addUser(
    id: string,
    email: string,
    first: string,
    last: string,
    role: string,
    available: boolean,
  ): void {
    const at = nowIso();
    this.users.set(id, {
      _id: id,
      email,
      firstname: first,
      lastname: last,
      emailverified: true,
      status: 100,
      createdAt: at,
      updatedAt: at,
      __v: 0,
    });
    // Agents are invited by the admin; the admin created the project.
    const pu = this.newProjectUser({ id_user: id }, role, 1, ADMIN_USER_ID);
    pu.user_available = available;
    this.projectUsers.set('u:' + id, pu);
  }

  private newProjectUser(
    who: { id_user?: string; uuid_user?: string },
    role: string,
    roleType: number,
    by: string,
  ): StandInProjectUser {
    const at = nowIso();
    return {
      _id: objectId(),
      id_project: this.projectId,
      ...who,
      role,
      roleType,
      user_available: true,
      number_assigned_requests: 0,
      permissions: [],
      status: 'active',
      trashed: false,
      last_login_at: this.createdAt,
      createdBy: by,
      tags: [],
      createdAt: at,
      updatedAt: at,
      __v: 0,
    };
  }

  private makeDepartment(
    id: string,
    name: string,
    routing: 'assigned' | 'pooled',
    isDefault: boolean,
  ): StandInDepartment {
    const at = nowIso();
    return {
      _id: id,
      routing,
      default: isDefault,
      status: 1,
      name,
      id_project: this.projectId,
      createdBy: ADMIN_USER_ID,
      groups: [],
      tags: [],
      createdAt: at,
      updatedAt: at,
      __v: 0,
    };
  }

  /** `departmentid` default 'default' → default department; any other id is accepted (§2.2). */
  department(departmentId: string | undefined): StandInDepartment {
    if (departmentId === undefined || departmentId === 'default') return this.defaultDepartment;
    let dep = this.departments.get(departmentId);
    if (!dep) {
      dep = this.makeDepartment(departmentId, 'Department ' + departmentId, 'assigned', false);
      this.departments.set(departmentId, dep);
    }
    return dep;
  }

  userByEmail(email: string): StandInUserDoc | undefined {
    for (const u of this.users.values())
      if (u.email.toLowerCase() === email.toLowerCase()) return u;
    return undefined;
  }

  projectUserById(idUser: string): StandInProjectUser | undefined {
    return this.projectUsers.get('u:' + idUser);
  }

  projectUserByUuid(uuid: string): StandInProjectUser | undefined {
    return this.projectUsers.get('x:' + uuid);
  }

  /** Creates the project_user of an end user (custom token: role user; anonymous: guest). */
  ensureExternalProjectUser(uuid: string, role: 'user' | 'guest'): StandInProjectUser {
    let pu = this.projectUsers.get('x:' + uuid);
    if (!pu) {
      pu = this.newProjectUser({ uuid_user: uuid }, role, 2, uuid);
      this.projectUsers.set('x:' + uuid, pu);
    }
    return pu;
  }

  /** `leadService.createIfNotExistsWithLeadId`: one lead per lead_id, reused across requests. */
  ensureLead(
    leadId: string,
    fullname: string,
    email: string | undefined,
    attributes: Record<string, unknown> | undefined,
  ): StandInLead {
    let lead = this.leads.get(leadId);
    if (!lead) {
      const at = nowIso();
      lead = {
        _id: objectId(),
        tags: [],
        status: 100,
        lead_id: leadId,
        fullname,
        ...(email !== undefined && { email }),
        phone: null,
        id_project: this.projectId,
        createdBy: 'system',
        ...(attributes !== undefined && { attributes }),
        createdAt: at,
        updatedAt: at,
        __v: 0,
      };
      this.leads.set(leadId, lead);
    }
    return lead;
  }

  setAvailable(userId: string, available: boolean): void {
    const pu = this.projectUsers.get('u:' + userId);
    if (!pu) throw new Error(`TiledeskStandIn: unknown agent ${userId}`);
    pu.user_available = available;
  }

  availableAgentsCount(): number {
    return this.routable.filter((id) => this.projectUsers.get('u:' + id)?.user_available === true)
      .length;
  }

  /** Round robin over the available agent-type project users (§2.2 step 3, §4.2). */
  pickAgent(): StandInUserDoc | undefined {
    const n = this.routable.length;
    for (let i = 0; i < n; i++) {
      const id = this.routable[(this.roundRobin + i) % n];
      if (id !== undefined && this.projectUsers.get('u:' + id)?.user_available === true) {
        this.roundRobin = (this.roundRobin + i + 1) % n;
        return this.users.get(id);
      }
    }
    return undefined;
  }

  nextTicket(): number {
    return ++this.ticketSeq;
  }

  messagesOf(requestId: string): StandInMessage[] {
    let list = this.messages.get(requestId);
    if (!list) {
      list = [];
      this.messages.set(requestId, list);
    }
    return list;
  }

  /** Subscription as returned by GET (the `secret` field is `select: false`, §5.1). */
  static publicSubscription(s: StandInSubscription): Omit<StandInSubscription, 'secret'> {
    const { secret: _secret, ...rest } = s;
    void _secret;
    return rest;
  }
}
