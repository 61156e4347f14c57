// The shapes of the API's answers the console reads (see /api/openapi.json).

export interface Page<T> {
  items: T[];
  page: number;
  per_page: number;
  total_items: number;
  total_pages: number;
}

export interface User {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: string;
  status: string;
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: User;
}

/** The challenge of a sign-in that needs a second factor (inside its 401 `mfa-required` problem). */
export interface MfaChallenge {
  mfa_token: string;
  /** `totp` (a code from the authenticator app) and `recovery_code`. */
  methods: string[];
  /** Seconds the challenge stays valid. */
  expires_in: number;
}

/** What asking for an emailed sign-in code answers (the same whether or not the account exists). */
export interface SignInCodeSent {
  otp_id: string;
}

/** The signed-in builder's second factors. */
export interface MfaStatus {
  totp_enabled: boolean;
  /** An enrolment was started and not yet confirmed by a first code. */
  totp_pending: boolean;
  recovery_codes_left: number;
}

/** A started enrolment: what the authenticator app needs. */
export interface TotpEnrolment {
  /** The shared secret in base32, for typing in by hand. */
  secret: string;
  otpauth_uri: string;
  /** The QR code of `otpauth_uri`, an SVG document. */
  qr_svg: string;
}

/** Shown once: the server keeps only their hashes. */
export interface RecoveryCodes {
  recovery_codes: string[];
}

/** One open session (a sign-in) of the builder. */
export interface SessionView {
  id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  /** Whether this is the session of the request. */
  current: boolean;
}

/** An account's open session as administrators see it (`current` is always false). */
export type AdminSession = SessionView;

/** How many sessions signing an account out everywhere ended. */
export interface RevokedSessions {
  revoked: number;
}

/** A third-party sign-in provider configured on the server (GitHub, Google…). */
export interface OAuthProvider {
  name: string;
  display_name: string;
}

/** A started OAuth2 sign-in: where to send the browser, and the state it comes back with. */
export interface OAuthStart {
  authorization_url: string;
  state: string;
}

/** A provider account linked to the builder's account. */
export interface LinkedIdentity {
  provider: string;
  email: string;
  created_at: string;
}

export interface RegisterRequest {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
}

export interface RegisterResponse {
  email: string;
  /** `active`, or `pending_activation` (an email was sent). */
  status: string;
}

export type OrgRole = 'MEMBER' | 'ADMIN' | 'OWNER';

export interface Organization {
  id: string;
  name: string;
  description: string;
  created_at: string;
  my_role?: OrgRole | null;
}

/** A member of an organization, with the person's name and address. */
export interface Member {
  user_id: string;
  email: string;
  first_name: string;
  last_name: string;
  role: OrgRole;
  joined_at: string;
}

/** A pending invitation to join an organization (its emailed token is never returned). */
export interface Invitation {
  id: string;
  organization_id: string;
  email: string;
  role: OrgRole;
  invited_by: string;
  created_at: string;
  expires_at: string;
}

export interface NewInvitation {
  email: string;
  /** Default MEMBER; only an OWNER may invite another OWNER (the console offers MEMBER and ADMIN). */
  role?: OrgRole;
}

