/**
 * Public types of the Tiledesk stand-in. Wire shapes follow /work/shared/tiledesk-api.md
 * (§2.3 request fields, §3.5 message model, §5.1 subscription shape) and the fixtures in
 * /work/shared/tiledesk-fixtures/.
 */

export interface StandInAgent {
  /** 24-hex ObjectId-like user id. */
  id: string;
  firstname: string;
  lastname: string;
  email: string;
  available: boolean;
  /** Lets the agent sign in (`/auth/signin`, Basic auth) and act through the REST API. */
  password?: string;
}

export interface StandInDepartment {
  _id: string;
  name: string;
  /** `pooled` never assigns anybody (status 100), §2.2 step 3. */
  routing: 'assigned' | 'pooled';
  /**
   * A Tiledesk bot that serves the department's requests (`models/department.js`). Only shown by
   * `GET /{p}/departments/{id}` here: the stand-in does not run bots.
   */
  id_bot?: string;
  default: boolean;
  status: number;
  id_project: string;
  createdBy: string;
  groups: unknown[];
  tags: string[];
  createdAt: string;
  updatedAt: string;
  __v: number;
}

export interface StandInOptions {
  /** Default '65a1b2c3d4e5f6a7b8c9d0e1'. */
  projectId?: string;
  /** Visitor-authentication secret for custom JWTs (§1.5). Default 'standin-project-secret'. */
  projectSecret?: string;
  /** Default { email: 'admin@example.com', password: 'admin-password' }. */
  admin?: { email: string; password: string };
  /** Default: one available agent, Anna Rossi, id '65a1b2c3d4e5f6a7b8c9d0aa'. */
  agents?: StandInAgent[];
  /** Extra departments (by `departmentid`). Unknown ids are accepted as `assigned` departments. */
  departments?: Array<{
    _id: string;
    name: string;
    routing?: 'assigned' | 'pooled';
    id_bot?: string;
  }>;
  /** `name` of the project document. Default 'Stand-in project'. */
  projectName?: string;
  /**
   * Simulate chat21, the chat engine behind the agent console (default true, as on Tiledesk
   * Cloud): REST messages with status 0 come back as 200 after `commandDelayMs` (which runs
   * `\agent` / `\close`), and an agent added to a request is announced by a
   * MEMBER_JOINED_GROUP info message. `false` behaves like a server without chat21 (the
   * self-hosted kit the contract test runs against): messages keep their status, no joins.
   */
  chat21?: boolean;
  /** Delay of the simulated chat21 round trip (status 0 → 200, then `\agent`/`\close`), §4.1. Default 20. */
  commandDelayMs?: number;
  /** Delays between the 3 delivery attempts, §5.3. Default [2500, 4500]. */
  webhookRetryDelaysMs?: number[];
  /** `Origin` header of webhook deliveries. Default 'http://localhost:3000' (§5.3). */
  webhookOrigin?: string;
  /** Project labels: a text containing `${KEY}` is replaced entirely by the label (§3.6). */
  labels?: Record<string, string>;
  /** Record every HTTP call in `calls` (default true; benchmarks may turn it off). */
  recordCalls?: boolean;
}

export interface StandInUserDoc {
  _id: string;
  email: string;
  firstname: string;
  lastname: string;
  emailverified: boolean;
  status: number;
  createdAt: string;
  updatedAt: string;
  __v: number;
}

export interface StandInProjectUser {
  _id: string;
  id_project: string;
  /** Agents/admin (Tiledesk users). */
  id_user?: string;
  /** Custom-token and anonymous users. */
  uuid_user?: string;
  role: string;
  roleType: number;
  user_available: boolean;
  number_assigned_requests: number;
  permissions: string[];
  status: string;
  trashed: boolean;
  /** `default: new Date()` in models/project_user.js: evaluated once, the server's start time. */
  last_login_at: string;
  createdBy: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  __v: number;
}

export interface StandInLead {
  _id: string;
  lead_id: string;
  fullname: string;
  email?: string;
  /** `phoneUtil.normalizePhone(undefined)` → null. */
  phone: string | null;
  attributes?: Record<string, unknown>;
  status: number;
  tags: string[];
  id_project: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  __v: number;
}

/**
 * The populated request document as stored. The API answers it as `toJSON` with virtuals
 * (`id`, `requester_id`, `requester.id`/`isAuthenticated`, `department.id`/`hasBot`), and so do
 * `request.*` webhooks; `message.create` payloads carry it lean, without them (request-doc.ts).
 */
export interface StandInRequest {
  _id: string;
  request_id: string;
  /** 50 TEMP, 100 UNASSIGNED, 150 ABANDONED, 200 ASSIGNED, 1000 CLOSED (§2.3). */
  status: number;
  preflight: boolean;
  hasBot: boolean;
  participants: string[];
  participantsAgents: string[];
  participantsBots: string[];
  participatingAgents: StandInUserDoc[];
  participatingBots: unknown[];
  priority: string;
  followers: string[];
  tags: string[];
  notes: unknown[];
  requester: StandInProjectUser;
  lead: StandInLead;
  first_text: string;
  department: StandInDepartment;
  /** Answered and delivered only when not empty (mongoose `minimize`). */
  attributes: Record<string, unknown>;
  id_project: string;
  createdBy: string;
  channel: { name: string };
  channelOutbound: { name: string };
  language?: string;
  subject?: string;
  sourcePage?: string;
  userAgent?: string;
  snapshot: {
    requester: StandInProjectUser;
    lead: StandInLead;
    department: StandInDepartment;
    availableAgentsCount: number;
  };
  contact?: { email?: string };
  smartAssignment: boolean;
  ticket_id: number;
  assigned_at?: string;
  first_response_at?: string;
  waiting_time?: number;
  closed_at?: string;
  closed_by?: string;
  duration?: number;
  transcript?: string;
  createdAt: string;
  updatedAt: string;
  __v: number;
}

/** Message JSON (§3.5). `attributes`/`metadata`/`text` are absent when never given, as in Mongo. */
export interface StandInMessage {
  _id: string;
  sender: string;
  senderFullname: string;
  recipient: string;
  type: string;
  channel_type: 'group';
  text?: string;
  id_project: string;
  /** 0 SENDING (REST default), 200 RECEIVED (agent replies; REST messages after the chat21 round trip). */
  status: number;
  attributes?: Record<string, unknown>;
  metadata?: unknown;
  language?: string;
  channel: { name: string };
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  __v: 0;
}

export interface StandInSubscription {
  _id: string;
  event: string;
  target: string;
  id_project: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  __v: number;
  secret: string;
}

export interface StandInCall {
  method: string;
  /** Request URL as received (path + query). */
  path: string;
  /** 0 while pending or when no response was sent (fault `drop-response`/`reset`). */
  status: number;
  body: unknown;
  at: number;
}

export interface StandInDelivery {
  event: string;
  target: string;
  attempt: number;
  status: number | 'error';
  /** The parsed envelope `{timestamp, payload, hook, token}` (parsed lazily). */
  readonly body: unknown;
  subscriptionId: string;
  at: number;
}

export interface StandInFault {
  method?: string;
  /** Tested against the URL path (without query string). */
  path?: RegExp;
  /** For mode 'status' (default 503). */
  status?: number;
  /** Sets `Retry-After` (mode 'status'). */
  retryAfterSeconds?: number;
  /** Default 1; Infinity allowed. */
  times?: number;
  /** Default 'status'. */
  mode?: 'status' | 'drop-response' | 'reset';
}

export interface StandInHold {
  release(): void;
  readonly pending: number;
  waitForPending(n?: number): Promise<void>;
}