/** A machine credential of an organization; its secret is only in the creation's answer. */
export interface ApiKey {
  id: string;
  organization_id: string;
  name: string;
  /** The first characters of the key, to recognize it. */
  prefix: string;
  role: OrgRole;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface NewApiKey {
  organization_id: string;
  name: string;
  /** At most the creator's own role (default MEMBER). */
  role?: OrgRole;
  /** RFC 3339, in the future; none: the key does not expire. */
  expires_at?: string;
}

/** A created key: shown once, the server keeps only its hash. */
export interface CreatedApiKey extends ApiKey {
  secret: string;
}

export type ProjectStatus = 'planned' | 'in_progress' | 'completed';

export interface Project {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  status: ProjectStatus;
  favorite: boolean;
  created_by?: string;
  created_at: string;
  updated_at: string;
  /** Set while the project is in the trash (restorable for 30 days). */
  deleted_at?: string | null;
}

export interface NewProject {
  organization_id: string;
  name: string;
  description?: string;
}

export const FIELD_TYPES = ['text', 'number', 'bool', 'email', 'url', 'date', 'select', 'relation', 'file', 'json'] as const;
export type EditableFieldType = (typeof FIELD_TYPES)[number];

/** A field as the API returns it (PocketBase's collection JSON; other options are kept). */
export interface CollectionField {
  id?: string;
  name: string;
  type: string;
  required?: boolean;
  system?: boolean;
  hidden?: boolean;
  values?: string[] | null;
  maxSelect?: number | null;
  collectionId?: string | null;
  mimeTypes?: string[] | null;
  maxSize?: number | null;
  /** file: its files need a file token (`?token=`) to be read. */
  protected?: boolean | null;
  primaryKey?: boolean;
  [option: string]: unknown;
}

export const RULES = ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule'] as const;
export type RuleName = (typeof RULES)[number];

export type Rules = Record<RuleName, string | null>;

/** An index of a collection's table on chosen fields. */
export interface CollectionIndex {
  name: string;
  fields: string[];
  unique: boolean;
}

export interface Collection extends Partial<Rules> {
  id: string;
  name: string;
  type: 'base' | 'auth' | 'view';
  system: boolean;
  fields: CollectionField[];
  indexes?: CollectionIndex[];
}

export interface NewCollection extends Partial<Rules> {
  name: string;
  type?: 'base' | 'auth';
  fields: CollectionField[];
  /** Absent: the indexes stay as they are. */
  indexes?: CollectionIndex[];
}

/** One entry of a project's schema history: a collection created, changed or deleted. */
export interface SchemaMigration {
  /** Its number in the project's history, from 1. */
  seq: number;
  collection_id: string;
  /** The collection's name at the time. */
  collection_name: string;
  /** What changed, in words (`add field title`, `change access rules`). */
  operations: string[];
  /** The SQL statements run, for this database. */
  statements: string[];
  actor_id: string;
  created_at: string;
}

export interface App {
  id: string;
  organization_id: string;
  project_id: string;
  slug: string;
  name: string;
  current_deployment?: number | null;
  created_at: string;
}

export interface NewApp {
  project_id: string;
  slug: string;
  name: string;
}

export interface Deployment {
  number: number;
  source: string;
  operations: string[];
  created_at: string;
}

export interface RecordModel {
  id: string;
  collectionId: string;
  collectionName: string;
  /** The related records asked for with `expand`, by relation field (one record, or a list). */
  expand?: Record<string, RecordModel | RecordModel[]>;
  [field: string]: unknown;
}

export interface RecordList {
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
  items: RecordModel[];
}

/** A page of a Studio project; its `document` is the component tree (see the page schema). */
export interface StudioPage {
  id: string;
  project_id: string;
  name: string;
  slug: string;
  position: number;
  seo_title: string;
  seo_description: string;
  document: Record<string, unknown>;
  version: number;
  created_at: string;
  updated_at: string;
  updated_by: string;
}

export interface PageInput {
  name?: string;
  slug?: string;
  /** At most 200 characters. */
  seo_title?: string;
  /** At most 500 characters. */
  seo_description?: string;
  /** 0-based place in the project's pages; the others shift. */
  position?: number;
}

// --- Billing (/api/v1/billing, /api/v1/payments) ---------------------------------------------

export type BillingPeriod = 'month' | 'year';

/** A plan's quotas; `null` is unlimited. */
export interface PlanLimits {
  projects: number | null;
  apps: number | null;
  records: number | null;
  storage_bytes: number | null;
  api_calls_per_day: number | null;
  ai_tokens_per_month: number | null;
  exports_per_month: number | null;
  members: number | null;
}

export interface Plan {
  code: string;
  name: string;
  currency: string;
  /** Prices in minor units (cents). */
  price_month: number;
  price_year: number;
  limits: PlanLimits;
}

/** `past_due`: the period ended and the renewal is not paid yet; the plan holds until its grace period ends. */
export type BillingStatus = 'active' | 'canceled' | 'past_due';

/** The renewal to come (prices include VAT). */
export interface NextInvoice {
  /** RFC 3339. */
  date: string;
  /** In minor units. */
  amount: number;
  currency: string;
  plan: string;
  period: BillingPeriod;
}

export type UsageMetric = keyof PlanLimits;

/** What a limit counts over: the UTC day, the month, or what exists now. */
export type UsageWindow = 'day' | 'month' | 'current';

/** Usage against one of the plan's limits. */
export interface MetricUsage {
  metric: UsageMetric;
  window: UsageWindow;
  used: number;
  /** `null`: unlimited. */
  limit: number | null;
}

/** One UTC day of an organization's metered usage. */
export interface UsageDay {
  /** `YYYY-MM-DD`. */
  day: string;
  api_calls: number;
  ai_tokens: number;
  exports: number;
}

export interface BillingOverview {
  organization_id: string;
  plan: Plan;
  period: BillingPeriod;
  status: BillingStatus;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  /** None on FREE or once canceled. */
  next_invoice: NextInvoice | null;
  /** Usage against every limit (`GET /billing/me` only). */
  usage?: MetricUsage[];
}

export interface Subscribe {
  organization_id: string;
  plan: string;
  period: BillingPeriod;
  success_url: string;
  cancel_url: string;
}

export interface SubscribeResult {
  subscription: unknown;
  payment: Record<string, unknown> | null;
  /** Where to pay, when the plan costs something. */
  checkout_url: string | null;
}

export interface Payment {
  id: string;
  /** `sandbox`, `stripe`, `paypal`, `cinetpay`… */
  provider: string;
  /** `pending`, `succeeded`, `failed`, `canceled`, `needs_review`, `refunded`, `partially_refunded`. */
  status: string;
  /** In minor units. */
  amount: number;
  /** In minor units: what was refunded so far. */
  amount_refunded: number;
  currency: string;
  description: string;
  created_at: string;
  paid_at: string | null;
}

export type InvoiceKind = 'invoice' | 'credit_note';
export type InvoiceStatus = 'issued' | 'paid' | 'void';

/** Who an invoice is made out to. */
export interface InvoiceParty {
  name?: string;
  email?: string;
  organization_id?: string;
}

/** An invoice or a credit note; amounts in minor units, a credit note's negative. */
export interface Invoice {
  id: string;
  organization_id: string;
  payment_id: string;
  number: string;
  kind: InvoiceKind;
  status: InvoiceStatus;
  currency: string;
  subtotal: number;
  /** Basis points (2000 = 20 %). */
  vat_rate_bp: number;
  vat_amount: number;
  total: number;
  seller: Record<string, unknown> | null;
  buyer: InvoiceParty | null;
  lines: unknown;
  /** The invoice a credit note corrects. */
  refers_to: string | null;
  issued_at: string;
  paid_at: string | null;
  pdf_ready: boolean;
}

/** The administrators' invoice filter ('' or absent: any). */
export interface AdminInvoiceFilter {
  organization_id?: string;
  status?: InvoiceStatus | '';
  kind?: InvoiceKind | '';
  /** Issued on or after this day (`YYYY-MM-DD`, UTC). */
  from?: string;
  /** Issued on or before this day (`YYYY-MM-DD`, UTC). */
  to?: string;
  /** Part of the number. */
  number?: string;
}

/** One month of revenue in one currency; amounts in minor units, VAT included. */
export interface RevenueMonth {
  /** `YYYY-MM`. */
  month: string;
  currency: string;
  invoices: number;
  invoiced: number;
  /** Credit notes, negative. */
  credited: number;
  net: number;
  vat: number;
  /** Net by plan code (`other` for what is not a plan). */
  by_plan: Record<string, number>;
}

// --- Platform administration (/api/v1/admin) ------------------------------------------------

export type PlatformRole = 'user' | 'premium' | 'admin';
export type UserStatus = 'pending' | 'active' | 'deactivated' | 'deleted';
/** The statuses an administrator can set. */
export type SettableStatus = 'active' | 'deactivated';

/** An account as administrators see it. */
export interface AdminUser extends User {
  role: PlatformRole;
  status: UserStatus;
  email_verified: boolean;
  /** Locked after too many failed sign-ins; a password reset (or activation) unlocks it. */
  locked: boolean;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserFilter {
  /** Matches the email, first or last name (case-insensitive). */
  search?: string;
  role?: PlatformRole | '';
  /** None: every account but the deleted ones. */
  status?: UserStatus | '';
}

/** An organization as administrators see it. */
export interface AdminOrganization {
  id: string;
  name: string;
  description: string;
  members: number;
  /** The first owner's address (none when it has no owner left). */
  owner_email: string | null;
  created_at: string;
  /** Set when the organization was deleted. */
  deleted_at: string | null;
}

/** The administrators' organization filter (absent: any). */
export interface AdminOrganizationFilter {
  /** Part of the name (case-insensitive, at most 100 characters). */
  search?: string;
  /** The deleted ones too (default false). */
  include_deleted?: boolean;
}

/** A project as administrators see it. */
export interface AdminProject {
  id: string;
  organization_id: string;
  name: string;
  status: ProjectStatus;
  /** Its pages. */
  pages: number;
  created_at: string;
  updated_at: string;
  /** Set while the project is in the trash. */
  deleted_at: string | null;
}

/** The administrators' project filter (absent: any); `include_deleted` adds the trash. */
export interface AdminProjectFilter extends AdminOrganizationFilter {
  organization_id?: string;
}

/** The administrators' filter of every editing session (`GET /admin/collab/replays`; absent: any). */
/** A session in the administrators' list, with the names of what it edited (null when gone). */
export interface AdminReplay extends Replay {
  page_name: string | null;
  project_name: string | null;
  organization_name: string | null;
  /** The editor's name (null for `system` and accounts that are gone). */
  user_name: string | null;
}

export interface AdminReplayFilter {
  organization_id?: string;
}

/** An app as administrators see it (`GET /admin/apps`). */
export interface AdminApp {
  id: string;
  organization_id: string;
  /** Null when the organization is gone. */
  organization_name: string | null;
  project_id: string;
  /** Null when the project is gone. */
  project_name: string | null;
  slug: string;
  name: string;
  /** The live deployment's number (null before the first deploy). */
  current_deployment: number | null;
  /** How many deployments it has had. */
  deployments: number;
  last_deployed_at: string | null;
  created_at: string;
  updated_at: string;
}

/** The administrators' app filter (absent: any). */
export interface AdminAppFilter {
  /** Part of the name or slug (case-insensitive). */
  search?: string;
  organization_id?: string;
  project_id?: string;
}

/** The spans of the dashboard's activity charts. */
export type ActivityRange = '24h' | '7d' | '30d';

/** What happened in one hour or day (UTC). */
export interface ActivityBucket {
  /** RFC 3339 (UTC): the hour's or the day's start. */
  start: string;
  requests: number;
  /** 4xx answers (counted in `requests` too). */
  client_errors: number;
  /** 5xx answers (counted in `requests` too). */
  server_errors: number;
  jobs_succeeded: number;
  /** Failed attempts (the job may be tried again). */
  jobs_failed: number;
  /** Jobs given up on after their last attempt. */
  jobs_dead: number;
}

/** Requests and jobs over time (`GET /admin/activity`): every bucket, oldest first. */
export interface Activity {
  range: ActivityRange;
  bucket: 'hour' | 'day';
  buckets: ActivityBucket[];
}

export interface AdminUserUpdate {
  first_name?: string;
  last_name?: string;
  email?: string;
}

export interface DayCount {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  count: number;
}

export interface UserStats {
  /** Accounts not deleted. */
  total: number;
  by_role: Record<string, number>;
  by_status: Record<string, number>;
  active_last_7_days: number;
  /** Sign-ups per day over the last 30 days, oldest first, days without any included. */
  signups_last_30_days: DayCount[];
  /** Accounts that signed in or renewed a session, per day over the last 30 days, oldest first. */
  active_last_30_days: DayCount[];
}

export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface AuditFilter {
  /** An exact action, e.g. `LOGIN_FAILED`. */
  action?: string;
  severity?: Severity | '';
  actor_id?: string;
  target_type?: string;
  target_id?: string;
  organization_id?: string;
  /** RFC 3339: entries at or after. */
  from?: string;
  /** RFC 3339: entries strictly before. */
  to?: string;
}

export interface AuditRecord {
  id: string;
  created_at: string;
  action: string;
  severity: Severity;
  actor_id: string | null;
  actor_email: string | null;
  organization_id: string | null;
  target_type: string;
  target_id: string | null;
  description: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: unknown;
}

export interface AuditStats {
  total: number;
  last_24h: number;
  /** Every severity, zero included. */
  by_severity: Record<Severity, number>;
  by_action: Record<string, number>;
}

export const JOB_STATES = ['queued', 'running', 'failed', 'succeeded', 'dead', 'discarded'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueCounts {
  queue: string;
  /** Jobs by state, every state present. */
  counts: Record<string, number>;
}

export interface JobFilter {
  state?: JobState | '';
  queue?: string;
  kind?: string;
}

export interface JobSummary {
  id: string;
  kind: string;
  queue: string;
  status: JobState;
  priority: number;
  run_at: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface JobAttempt {
  attempt: number;
  worker: string;
  started_at: string;
  finished_at: string | null;
  outcome: string;
  error: string | null;
  duration_ms: number | null;
}

export interface JobDetail {
  job: JobSummary;
  payload: unknown;
  result: unknown;
  timeout_secs: number;
  idempotency_key: string | null;
  attempt_log: JobAttempt[];
}

export type EmailStatus = 'sent' | 'pending' | 'failed';

/** An email (an `email.send` job). */
export interface EmailView {
  job_id: string;
  to: string;
  subject: string;
  status: EmailStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface EmailTemplate {
  key: string;
  description: string;
  variables: string[];
  subject: string;
  html: string;
  text: string;
  /** Changed by an administrator (deleting it restores the shipped one). */
  customized: boolean;
  updated_at: string | null;
}

export interface TemplateInput {
  subject: string;
  html: string;
  text: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** What an administrator's notification says (`type`: dotted, e.g. `admin.message`; people choose per type whether it also comes by email). */
export interface NewNotification {
  type: string;
  /** At most 200 characters. */
  title: string;
  /** At most 5,000 characters. */
  body?: string;
  /** Where the notification leads (at most 2,000 characters). */
  url?: string;
}

/** Who an administrator notifies: exactly one of a user, everyone with a platform role, or everyone. */
export type NotificationAudience = { user_id: string } | { role: PlatformRole } | { everyone: true };

export type AdminNotification = NotificationAudience & NewNotification;

/** A user is notified at once; a role or everyone is notified by a queued job. */
export interface NotifyResult {
  notified?: number;
  notification_id?: string;
  job_id?: string;
  /** Its row in the list of sent notifications. */
  sent_id?: string;
}

/** What an administrator sent (`GET /api/v1/admin/notifications`, newest first). */
export interface SentNotification {
  id: string;
  /** The administrator's id, and their address when they sent it. */
  sent_by: string;
  sent_by_email: string | null;
  audience: 'user' | 'role' | 'everyone';
  /** The account's address (`user`) or the role (`role`). */
  audience_value: string | null;
  type: string;
  title: string;
  body: string;
  url: string | null;
  /** How many were notified; null while the fan-out job runs. */
  recipients: number | null;
  job_id: string | null;
  created_at: string;
  delivered_at: string | null;
}

// --- Billing profile and saved cards (/api/v1/billing/profile, /api/v1/payments/methods) ------

/** Who the organization's invoices are made out to. */
export interface BillingProfile {
  organization_id: string;
  name: string;
  address: string;
  /** ISO 3166-1 alpha-2, two capitals. */
  country: string;
  vat_id: string;
  email: string;
}

/** A card saved on Stripe for the organization. */
export interface SavedCard {
  id: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  default: boolean;
}

export interface CardSetup {
  organization_id: string;
  success_url: string;
  cancel_url: string;
}

// --- Marketplace (/api/v1/marketplace, /api/v1/admin/marketplace) ------------------------------

export const MARKETPLACE_KINDS = ['template', 'component'] as const;
export type MarketplaceKind = (typeof MARKETPLACE_KINDS)[number];
export const MARKETPLACE_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type MarketplaceStatus = (typeof MARKETPLACE_STATUSES)[number];
export const MARKETPLACE_SORTS = ['newest', 'rating', 'popular', 'price_asc', 'price_desc'] as const;
export type MarketplaceSort = (typeof MARKETPLACE_SORTS)[number];

/** A template (a project) or a component on the marketplace; the price in minor units. */
export interface MarketplaceItem {
  id: string;
  organization_id: string;
  kind: MarketplaceKind;
  title: string;
  description: string;
  category: string;
  /** https URLs. */
  screenshots: string[];
  price: number;
  currency: string;
  license: string;
  status: MarketplaceStatus;
  rejection_reason: string | null;
  /** The mean rating, 1 to 5 (null before the first review). */
  rating: number | null;
  rating_count: number;
  sales: number;
  created_at: string;
  updated_at: string;
}

/** The marketplace's search (absent or '': any). */
export interface MarketplaceSearch {
  q?: string;
  category?: string;
  kind?: MarketplaceKind;
  free?: boolean;
  min_rating?: number;
  sort?: MarketplaceSort;
}

export interface MarketplaceReview {
  user_id: string;
  organization_id: string;
  rating: number;
  comment: string;
  created_at: string;
}

export interface NewMarketplaceReview {
  organization_id: string;
  rating: number;
  comment: string;
}

export interface MarketplacePurchase {
  id: string;
  item_id: string;
  organization_id: string;
  price: number;
  currency: string;
  payment_id: string | null;
  status: string;
  created_at: string;
  completed_at: string | null;
}

export interface PurchaseStart {
  organization_id: string;
  success_url: string;
  cancel_url: string;
}

export interface PurchaseStarted {
  purchase: MarketplacePurchase;
  /** Where to pay (none for a free item, whose purchase is complete). */
  checkout_url: string | null;
}

export interface InstallRequest {
  organization_id: string;
  /** The new project's name (templates; default: the item's title). */
  project_name?: string;
}

/** What an install created: a project (template) or a component. */
export interface Installed {
  kind: MarketplaceKind;
  project_id: string | null;
  component_id: string | null;
}

export interface NewMarketplaceItem {
  organization_id: string;
  kind: MarketplaceKind;
  project_id?: string;
  component_id?: string;
  title: string;
  description: string;
  category: string;
  screenshots: string[];
  price: number;
  currency: string;
  license: string;
}

export interface SellerSale {
  purchase_id: string;
  item_id: string;
  item_title: string;
  buyer_organization_id: string;
  price: number;
  currency: string;
  completed_at: string | null;
}

/** What the organization earned in one currency, minor units: gross, the platform's commission, net. */
export interface SellerBalance {
  currency: string;
  gross: number;
  commission: number;
  net: number;
}

export interface SellerOverview {
  items: MarketplaceItem[];
  sales: SellerSale[];
  balance: SellerBalance[];
}

/** A reusable component of an organization (Studio). */
export interface StudioComponent {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  /** The JSON Schema (type object) of the props a page gives it where it is placed. */
  props_schema: Record<string, unknown>;
  /** Its tree of components. */
  document: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** What a component is made of (no props schema: it declares no props). */
export interface NewComponent {
  organization_id: string;
  name: string;
  description?: string;
  props_schema?: Record<string, unknown>;
  document: Record<string, unknown>;
}

/** What a component's editor changes (each field optional). */
export type ComponentUpdate = Partial<Omit<NewComponent, 'organization_id'>>;

// --- Assistant (/api/v1/assistant) -------------------------------------------------------------

/** A page document generated from a prompt. */
export interface GeneratedPage {
  document: Record<string, unknown>;
  attempts: number;
  tokens: number;
}

// --- Exports (/api/v1/exports) -----------------------------------------------------------------

export const EXPORT_FORMATS = ['html', 'pwa', 'react', 'flutter'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ExportStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface ExportOptions {
  /** The site's address, for absolute URLs in the sitemap and robots.txt. */
  base_url?: string;
  /** A deployed app whose API the site's forms and lists talk to. */
  app_slug?: string;
}

export interface NewExport {
  project_id: string;
  format: ExportFormat;
  options: ExportOptions;
}

/** A project made into a downloadable ZIP by the job queue. */
export interface Export {
  id: string;
  organization_id: string;
  project_id: string;
  format: string;
  status: ExportStatus;
  /** 0 to 100. */
  progress: number;
  /** What it is doing now (`page about`). */
  step: string;
  error: string | null;
  /** The ZIP's size in bytes, once made. */
  size: number | null;
  created_at: string;
  finished_at: string | null;
  /** A link to the ZIP that works for an hour without signing in (succeeded exports). */
  download_url?: string | null;
}

// --- Share links and project bundles (/api/v1/studio/projects/{id}/…) ---------------------------

/** A read-only preview link of a project's pages (its token is only in the creation's answer). */
export interface ShareLink {
  id: string;
  project_id: string;
  /** The first characters of the token, to recognize it. */
  token_prefix: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface CreatedShareLink extends ShareLink {
  /** Shown once: the token for `GET /api/v1/studio/share/{token}`. */
  token: string;
}

export interface NewShareLink {
  /** Lifetime in seconds (60 to one year); none: until revoked. */
  expires_in_secs?: number;
}

/** What a project bundle holds besides the pages' current versions and the collections. */
export interface BundleOptions {
  /** Every version of every page. */
  versions?: boolean;
  /** The collections' records. */
  records?: boolean;
}

/** One saved version of a page (newest first in lists). */
export interface PageVersion {
  version: number;
  name: string;
  slug: string;
  size_bytes: number;
  author_id: string;
  created_at: string;
}

/** One saved version of a page with its document (`GET …/versions/{version}`). */
export interface PageVersionDetail extends PageVersion {
  seo_title: string;
  seo_description: string;
  document: Record<string, unknown>;
}

// --- A page's live editing history (/api/v1/collab/pages/{page_id}) ----------------------------

/** An editing session of a page (`GET …/replays`, newest first). */
export interface Replay {
  id: string;
  page_id: string;
  project_id: string;
  organization_id: string;
  /** The account (or `system`) whose changes these are. */
  user_id: string;
  /** `live` (an editor's connection), `rest` (a REST write), `restore`, `seed`. */
  kind: string;
  changes: number;
  started_at: string;
  last_change_at: string | null;
  /** Null while the session goes on. */
  ended_at: string | null;
}

/** One logged change: a Yjs update (v1 encoding, base64) with its author and time. */
export interface ReplayUpdate {
  id: number;
  author_id: string;
  /** `edit`, `repair`, `rest`, `restore`, `seed`. */
  kind: string;
  update: string;
  created_at: string;
}

/** A session and its changes, in order (`GET …/replays/{id}`). */
export interface ReplayDetail extends Replay {
  /**
   * The page's whole state just before the session's first change (a Yjs v1 update, base64;
   * null when the session changed nothing): apply it, then `updates` in order.
   */
  base: string | null;
  updates: ReplayUpdate[];
}

/** The page document as it was at `time` (`GET …/at?time=`). */
export interface DocumentAt {
  time: string;
  document: Record<string, unknown>;
}

// --- Workflows (/api/v1/automation) -------------------------------------------------------------

/** A workflow's definition: a trigger and steps (see /api/v1/automation/schema/workflow.json). */
export interface WorkflowDefinition {
  trigger: Record<string, unknown> & { type: string };
  steps: Array<Record<string, unknown>>;
}

export interface Workflow {
  id: string;
  organization_id: string;
  project_id: string;
  name: string;
  description: string;
  enabled: boolean;
  /** manual, record, project, schedule or webhook. */
  trigger_type: string;
  /** Each change of the definition adds a version. */
  version: number;
  definition: WorkflowDefinition;
  /** Created by the system with the project. */
  is_default: boolean;
  /** Where a webhook-triggered workflow is called (`POST`, a path on this server). */
  hook_url: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface WorkflowInput {
  /** Required when creating. */
  project_id?: string;
  name?: string;
  description?: string;
  enabled?: boolean;
  definition?: WorkflowDefinition;
}

export type ExecutionStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';

/** One run of a workflow. */
export interface Execution {
  id: string;
  workflow_id: string;
  project_id: string;
  /** The workflow version it runs. */
  version: number;
  status: ExecutionStatus;
  trigger_type: string;
  context: Record<string, unknown>;
  position: Record<string, unknown> | null;
  /** Steps run so far. */
  seq: number;
  depth: number;
  error: string | null;
  rerun_of: string | null;
  started_by: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** One attempt at one step. */
export interface StepRun {
  id: string;
  seq: number;
  step_id: string;
  step_type: string;
  attempt: number;
  /** running, succeeded, retrying or failed. */
  status: string;
  /** The step's values after templating (secrets masked). */
  input: unknown;
  output: unknown;
  error: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface ExecutionDetail extends Execution {
  /** Every step attempt, in order. */
  steps: StepRun[];
}

// --- Assistant chat (/api/v1/assistant/chat) ----------------------------------------------------

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

// --- Refunds (/api/v1/payments/{id}/refund) -----------------------------------------------------

export interface RefundRequest {
  /** In minor units; the rest of the payment when absent. */
  amount?: number;
  reason: string;
}

// --- Platform files (/api/v1/files) -------------------------------------------------------------

/** A file an organization uploaded (page images, assets, documents). */
export interface PlatformFile {
  id: string;
  organization_id: string;
  /** The uploaded file's name (`logo.png`). */
  name: string;
  /** Sniffed from the bytes. */
  mime: string;
  size: number;
  /** Pixels, for images. */
  width: number | null;
  height: number | null;
  /** Served without a signed link (page images): `url` never expires then. */
  public: boolean;
  created_by: string;
  created_at: string;
  /** A signed link that expires (an hour by default), or a permanent one for public files. */
  url: string;
  /** A 200×200 thumbnail, for images. */
  thumb_url: string | null;
}

export interface FileFilter {
  /** Part of the name. */
  q?: string;
  /** A type (`image/png`) or a family (`image/`). */
  mime?: string;
}

export interface FileChange {
  name?: string;
  public?: boolean;
}

// --- Organization verification (/api/v1/foundation/verification, /api/v1/admin/verifications) --

export const VERIFICATION_KINDS = ['individual', 'business'] as const;
export type VerificationKind = (typeof VERIFICATION_KINDS)[number];
export const VERIFICATION_STATUSES = ['unverified', 'pending', 'approved', 'rejected', 'resubmitted'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];
export const DOCUMENT_KINDS = ['identity', 'company_registration', 'proof_of_address'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];
export const IDENTITY_DOCUMENT_TYPES = ['passport', 'id_card', 'driving_licence', 'residence_permit'] as const;
export type IdentityDocumentType = (typeof IDENTITY_DOCUMENT_TYPES)[number];

/** One document of the latest submission. */
export interface VerificationDocument {
  id: string;
  kind: DocumentKind | string;
  name: string;
  mime: string;
  size: number;
  /** What the submitter said of it (`document_type`, `number`, `country`…). */
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface Verification {
  organization_id: string;
  /** `individual` (KYC) or `business` (KYB); '' before any submission. */
  kind: VerificationKind | '';
  status: VerificationStatus;
  /** How many times documents were sent. */
  submissions: number;
  submitted_by: string | null;
  submitted_at: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  /** Why it was rejected. */
  reason: string | null;
  documents: VerificationDocument[];
}

/** A verification in the administrators' queue. */
export interface QueuedVerification extends Verification {
  organization_name: string;
}

/** The metadata of each document kind, as the submission's `metadata` part holds it. */
export interface VerificationMetadata {
  identity?: {
    document_type: string;
    full_name: string;
    number: string;
    /** ISO 3166 alpha-2. */
    country: string;
    /** `YYYY-MM-DD`. */
    expires_on: string;
  };
  company_registration?: { company_name: string; registration_number: string; country: string };
  proof_of_address?: { address: string; issued_on: string };
}

export interface VerificationSubmission {
  kind: VerificationKind;
  metadata: VerificationMetadata;
  /** The files by document kind. */
  documents: Partial<Record<DocumentKind, File>>;
}

export interface VerificationDecision {
  decision: 'approve' | 'reject';
  /** Required to reject; shown to the organization. */
  reason?: string;
}

// --- The builder's own account (/api/v1/foundation/users/me) ------------------------------------

/** The signed-in builder's profile as `GET /users/me` answers it. */
export interface Profile extends User {
  email_verified?: boolean;
  last_login_at?: string | null;
  created_at?: string;
  updated_at?: string;
}

export interface ProfileUpdate {
  first_name?: string;
  last_name?: string;
}

export interface PasswordChange {
  current_password: string;
  new_password: string;
}

// --- Workflow secrets (/api/v1/automation/projects/{id}/secrets) --------------------------------

/** A project's workflow secret as listed: its name, never its value. */
export interface SecretInfo {
  /** Capitals, digits and `_`, starting with a letter; steps refer to it as `{{ secrets.NAME }}`. */
  name: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

// --- Workflow versions (/api/v1/automation/workflows/{id}/versions) -----------------------------

/** One saved definition of a workflow (newest first in lists). */
export interface WorkflowVersion {
  version: number;
  definition: WorkflowDefinition;
  created_by: string;
  created_at: string;
}
