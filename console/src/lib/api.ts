// The one typed client of the console: the platform API (`/api/v1`, RFC 9457 problems) and
// an app's records API (`/apps/{slug}/api`, PocketBase's error shape). Both kinds of error
// become an `ApiError` whose `fields` maps a field name to its messages.

import type {
  FileChange,
  FileFilter,
  SecretInfo,
  PasswordChange,
  PlatformFile,
  Profile,
  ProfileUpdate,
  QueuedVerification,
  Verification,
  VerificationDecision,
  VerificationStatus,
  VerificationSubmission,
  WorkflowVersion,
  BundleOptions,
  ChatMessage,
  CreatedShareLink,
  Execution,
  ExecutionDetail,
  Export,
  NewExport,
  NewShareLink,
  PageVersion,
  PageVersionDetail,
  DocumentAt,
  Replay,
  ReplayDetail,
  RefundRequest,
  ShareLink,
  Workflow,
  WorkflowInput,
  AdminInvoiceFilter,
  AdminNotification,
  NotifyResult,
  SentNotification,
  AdminOrganization,
  AdminOrganizationFilter,
  AdminProject,
  AdminProjectFilter,
  AdminReplay,
  AdminReplayFilter,
  AdminApp,
  AdminAppFilter,
  Activity,
  ActivityRange,
  AdminSession,
  AdminUser,
  AdminUserUpdate,
  ApiKey,
  BillingOverview,
  BillingProfile,
  CardSetup,
  GeneratedPage,
  InstallRequest,
  Installed,
  MarketplaceItem,
  MarketplaceReview,
  MarketplaceSearch,
  MarketplaceStatus,
  NewMarketplaceItem,
  NewMarketplaceReview,
  PurchaseStart,
  PurchaseStarted,
  SavedCard,
  SellerOverview,
  StudioComponent,
  NewComponent,
  ComponentUpdate,
  App,
  AuditFilter,
  AuditRecord,
  AuditStats,
  Collection,
  CreatedApiKey,
  Invoice,
  InvoiceStatus,
  Deployment,
  EmailStatus,
  EmailTemplate,
  EmailView,
  Invitation,
  JobDetail,
  JobFilter,
  JobSummary,
  LinkedIdentity,
  Member,
  MfaChallenge,
  MfaStatus,
  NewApiKey,
  Payment,
  Plan,
  NewApp,
  NewCollection,
  NewInvitation,
  NewProject,
  OAuthProvider,
  OAuthStart,
  Organization,
  OrgRole,
  Page,
  PageInput,
  PlatformRole,
  Project,
  QueueCounts,
  RecordList,
  RecordModel,
  RecoveryCodes,
  RegisterRequest,
  RegisterResponse,
  RenderedEmail,
  RevenueMonth,
  SchemaMigration,
  RevokedSessions,
  SessionView,
  SettableStatus,
  SignInCodeSent,
  StudioPage,
  Subscribe,
  SubscribeResult,
  TemplateInput,
  TokenResponse,
  TotpEnrolment,
  UsageDay,
  User,
  UserFilter,
  UserStats,
} from './types';

export type FieldErrors = Record<string, string[]>;

/** A failed call: its status, a sentence for people, and the messages per input field. */
export class ApiError extends Error {
  readonly status: number;
  readonly fields: FieldErrors;
  readonly requestId: string | undefined;
  /** The problem's stable code when it has one (`NOT_CONFIGURED`). */
  readonly code: string | undefined;

  constructor(status: number, detail: string, fields: FieldErrors = {}, requestId?: string, code?: string) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
    this.requestId = requestId;
    this.code = code;
  }
}

/** The problem type of a sign-in whose password (or emailed code) was right but needs a second factor. */
export const MFA_REQUIRED = 'https://socle.dev/problems/mfa-required';

/** A sign-in that needs a second factor: send `challenge.mfa_token` with a code to finish it. */
export class MfaRequiredError extends ApiError {
  readonly challenge: MfaChallenge;

  constructor(status: number, detail: string, challenge: MfaChallenge, requestId?: string) {
    super(status, detail, {}, requestId);
    this.name = 'MfaRequiredError';
    this.challenge = challenge;
  }
}

/** The tokens of a signed-in builder, as the console keeps them. */
export interface Tokens {
  access: string;
  refresh: string;
}

/** Where the tokens live (localStorage in the browser, memory in tests). */
export interface TokenStore {
  load(): Tokens | null;
  save(tokens: Tokens | null): void;
}

export function memoryStore(initial: Tokens | null = null): TokenStore {
  let tokens = initial;
  return {
    load: () => tokens,
    save: (next) => {
      tokens = next;
    },
  };
}

export function localStore(key = 'socle.console.tokens'): TokenStore {
  return {
    load() {
      try {
        const raw = localStorage.getItem(key);
        const parsed: unknown = raw ? JSON.parse(raw) : null;
        if (parsed && typeof parsed === 'object' && 'access' in parsed && 'refresh' in parsed) {
          const { access, refresh } = parsed as Record<string, unknown>;
          if (typeof access === 'string' && typeof refresh === 'string') return { access, refresh };
        }
      } catch {
        // A corrupt entry is the same as none.
      }
      return null;
    },
    save(tokens) {
      if (tokens) localStorage.setItem(key, JSON.stringify(tokens));
      else localStorage.removeItem(key);
    },
  };
}

type Query = Record<string, string | number | boolean | undefined | null>;

interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as multipart/form-data instead (file uploads). */
  form?: FormData;
  /** Sent as is, with its own content type (a project bundle). */
  raw?: Blob;
  /** Send without the access token (sign-in, sign-up, refresh). */
  anonymous?: boolean;
  /** The accepted type when not JSON (a PDF). */
  accept?: string;
  /** Stops the call (a streamed answer the builder no longer wants). */
  signal?: AbortSignal;
}

const PLATFORM = '/api/v1';

/** `?a=1&b=x` from the defined values of `query` ('' when none). */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An `ApiError` from an error body: an RFC 9457 problem, or PocketBase's `{message, data}`. */
export function errorFrom(status: number, body: unknown): ApiError {
  if (!isObject(body)) {
    return new ApiError(status, `The server answered ${status}.`);
  }
  const fields: FieldErrors = {};
  const add = (field: string, message: string) => {
    (fields[field] ??= []).push(message);
  };
  if (Array.isArray(body.errors)) {
    for (const item of body.errors) {
      if (isObject(item) && typeof item.field === 'string' && typeof item.message === 'string') {
        add(item.field, item.message);
      }
    }
  }
  if (isObject(body.data)) {
    for (const [field, value] of Object.entries(body.data)) {
      if (isObject(value) && typeof value.message === 'string') add(field, value.message);
    }
  }
  const detail =
    typeof body.detail === 'string'
      ? body.detail
      : typeof body.message === 'string'
        ? body.message
        : `The server answered ${status}.`;
  const requestId = typeof body.request_id === 'string' ? body.request_id : undefined;
  if (body.type === MFA_REQUIRED && typeof body.mfa_token === 'string') {
    const methods = Array.isArray(body.methods) ? body.methods.filter((m): m is string => typeof m === 'string') : [];
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 0;
    return new MfaRequiredError(status, detail, { mfa_token: body.mfa_token, methods, expires_in: expiresIn }, requestId);
  }
  const code = typeof body.code === 'string' ? body.code : undefined;
  return new ApiError(status, detail, fields, requestId, code);
}

/** Which page of a list, and how long (the API's default is 20, at most 200). */
export interface Paging {
  page?: number;
  per_page?: number;
}

/** Files chosen for a record's file fields, by field name. */
export type FileInputs = Record<string, File[]>;

/** JSON when no file is sent, else multipart: the values in `@jsonPayload`, each file in a part. */
export function recordPayload(values: Record<string, unknown>, files: FileInputs): { body?: unknown; form?: FormData } {
  const chosen = Object.entries(files).filter(([, list]) => list.length > 0);
  if (chosen.length === 0) return { body: values };
  const form = new FormData();
  form.append('@jsonPayload', JSON.stringify(values));
  for (const [field, list] of chosen) {
    for (const file of list) form.append(field, file, file.name);
  }
  return { form };
}

export class Api {
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<(signedIn: boolean) => void>();

  constructor(
    private readonly store: TokenStore,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
    private readonly origin = '',
  ) {}

  get signedIn(): boolean {
    return this.store.load() !== null;
  }

  /** The current access token (for the collaboration WebSocket, which takes it as a parameter). */
  accessToken(): string | null {
    return this.store.load()?.access ?? null;
  }

  /** Called with `false` when the session ends (sign-out, or a refresh that failed). */
  onSessionChange(listener: (signedIn: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setTokens(tokens: Tokens | null) {
    this.store.save(tokens);
    for (const listener of this.listeners) listener(tokens !== null);
  }

  /** Keep the tokens of a sign-in (password, second factor or emailed code) or a refresh. */
  private startSession(answer: TokenResponse): TokenResponse {
    this.setTokens({ access: answer.access_token, refresh: answer.refresh_token });
    return answer;
  }

  /** One call; on 401 with a refresh token, refresh once and try again. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const first = await this.send(method, path, options);
    if (first.status === 401 && !options.anonymous && this.store.load()) {
      if (await this.refresh()) {
        return this.read<T>(await this.send(method, path, options));
      }
    }
    return this.read<T>(first);
  }

  private send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    const tokens = this.store.load();
    if (tokens && !options.anonymous) headers.authorization = `Bearer ${tokens.access}`;
    let body: BodyInit | undefined;
    if (options.form) {
      // The browser writes the multipart boundary into the content type.
      body = options.form;
    } else if (options.raw) {
      headers['content-type'] = options.raw.type || 'application/octet-stream';
      body = options.raw;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    return this.fetcher(`${this.origin}${path}${queryString(options.query)}`, { method, headers, body, signal: options.signal });
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text();
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) throw errorFrom(response.status, body);
    return body as T;
  }

  /** Trade the refresh token for new tokens; concurrent callers share one exchange. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      const tokens = this.store.load();
      if (!tokens) return false;
      try {
        const answer = await this.read<TokenResponse>(
          await this.send('POST', `${PLATFORM}/foundation/auth/refresh`, {
            anonymous: true,
            body: { refresh_token: tokens.refresh },
          }),
        );
        this.startSession(answer);
        return true;
      } catch {
        this.setTokens(null);
        return false;
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  // --- Accounts -------------------------------------------------------------------------

  register(input: RegisterRequest): Promise<RegisterResponse> {
    return this.request('POST', `${PLATFORM}/foundation/auth/register`, { body: input, anonymous: true });
  }

  /** Sign in with a password; throws `MfaRequiredError` when the account has a second factor. */
  async login(email: string, password: string): Promise<TokenResponse> {
    const answer = await this.request<TokenResponse>('POST', `${PLATFORM}/foundation/auth/login`, {
      body: { email, password },
      anonymous: true,
    });
    return this.startSession(answer);
  }

  /** Finish a sign-in that needed a second factor: an authenticator or recovery code. */
  async completeMfa(mfaToken: string, code: string): Promise<TokenResponse> {
    const answer = await this.request<TokenResponse>('POST', `${PLATFORM}/foundation/auth/mfa`, {
      body: { mfa_token: mfaToken, code },
      anonymous: true,
    });
    return this.startSession(answer);
  }

  /** Email a one-time sign-in code; the answer does not say whether the account exists. */
  requestSignInCode(email: string): Promise<SignInCodeSent> {
    return this.request('POST', `${PLATFORM}/foundation/auth/sign-in-code`, { body: { email }, anonymous: true });
  }

  /** Sign in with the emailed code; throws `MfaRequiredError` when the account has a second factor. */
  async verifySignInCode(otpId: string, code: string): Promise<TokenResponse> {
    const answer = await this.request<TokenResponse>('POST', `${PLATFORM}/foundation/auth/sign-in-code/verify`, {
      body: { otp_id: otpId, code },
      anonymous: true,
    });
    return this.startSession(answer);
  }

  // --- OAuth2 sign-in ----------------------------------------------------------------------

  private oauthPath(rest = ''): string {
    return `${PLATFORM}/foundation/auth/oauth2${rest}`;
  }

  /** The providers one can sign in with (none when the server has none configured). */
  oauthProviders(): Promise<OAuthProvider[]> {
    return this.request('GET', this.oauthPath('/providers'), { anonymous: true });
  }

  /** Start signing in with a provider; the browser then goes to `authorization_url`. */
  startOAuth(provider: string): Promise<OAuthStart> {
    return this.request('POST', this.oauthPath(`/${encodeURIComponent(provider)}/start`), { body: {}, anonymous: true });
  }

  /** Finish it with what the provider sent back; throws `MfaRequiredError` when the account has a second factor. */
  async finishOAuth(provider: string, code: string, state: string): Promise<TokenResponse> {
    const answer = await this.request<TokenResponse>('POST', this.oauthPath(`/${encodeURIComponent(provider)}/callback`), {
      body: { code, state },
      anonymous: true,
    });
    return this.startSession(answer);
  }

  /** Activate an account with the token of its activation email. */
  activate(token: string): Promise<unknown> {
    return this.request('POST', `${PLATFORM}/foundation/auth/activate`, { body: { token }, anonymous: true });
  }

  /** Ask for a password-reset email; the answer does not say whether the account exists. */
  requestPasswordReset(email: string): Promise<{ message: string }> {
    return this.request('POST', `${PLATFORM}/foundation/auth/request-password-reset`, { body: { email }, anonymous: true });
  }

  /** Choose a new password with the token of the reset email. */
  resetPassword(token: string, password: string): Promise<{ message: string }> {
    return this.request('POST', `${PLATFORM}/foundation/auth/reset-password`, { body: { token, password }, anonymous: true });
  }

  async logout(): Promise<void> {
    try {
      if (this.signedIn) await this.request('POST', `${PLATFORM}/foundation/auth/logout`);
    } catch {
      // Signing out locally is what matters.
    } finally {
      this.setTokens(null);
    }
  }

  /** The signed-in builder's profile. */
  me(): Promise<User> {
    return this.request('GET', `${PLATFORM}/foundation/users/me`);
  }

  /** The builder's full profile (sign-in dates, whether the address is verified). */
  profile(): Promise<Profile> {
    return this.request('GET', `${PLATFORM}/foundation/users/me`);
  }

  /** Change the builder's first and last name (422 with the fields when refused). */
  updateProfile(update: ProfileUpdate): Promise<Profile> {
    return this.request('PATCH', `${PLATFORM}/foundation/users/me`, { body: update });
  }

  /** Change the password (the current one checked); every other session is signed out. */
  changePassword(change: PasswordChange): Promise<{ message: string }> {
    return this.request('POST', `${PLATFORM}/foundation/users/me/password`, { body: change });
  }

  /** Move the account to another address: a link to that address confirms it. */
  requestEmailChange(email: string, password: string): Promise<{ message: string }> {
    return this.request('POST', `${PLATFORM}/foundation/users/me/email`, { body: { email, password } });
  }

  /** Confirm an email change with the token of the link sent to the new address. */
  confirmEmailChange(token: string): Promise<{ message: string }> {
    return this.request('POST', `${PLATFORM}/foundation/auth/confirm-email-change`, { body: { token }, anonymous: true });
  }

  // --- Account security --------------------------------------------------------------------

  private mfaPath(rest = ''): string {
    return `${PLATFORM}/foundation/users/me/mfa${rest}`;
  }

  mfaStatus(): Promise<MfaStatus> {
    return this.request('GET', this.mfaPath());
  }

  /** Start (or restart) enrolling an authenticator app. */
  startTotp(): Promise<TotpEnrolment> {
    return this.request('POST', this.mfaPath('/totp'), { body: {} });
  }

  /** Confirm the enrolment with a first code; answers the recovery codes, shown once. */
  confirmTotp(code: string): Promise<RecoveryCodes> {
    return this.request('POST', this.mfaPath('/totp/confirm'), { body: { code } });
  }

  disableTotp(password: string, code: string): Promise<void> {
    return this.request('POST', this.mfaPath('/totp/disable'), { body: { password, code } });
  }

  /** New recovery codes (the old ones stop working). */
  regenerateRecoveryCodes(code: string): Promise<RecoveryCodes> {
    return this.request('POST', this.mfaPath('/recovery-codes'), { body: { code } });
  }

  /** The builder's open sessions, the current one marked. */
  sessions(): Promise<SessionView[]> {
    return this.request('GET', `${PLATFORM}/foundation/users/me/sessions`);
  }

  /** Sign out one session (another device). */
  revokeSession(id: string): Promise<void> {
    return this.request('DELETE', `${PLATFORM}/foundation/users/me/sessions/${encodeURIComponent(id)}`);
  }

  /** Sign out every session but the current one. */
  revokeOtherSessions(): Promise<{ revoked: number }> {
    return this.request('POST', `${PLATFORM}/foundation/users/me/sessions/revoke-others`);
  }

  /** The provider accounts linked to the builder's account. */
  identities(): Promise<LinkedIdentity[]> {
    return this.request('GET', `${PLATFORM}/foundation/users/me/identities`);
  }

  /** Unlink a provider; refused (409) when it is the only way left to sign in. */
  unlinkIdentity(provider: string): Promise<void> {
    return this.request('DELETE', `${PLATFORM}/foundation/users/me/identities/${encodeURIComponent(provider)}`);
  }

  // --- Organizations ----------------------------------------------------------------------

  organizations(): Promise<Page<Organization>> {
    return this.request('GET', `${PLATFORM}/foundation/organizations`, { query: { per_page: 100 } });
  }

  createOrganization(input: { name: string; description?: string }): Promise<Organization> {
    return this.request('POST', `${PLATFORM}/foundation/organizations`, { body: input });
  }

  private organizationPath(id: string, rest = ''): string {
    return `${PLATFORM}/foundation/organizations/${encodeURIComponent(id)}${rest}`;
  }

  /** The organization's members (up to the API's largest page). */
  members(organizationId: string): Promise<Page<Member>> {
    return this.request('GET', this.organizationPath(organizationId, '/members'), { query: { per_page: 200 } });
  }

  /** OWNER or ADMIN; granting or taking away OWNER takes an OWNER. */
  changeMemberRole(organizationId: string, userId: string, role: OrgRole): Promise<void> {
    return this.request('PATCH', this.organizationPath(organizationId, `/members/${encodeURIComponent(userId)}`), {
      body: { role },
    });
  }

  removeMember(organizationId: string, userId: string): Promise<void> {
    return this.request('DELETE', this.organizationPath(organizationId, `/members/${encodeURIComponent(userId)}`));
  }

  /** Leave the organization (its last OWNER cannot). */
  leaveOrganization(organizationId: string): Promise<void> {
    return this.request('POST', this.organizationPath(organizationId, '/leave'));
  }

  /** Pending invitations (OWNER or ADMIN). */
  invitations(organizationId: string): Promise<Invitation[]> {
    return this.request('GET', this.organizationPath(organizationId, '/invitations'));
  }

  /** Email an invitation; it replaces any pending one for the same address. */
  invite(organizationId: string, input: NewInvitation): Promise<Invitation> {
    return this.request('POST', this.organizationPath(organizationId, '/invitations'), { body: input });
  }

  revokeInvitation(organizationId: string, invitationId: string): Promise<void> {
    return this.request('DELETE', this.organizationPath(organizationId, `/invitations/${encodeURIComponent(invitationId)}`));
  }

  /** Accept an invitation (signed in with the invited address); answers the organization. */
  acceptInvitation(token: string): Promise<{ organization_id: string }> {
    return this.request('POST', `${PLATFORM}/foundation/organizations/invitations/accept`, { body: { token } });
  }

  // --- API keys ---------------------------------------------------------------------------

  /** The organization's keys, revoked ones included, without secrets (OWNER or ADMIN). */
  apiKeys(organizationId: string): Promise<ApiKey[]> {
    return this.request('GET', `${PLATFORM}/foundation/api-keys`, { query: { organization_id: organizationId } });
  }

  /** Create a key; its secret is in this answer only. */
  createApiKey(input: NewApiKey): Promise<CreatedApiKey> {
    return this.request('POST', `${PLATFORM}/foundation/api-keys`, { body: input });
  }

  revokeApiKey(id: string): Promise<void> {
    return this.request('DELETE', `${PLATFORM}/foundation/api-keys/${encodeURIComponent(id)}`);
  }

  // --- Platform files -------------------------------------------------------------------------

  private filePath(id = ''): string {
    return `${PLATFORM}/files${id ? `/${encodeURIComponent(id)}` : ''}`;
  }

  /** An organization's files, newest first, each with its links (MEMBER). */
  files(organizationId: string, filter: FileFilter = {}, paging: Paging = {}): Promise<Page<PlatformFile>> {
    return this.request('GET', this.filePath(), { query: { organization_id: organizationId, ...filter, ...paging } });
  }

  /** One file, with a fresh signed link. */
  file(id: string): Promise<PlatformFile> {
    return this.request('GET', this.filePath(id));
  }

  /** Upload a file (422 on `file` when its type, size or emptiness is refused; 402 over the storage quota). */
  uploadFile(organizationId: string, file: File, isPublic = false): Promise<PlatformFile> {
    const form = new FormData();
    form.append('organization_id', organizationId);
    form.append('public', String(isPublic));
    form.append('file', file, file.name);
    return this.request('POST', this.filePath(), { form });
  }

  /** Rename a file, or make it public or private. */
  updateFile(id: string, change: FileChange): Promise<PlatformFile> {
    return this.request('PATCH', this.filePath(id), { body: change });
  }

  /** Delete a file (its uploader, or an ADMIN; 403 otherwise). */
  deleteFile(id: string): Promise<void> {
    return this.request('DELETE', this.filePath(id));
  }

  // --- Organization verification ----------------------------------------------------------------

  private verificationPath(organizationId: string, rest = ''): string {
    return `${PLATFORM}/foundation/verification/${encodeURIComponent(organizationId)}${rest}`;
  }

  /** The organization's verification and its latest documents (OWNER or ADMIN). */
  verification(organizationId: string): Promise<Verification> {
    return this.request('GET', this.verificationPath(organizationId));
  }

  /**
   * Send the organization's documents: `kind`, `metadata` as a JSON part, a file part per
   * document kind (422 with `metadata.identity.country`, `identity`… fields; 409 while one
   * waits for review or once approved).
   */
  submitVerification(organizationId: string, submission: VerificationSubmission): Promise<Verification> {
    const form = new FormData();
    form.append('kind', submission.kind);
    form.append('metadata', JSON.stringify(submission.metadata));
    for (const [kind, file] of Object.entries(submission.documents)) {
      if (file) form.append(kind, file, file.name);
    }
    return this.request('POST', this.verificationPath(organizationId), { form });
  }

  /** A document's file, fetched with the access token (the organization's OWNER or ADMIN, or a platform administrator). */
  verificationDocument(organizationId: string, documentId: string): Promise<Blob> {
    return this.blob(this.verificationPath(organizationId, `/documents/${encodeURIComponent(documentId)}`), { accept: '*/*' });
  }

  // --- Billing ------------------------------------------------------------------------------

  /** The plans on offer. */
  plans(): Promise<Plan[]> {
    return this.request('GET', `${PLATFORM}/billing/plans`);
  }

  /** The organization's plan and period (OWNER or ADMIN). */
  billing(organizationId: string): Promise<BillingOverview> {
    return this.request('GET', `${PLATFORM}/billing/me`, { query: { organization_id: organizationId } });
  }

  /** The organization's metered usage per UTC day, oldest first, today included (OWNER or ADMIN). */
  billingUsage(organizationId: string, days = 30): Promise<UsageDay[]> {
    return this.request('GET', `${PLATFORM}/billing/usage`, { query: { organization_id: organizationId, days } });
  }

  /** Change plan; a paid one answers with the checkout to go to (409 when already on it). */
  subscribePlan(input: Subscribe): Promise<SubscribeResult> {
    return this.request('POST', `${PLATFORM}/billing/subscribe`, { body: input });
  }

  /** Stop the paid plan at the end of its period (409 when there is nothing to cancel). */
  cancelPlan(organizationId: string): Promise<BillingOverview> {
    return this.request('POST', `${PLATFORM}/billing/cancel`, { body: { organization_id: organizationId } });
  }

  payments(organizationId: string): Promise<Page<Payment>> {
    return this.request('GET', `${PLATFORM}/payments`, { query: { organization_id: organizationId, per_page: 20 } });
  }

  invoices(organizationId: string): Promise<Page<Invoice>> {
    return this.request('GET', `${PLATFORM}/billing/invoices`, { query: { organization_id: organizationId, per_page: 20 } });
  }

  /** An invoice's PDF, fetched with the access token (a problem on error). */
  invoicePdf(id: string): Promise<Blob> {
    return this.blob(`${PLATFORM}/billing/invoices/${encodeURIComponent(id)}/pdf`, { accept: 'application/pdf' });
  }

  /** The response of `path` as it is: sent like `request`, with one refresh on 401. */
  private async raw(method: string, path: string, options: RequestOptions): Promise<Response> {
    let response = await this.send(method, path, options);
    if (response.status === 401 && !options.anonymous && this.store.load() && (await this.refresh())) {
      response = await this.send(method, path, options);
    }
    if (!response.ok) return this.read<never>(response);
    return response;
  }

  /** A file the API answers (a PDF, a bundle), fetched with the access token (a problem on error). */
  private async blob(path: string, options: RequestOptions): Promise<Blob> {
    return (await this.raw('GET', path, options)).blob();
  }

  /** Refund a paid payment, in full (no amount) or in part (OWNER or ADMIN; 409 when it cannot be). */
  refundPayment(id: string, input: RefundRequest): Promise<Payment> {
    return this.request('POST', `${PLATFORM}/payments/${encodeURIComponent(id)}/refund`, { body: input });
  }

  /** Who the organization's invoices are made out to (OWNER or ADMIN). */
  billingProfile(organizationId: string): Promise<BillingProfile> {
    return this.request('GET', `${PLATFORM}/billing/profile`, { query: { organization_id: organizationId } });
  }

  /** Save it (422 on a country that is not two capitals, a bad VAT id or email). */
  saveBillingProfile(profile: BillingProfile): Promise<BillingProfile> {
    return this.request('PUT', `${PLATFORM}/billing/profile`, { body: profile });
  }

  /** The organization's saved cards (503 when Stripe is not configured). */
  savedCards(organizationId: string): Promise<SavedCard[]> {
    return this.request('GET', `${PLATFORM}/payments/methods`, { query: { organization_id: organizationId } });
  }

  /** Start saving a card: the browser then goes to `checkout_url`. */
  setupCard(input: CardSetup): Promise<{ checkout_url: string }> {
    return this.request('POST', `${PLATFORM}/payments/methods/setup`, { body: input });
  }

  /** Make a card the default one; answers the cards. */
  setDefaultCard(organizationId: string, id: string): Promise<SavedCard[]> {
    return this.request('POST', `${PLATFORM}/payments/methods/${encodeURIComponent(id)}/default`, {
      body: { organization_id: organizationId },
    });
  }

  removeCard(organizationId: string, id: string): Promise<void> {
    return this.request('DELETE', `${PLATFORM}/payments/methods/${encodeURIComponent(id)}`, {
      query: { organization_id: organizationId },
    });
  }

  // --- Marketplace --------------------------------------------------------------------------

  private marketplacePath(rest = ''): string {
    return `${PLATFORM}/marketplace${rest}`;
  }

  private marketplaceItemPath(id: string, rest = ''): string {
    return this.marketplacePath(`/items/${encodeURIComponent(id)}${rest}`);
  }

  /** Approved items matching the search. */
  marketplaceItems(search: MarketplaceSearch = {}, paging: Paging = {}): Promise<Page<MarketplaceItem>> {
    return this.request('GET', this.marketplacePath('/items'), { query: { ...search, ...paging } });
  }

  marketplaceItem(id: string): Promise<MarketplaceItem> {
    return this.request('GET', this.marketplaceItemPath(id));
  }

  /** Put an item on sale; it waits for an administrator's review (`pending`). */
  publishMarketplaceItem(input: NewMarketplaceItem): Promise<MarketplaceItem> {
    return this.request('POST', this.marketplacePath('/items'), { body: input });
  }

  /** Buy (or get, when free) an item for an organization; a paid one answers its checkout. */
  purchaseMarketplaceItem(id: string, input: PurchaseStart): Promise<PurchaseStarted> {
    return this.request('POST', this.marketplaceItemPath(id, '/purchase'), { body: input });
  }

  /** Copy an owned item into the organization: a new project (template) or component. */
  installMarketplaceItem(id: string, input: InstallRequest): Promise<Installed> {
    return this.request('POST', this.marketplaceItemPath(id, '/install'), { body: input });
  }

  marketplaceReviews(id: string, paging: Paging = {}): Promise<Page<MarketplaceReview>> {
    return this.request('GET', this.marketplaceItemPath(id, '/reviews'), { query: { ...paging } });
  }

  /** Review an owned item (403 when not owned, 409 when already reviewed). */
  reviewMarketplaceItem(id: string, input: NewMarketplaceReview): Promise<MarketplaceReview> {
    return this.request('POST', this.marketplaceItemPath(id, '/reviews'), { body: input });
  }

  /** The organization's items, sales and balance as a seller. */
  marketplaceSeller(organizationId: string): Promise<SellerOverview> {
    return this.request('GET', this.marketplacePath('/seller'), { query: { organization_id: organizationId } });
  }

  /** The organization's reusable components (Studio). */
  components(organizationId: string): Promise<StudioComponent[]> {
    return this.request('GET', `${PLATFORM}/studio/components`, { query: { organization_id: organizationId } });
  }

  component(id: string): Promise<StudioComponent> {
    return this.request('GET', `${PLATFORM}/studio/components/${encodeURIComponent(id)}`);
  }

  /** A new component of `input.organization_id` (422 names the field: `name`, `props_schema`, `/document/…`). */
  createComponent(input: NewComponent): Promise<StudioComponent> {
    return this.request('POST', `${PLATFORM}/studio/components`, { body: input });
  }

  updateComponent(id: string, input: ComponentUpdate): Promise<StudioComponent> {
    return this.request('PATCH', `${PLATFORM}/studio/components/${encodeURIComponent(id)}`, { body: input });
  }

  deleteComponent(id: string): Promise<void> {
    return this.request('DELETE', `${PLATFORM}/studio/components/${encodeURIComponent(id)}`);
  }

  // --- Assistant ----------------------------------------------------------------------------

  /** A page document from a prompt (503 when no AI provider is configured). */
  generatePage(projectId: string, prompt: string): Promise<GeneratedPage> {
    return this.request('POST', `${PLATFORM}/assistant/generate/page`, { body: { project_id: projectId, prompt } });
  }

  /**
   * Chat about a project: the answer streams as server-sent events (`delta`, then `done` or
   * `error`); the body's reader is answered once the server accepted the question (503 when no
   * AI provider is configured, as a thrown `ApiError`).
   */
  async chat(projectId: string, messages: ChatMessage[], signal?: AbortSignal): Promise<ReadableStreamDefaultReader<Uint8Array>> {
    const response = await this.raw('POST', `${PLATFORM}/assistant/chat`, {
      body: { project_id: projectId, messages },
      accept: 'text/event-stream',
      signal,
    });
    if (!response.body) throw new ApiError(response.status, 'the answer has no body');
    return response.body.getReader();
  }

  // --- Exports ------------------------------------------------------------------------------

  /** A project's exports, newest first. */
  exports(projectId: string): Promise<Export[]> {
    return this.request('GET', `${PLATFORM}/exports`, { query: { project_id: projectId } });
  }

  export(id: string): Promise<Export> {
    return this.request('GET', `${PLATFORM}/exports/${encodeURIComponent(id)}`);
  }

  /** Ask for an export: queued at once (202), made by the job queue; counted against the plan. */
  createExport(input: NewExport): Promise<Export> {
    return this.request('POST', `${PLATFORM}/exports`, { body: input });
  }

  // --- Workflows ----------------------------------------------------------------------------

  private workflowsPath(rest = ''): string {
    return `${PLATFORM}/automation/workflows${rest}`;
  }

  /** A project's workflows, oldest first. */
  workflows(projectId: string): Promise<Page<Workflow>> {
    return this.request('GET', this.workflowsPath(), { query: { project_id: projectId, per_page: 200 } });
  }

  workflow(id: string): Promise<Workflow> {
    return this.request('GET', this.workflowsPath(`/${encodeURIComponent(id)}`));
  }

  /** Create a workflow; its definition is checked against the workflow schema (422 with paths). */
  createWorkflow(input: WorkflowInput): Promise<Workflow> {
    return this.request('POST', this.workflowsPath(), { body: input });
  }

  /** Change a workflow; a new definition adds a version. */
  updateWorkflow(id: string, input: WorkflowInput): Promise<Workflow> {
    return this.request('PATCH', this.workflowsPath(`/${encodeURIComponent(id)}`), { body: input });
  }

  /** Delete a workflow with its versions and executions. */
  deleteWorkflow(id: string): Promise<void> {
    return this.request('DELETE', this.workflowsPath(`/${encodeURIComponent(id)}`));
  }

  /** Run a workflow now; `input` is what its steps see as `input`. */
  executeWorkflow(id: string, input: Record<string, unknown> = {}): Promise<Execution> {
    return this.request('POST', this.workflowsPath(`/${encodeURIComponent(id)}/execute`), { body: { input } });
  }

  /** A workflow's executions, newest first. */
  executions(workflowId: string, paging: Paging = {}): Promise<Page<Execution>> {
    return this.request('GET', this.workflowsPath(`/${encodeURIComponent(workflowId)}/executions`), { query: { ...paging } });
  }

  /** One execution with every step attempt. */
  execution(id: string): Promise<ExecutionDetail> {
    return this.request('GET', `${PLATFORM}/automation/executions/${encodeURIComponent(id)}`);
  }

  /** Stop a queued, running or waiting execution (409 once finished). */
  cancelExecution(id: string): Promise<Execution> {
    return this.request('POST', `${PLATFORM}/automation/executions/${encodeURIComponent(id)}/cancel`);
  }

  /** Resume a failed execution at its failed step (409 when it did not fail). */
  retryExecution(id: string): Promise<Execution> {
    return this.request('POST', `${PLATFORM}/automation/executions/${encodeURIComponent(id)}/retry`);
  }

  /** Run the workflow again from the start with this execution's trigger and input: a new execution. */
  rerunExecution(id: string): Promise<Execution> {
    return this.request('POST', `${PLATFORM}/automation/executions/${encodeURIComponent(id)}/rerun`);
  }

  /** A workflow's saved definitions, newest first. */
  workflowVersions(id: string): Promise<WorkflowVersion[]> {
    return this.request('GET', this.workflowsPath(`/${encodeURIComponent(id)}/versions`));
  }

  private secretsPath(projectId: string, name?: string): string {
    const rest = name === undefined ? '' : `/${encodeURIComponent(name)}`;
    return `${PLATFORM}/automation/projects/${encodeURIComponent(projectId)}/secrets${rest}`;
  }

  /** A project's workflow secrets, names only (the organization's OWNERs and ADMINs; 403 otherwise). */
  secrets(projectId: string): Promise<SecretInfo[]> {
    return this.request('GET', this.secretsPath(projectId));
  }

  /** Set or replace a secret (422 on `name` or `value`); its value is stored encrypted and never returned. */
  putSecret(projectId: string, name: string, value: string): Promise<SecretInfo> {
    return this.request('PUT', this.secretsPath(projectId, name), { body: { value } });
  }

  deleteSecret(projectId: string, name: string): Promise<void> {
    return this.request('DELETE', this.secretsPath(projectId, name));
  }

  /** The JSON Schema of workflow definitions: the triggers and steps and their settings. */
  workflowSchema(): Promise<unknown> {
    return this.request('GET', `${PLATFORM}/automation/schema/workflow.json`, { anonymous: true });
  }

  // --- Platform administration (role `admin`; others get 403) -------------------------------

  private adminPath(rest: string): string {
    return `${PLATFORM}/admin${rest}`;
  }

  private adminUserPath(id: string, rest = ''): string {
    return this.adminPath(`/users/${encodeURIComponent(id)}${rest}`);
  }

  /** Accounts, newest first; without a status filter, the deleted ones are left out. */
  adminUsers(filter: UserFilter = {}, paging: Paging = {}): Promise<Page<AdminUser>> {
    return this.request('GET', this.adminPath('/users'), { query: { ...filter, ...paging } });
  }

  adminUserStats(): Promise<UserStats> {
    return this.request('GET', this.adminPath('/users/stats'));
  }

  adminUser(id: string): Promise<AdminUser> {
    return this.request('GET', this.adminUserPath(id));
  }

  adminUpdateUser(id: string, update: AdminUserUpdate): Promise<AdminUser> {
    return this.request('PATCH', this.adminUserPath(id), { body: update });
  }

  /** Erase (anonymize) an account; not one's own. */
  adminDeleteUser(id: string): Promise<void> {
    return this.request('DELETE', this.adminUserPath(id));
  }

  adminSetUserRole(id: string, role: PlatformRole): Promise<AdminUser> {
    return this.request('PUT', this.adminUserPath(id, '/role'), { body: { role } });
  }

  /** Deactivating signs the account out everywhere; activating also unlocks it. */
  adminSetUserStatus(id: string, status: SettableStatus): Promise<AdminUser> {
    return this.request('PUT', this.adminUserPath(id, '/status'), { body: { status } });
  }

  /** An account's open sessions, most recently used first. */
  adminUserSessions(id: string): Promise<AdminSession[]> {
    return this.request('GET', this.adminUserPath(id, '/sessions'));
  }

  /** Sign one device of an account out (404 when it is not an open session of the account). */
  adminRevokeUserSession(id: string, sessionId: string): Promise<void> {
    return this.request('DELETE', this.adminUserPath(id, `/sessions/${encodeURIComponent(sessionId)}`));
  }

  /** Sign every device of an account out. */
  adminRevokeUserSessions(id: string): Promise<RevokedSessions> {
    return this.request('POST', this.adminUserPath(id, '/sessions/revoke-all'));
  }

  /** Every organization, newest first, with its member count and first owner. */
  adminOrganizations(filter: AdminOrganizationFilter = {}, paging: Paging = {}): Promise<Page<AdminOrganization>> {
    return this.request('GET', this.adminPath('/organizations'), { query: { ...filter, ...paging } });
  }

  /** Every project, most recently changed first, with its page count. */
  adminProjects(filter: AdminProjectFilter = {}, paging: Paging = {}): Promise<Page<AdminProject>> {
    return this.request('GET', this.adminPath('/projects'), { query: { ...filter, ...paging } });
  }

  /** Every app, most recently changed first, with its deployments. */
  adminApps(filter: AdminAppFilter = {}, paging: Paging = {}): Promise<Page<AdminApp>> {
    return this.request('GET', this.adminPath('/apps'), { query: { ...filter, ...paging } });
  }

  /** Every page editing session on the platform, newest first. */
  adminReplays(filter: AdminReplayFilter = {}, paging: Paging = {}): Promise<Page<AdminReplay>> {
    return this.request('GET', this.adminPath('/collab/replays'), { query: { ...filter, ...paging } });
  }

  /** Delete a session's replay: the history up to its end is folded into the page's base (the page does not change). */
  adminDeleteReplay(id: string): Promise<void> {
    return this.request('DELETE', this.adminPath(`/collab/replays/${encodeURIComponent(id)}`));
  }

  /** Requests and jobs per hour (24h) or per day (7d, 30d), oldest first. */
  adminActivity(range: ActivityRange = '24h'): Promise<Activity> {
    return this.request('GET', this.adminPath('/activity'), { query: { range } });
  }

  /** Every invoice and credit note, newest first. */
  adminInvoices(filter: AdminInvoiceFilter = {}, paging: Paging = {}): Promise<Page<Invoice>> {
    return this.request('GET', this.adminPath('/billing/invoices'), { query: { ...filter, ...paging } });
  }

  /** `issued → paid` or `issued → void` (409 otherwise: a paid invoice cannot be voided). */
  adminSetInvoiceStatus(id: string, status: Exclude<InvoiceStatus, 'issued'>): Promise<Invoice> {
    return this.request('PUT', this.adminPath(`/billing/invoices/${encodeURIComponent(id)}/status`), { body: { status } });
  }

  /** Email the invoice to its buyer again (202). */
  async adminResendInvoice(id: string): Promise<void> {
    await this.request('POST', this.adminPath(`/billing/invoices/${encodeURIComponent(id)}/resend`), { body: {} });
  }

  /** Revenue per month and currency, oldest first; `test`: the sandbox's documents instead of real sales. */
  revenue(months: number, test = false): Promise<RevenueMonth[]> {
    return this.request('GET', this.adminPath('/billing/revenue'), { query: { months, test } });
  }

  /** The same as CSV, a column per plan. */
  async revenueCsv(months: number, test = false): Promise<string> {
    const body = await this.request<unknown>('GET', this.adminPath('/billing/revenue'), {
      query: { months, test, format: 'csv' },
      accept: 'text/csv',
    });
    return typeof body === 'string' ? body : JSON.stringify(body);
  }

  /** The audit log, newest first. */
  auditLog(filter: AuditFilter = {}, paging: Paging = {}): Promise<Page<AuditRecord>> {
    return this.request('GET', this.adminPath('/audit'), { query: { ...filter, ...paging } });
  }

  auditStats(filter: AuditFilter = {}): Promise<AuditStats> {
    return this.request('GET', this.adminPath('/audit/stats'), { query: { ...filter } });
  }

  /** The filtered entries as CSV (at most 100,000 rows); the export is itself audited. */
  async auditExportCsv(filter: AuditFilter = {}): Promise<string> {
    const body = await this.request<unknown>('GET', this.adminPath('/audit/export'), { query: { ...filter, format: 'csv' } });
    return typeof body === 'string' ? body : JSON.stringify(body);
  }

  jobQueues(): Promise<QueueCounts[]> {
    return this.request('GET', this.adminPath('/jobs/queues'));
  }

  /** Jobs, newest first. */
  jobs(filter: JobFilter = {}, paging: Paging = {}): Promise<Page<JobSummary>> {
    return this.request('GET', this.adminPath('/jobs'), { query: { ...filter, ...paging } });
  }

  job(id: string): Promise<JobDetail> {
    return this.request('GET', this.adminPath(`/jobs/${encodeURIComponent(id)}`));
  }

  /** Run a failed, dead or discarded job again (409 otherwise). */
  retryJob(id: string): Promise<JobDetail> {
    return this.request('POST', this.adminPath(`/jobs/${encodeURIComponent(id)}/retry`));
  }

  /** Give up on a job that has not succeeded (409 otherwise). */
  discardJob(id: string): Promise<JobDetail> {
    return this.request('POST', this.adminPath(`/jobs/${encodeURIComponent(id)}/discard`));
  }

  emails(status: EmailStatus | '' = '', paging: Paging = {}): Promise<Page<EmailView>> {
    return this.request('GET', this.adminPath('/emails'), { query: { status, ...paging } });
  }

  private templatePath(key: string, rest = ''): string {
    return this.adminPath(`/email-templates/${encodeURIComponent(key)}${rest}`);
  }

  emailTemplates(): Promise<EmailTemplate[]> {
    return this.request('GET', this.adminPath('/email-templates'));
  }

  emailTemplate(key: string): Promise<EmailTemplate> {
    return this.request('GET', this.templatePath(key));
  }

  /** Replace a template; refused (422) when it does not compile or render. */
  saveEmailTemplate(key: string, input: TemplateInput): Promise<EmailTemplate> {
    return this.request('PUT', this.templatePath(key), { body: input });
  }

  /** Restore the shipped template. */
  resetEmailTemplate(key: string): Promise<EmailTemplate> {
    return this.request('DELETE', this.templatePath(key));
  }

  /** Render the saved template with the given values (sample ones when none). */
  previewEmailTemplate(key: string, variables?: Record<string, unknown>): Promise<RenderedEmail> {
    return this.request('POST', this.templatePath(key, '/preview'), { body: variables ? { variables } : {} });
  }

  /** Notify one user (at once), everyone with a platform role, or everyone (by a queued job); 202. */
  adminNotify(input: AdminNotification): Promise<NotifyResult> {
    return this.request('POST', this.adminPath('/notifications'), { body: input });
  }

  /** What administrators sent, newest first (`recipients` is null while a fan-out runs). */
  adminSentNotifications(paging: Paging = {}): Promise<Page<SentNotification>> {
    return this.request('GET', this.adminPath('/notifications'), { query: { ...paging } });
  }

  /** The marketplace's items with a status, oldest first (the review queue: `pending`). */
  adminMarketplaceItems(status: MarketplaceStatus): Promise<MarketplaceItem[]> {
    return this.request('GET', this.adminPath('/marketplace/items'), { query: { status } });
  }

  adminApproveItem(id: string): Promise<MarketplaceItem> {
    return this.request('POST', this.adminPath(`/marketplace/items/${encodeURIComponent(id)}/approve`), { body: {} });
  }

  /** Refuse an item; the reason (required) is shown to its seller. */
  adminRejectItem(id: string, reason: string): Promise<MarketplaceItem> {
    return this.request('POST', this.adminPath(`/marketplace/items/${encodeURIComponent(id)}/reject`), { body: { reason } });
  }

  /** Verifications to review, oldest submission first (`pending`: first submissions and resubmissions). */
  adminVerifications(status: Exclude<VerificationStatus, 'unverified'> | '' = 'pending', paging: Paging = {}): Promise<Page<QueuedVerification>> {
    return this.request('GET', this.adminPath('/verifications'), { query: { status, ...paging } });
  }

  adminVerification(organizationId: string): Promise<Verification> {
    return this.request('GET', this.adminPath(`/verifications/${encodeURIComponent(organizationId)}`));
  }

  /** Approve, or reject with a reason (409 when it no longer waits for review). */
  adminDecideVerification(organizationId: string, decision: VerificationDecision): Promise<Verification> {
    return this.request('POST', this.adminPath(`/verifications/${encodeURIComponent(organizationId)}/decision`), { body: decision });
  }

  // --- Projects ---------------------------------------------------------------------------

  projects(organizationId: string, search?: string): Promise<Page<Project>> {
    return this.request('GET', `${PLATFORM}/studio/projects`, {
      query: { organization_id: organizationId, search, per_page: 100 },
    });
  }

  /** The organization's trash: deleted projects that can still be restored, most recently deleted first. */
  deletedProjects(organizationId: string): Promise<Page<Project>> {
    return this.request('GET', `${PLATFORM}/studio/projects`, {
      query: { organization_id: organizationId, deleted: true, per_page: 100 },
    });
  }

  project(id: string): Promise<Project> {
    return this.request('GET', `${PLATFORM}/studio/projects/${encodeURIComponent(id)}`);
  }

  /** Move a project to the trash (restorable for 30 days); its share links stop working. */
  deleteProject(id: string): Promise<void> {
    return this.request('DELETE', this.projectPath(id));
  }

  /** Take a project out of the trash (409 once its 30 days are over; 402 over the plan's projects). */
  restoreProject(id: string): Promise<Project> {
    return this.request('POST', this.projectPath(id, '/restore'));
  }

  /** A copy named “… (copy)”: pages, collections and their tables, without records (402 over the plan's projects). */
  duplicateProject(id: string): Promise<Project> {
    return this.request('POST', this.projectPath(id, '/duplicate'));
  }

  createProject(input: NewProject): Promise<Project> {
    return this.request('POST', `${PLATFORM}/studio/projects`, { body: input });
  }

  private projectPath(id: string, rest = ''): string {
    return `${PLATFORM}/studio/projects/${encodeURIComponent(id)}${rest}`;
  }

  /** The project's share links, revoked ones included. */
  shareLinks(projectId: string): Promise<ShareLink[]> {
    return this.request('GET', this.projectPath(projectId, '/share-links'));
  }

  /** A read-only preview link of the pages; its token is in this answer only. */
  createShareLink(projectId: string, input: NewShareLink): Promise<CreatedShareLink> {
    return this.request('POST', this.projectPath(projectId, '/share-links'), { body: input });
  }

  revokeShareLink(projectId: string, linkId: string): Promise<void> {
    return this.request('DELETE', this.projectPath(projectId, `/share-links/${encodeURIComponent(linkId)}`));
  }

  /** The project as a gzip-compressed JSON bundle (to import elsewhere). */
  projectBundle(projectId: string, options: BundleOptions = {}): Promise<Blob> {
    return this.blob(this.projectPath(projectId, '/export'), {
      accept: 'application/gzip',
      query: { versions: options.versions || undefined, records: options.records || undefined },
    });
  }

  /** A new project in the organization from a bundle (gzip or JSON); nothing is created if any part is invalid. */
  importProject(organizationId: string, bundle: Blob): Promise<Project> {
    return this.request('POST', `${PLATFORM}/studio/projects/import`, {
      query: { organization_id: organizationId },
      raw: bundle,
    });
  }

  // --- Collections ------------------------------------------------------------------------

  private collectionsPath(projectId: string): string {
    return `${PLATFORM}/studio/projects/${encodeURIComponent(projectId)}/collections`;
  }

  collections(projectId: string): Promise<Collection[]> {
    return this.request('GET', this.collectionsPath(projectId));
  }

  collection(projectId: string, name: string): Promise<Collection> {
    return this.request('GET', `${this.collectionsPath(projectId)}/${encodeURIComponent(name)}`);
  }

  createCollection(projectId: string, input: NewCollection): Promise<Collection> {
    return this.request('POST', this.collectionsPath(projectId), { body: input });
  }

  updateCollection(projectId: string, name: string, input: NewCollection): Promise<Collection> {
    return this.request('PATCH', `${this.collectionsPath(projectId)}/${encodeURIComponent(name)}`, { body: input });
  }

  deleteCollection(projectId: string, name: string): Promise<void> {
    return this.request('DELETE', `${this.collectionsPath(projectId)}/${encodeURIComponent(name)}`);
  }

  /** Every schema change applied to the project's collections, oldest first. */
  schemaMigrations(projectId: string): Promise<SchemaMigration[]> {
    return this.request('GET', `${this.collectionsPath(projectId)}/migrations`);
  }

  // --- Pages -------------------------------------------------------------------------------

  private pagesPath(projectId: string): string {
    return `${PLATFORM}/studio/projects/${encodeURIComponent(projectId)}/pages`;
  }

  pages(projectId: string): Promise<StudioPage[]> {
    return this.request('GET', this.pagesPath(projectId));
  }

  page(projectId: string, pageId: string): Promise<StudioPage> {
    return this.request('GET', `${this.pagesPath(projectId)}/${encodeURIComponent(pageId)}`);
  }

  createPage(projectId: string, input: PageInput): Promise<StudioPage> {
    return this.request('POST', this.pagesPath(projectId), { body: input });
  }

  updatePage(projectId: string, pageId: string, input: PageInput): Promise<StudioPage> {
    return this.request('PATCH', `${this.pagesPath(projectId)}/${encodeURIComponent(pageId)}`, { body: input });
  }

  deletePage(projectId: string, pageId: string): Promise<void> {
    return this.request('DELETE', `${this.pagesPath(projectId)}/${encodeURIComponent(pageId)}`);
  }

  /** The page's saved versions, newest first. */
  pageVersions(projectId: string, pageId: string): Promise<PageVersion[]> {
    return this.request('GET', `${this.pagesPath(projectId)}/${encodeURIComponent(pageId)}/versions`);
  }

  /** One saved version of the page, with its document. */
  pageVersion(projectId: string, pageId: string, version: number): Promise<PageVersionDetail> {
    return this.request('GET', `${this.pagesPath(projectId)}/${encodeURIComponent(pageId)}/versions/${version}`);
  }

  /** Make an old version current again (saved as a new version; live editors see it). */
  restorePageVersion(projectId: string, pageId: string, version: number): Promise<StudioPage> {
    return this.request('POST', `${this.pagesPath(projectId)}/${encodeURIComponent(pageId)}/versions/${version}/restore`);
  }

  // --- A page's live editing history (Collab) ----------------------------------------------

  private collabPagePath(pageId: string, rest = ''): string {
    return `${PLATFORM}/collab/pages/${encodeURIComponent(pageId)}${rest}`;
  }

  /** The page's editing sessions, newest first (`with_changes`: only those that changed the page). */
  pageReplays(pageId: string, paging: Paging = {}, filter: { with_changes?: boolean } = {}): Promise<Page<Replay>> {
    return this.request('GET', this.collabPagePath(pageId, '/replays'), { query: { ...filter, ...paging } });
  }

  /** One editing session with the page just before it (`base`) and its changes (Yjs updates, base64), in order. */
  pageReplay(pageId: string, replayId: string): Promise<ReplayDetail> {
    return this.request('GET', this.collabPagePath(pageId, `/replays/${encodeURIComponent(replayId)}`));
  }

  /** The page's whole kept history (its base state, every session and change) as gzip-compressed JSON. */
  pageHistory(pageId: string): Promise<Blob> {
    return this.blob(this.collabPagePath(pageId, '/history'), { accept: 'application/gzip' });
  }

  /** The page document as it was at `time` (RFC 3339; 422 on `time` before the kept history). */
  pageAt(pageId: string, time: string): Promise<DocumentAt> {
    return this.request('GET', this.collabPagePath(pageId, '/at'), { query: { time } });
  }

  /** Return the live page to how it was at `time`, as a new change (live editors see it); the document now. */
  restorePageAt(pageId: string, time: string): Promise<Record<string, unknown>> {
    return this.request('POST', this.collabPagePath(pageId, '/restore'), { body: { time } });
  }

  /** The JSON Schema of page documents: the component types and their props. */
  pageSchema(): Promise<unknown> {
    return this.request('GET', `${PLATFORM}/studio/schema/page.json`, { anonymous: true });
  }

  // --- Apps -------------------------------------------------------------------------------

  apps(organizationId: string): Promise<App[]> {
    return this.request('GET', `${PLATFORM}/runtime/apps`, { query: { organization_id: organizationId } });
  }

  app(id: string): Promise<App> {
    return this.request('GET', `${PLATFORM}/runtime/apps/${encodeURIComponent(id)}`);
  }

  createApp(input: NewApp): Promise<App> {
    return this.request('POST', `${PLATFORM}/runtime/apps`, { body: input });
  }

  deploy(appId: string, force = false): Promise<Deployment> {
    return this.request('POST', `${PLATFORM}/runtime/apps/${encodeURIComponent(appId)}/deploy`, { body: { force } });
  }

  deployments(appId: string): Promise<Deployment[]> {
    return this.request('GET', `${PLATFORM}/runtime/apps/${encodeURIComponent(appId)}/deployments`);
  }

  // --- Records of an app (PocketBase dialect) -----------------------------------------------

  private recordsPath(slug: string, collection: string): string {
    return `/apps/${encodeURIComponent(slug)}/api/collections/${encodeURIComponent(collection)}/records`;
  }

  /** `expand`: relation fields whose records come along in each item's `expand` (`author,tags`). */
  records(
    slug: string,
    collection: string,
    options: { page?: number; perPage?: number; filter?: string; sort?: string; expand?: string } = {},
  ): Promise<RecordList> {
    return this.request('GET', this.recordsPath(slug, collection), { query: options });
  }

  /** A short-lived token (two minutes) for the files of protected file fields (`?token=`). */
  fileToken(slug: string): Promise<{ token: string }> {
    return this.request('POST', `/apps/${encodeURIComponent(slug)}/api/files/token`);
  }

  /** With files, the values go as PocketBase's SDK sends them: `@jsonPayload` and a part per file. */
  createRecord(slug: string, collection: string, values: Record<string, unknown>, files: FileInputs = {}): Promise<RecordModel> {
    return this.request('POST', this.recordsPath(slug, collection), recordPayload(values, files));
  }

  updateRecord(
    slug: string,
    collection: string,
    id: string,
    values: Record<string, unknown>,
    files: FileInputs = {},
  ): Promise<RecordModel> {
    const path = `${this.recordsPath(slug, collection)}/${encodeURIComponent(id)}`;
    return this.request('PATCH', path, recordPayload(values, files));
  }

  /** Set the topics of an app's realtime client (`collection/*`, `collection/ID`). */
  subscribe(slug: string, clientId: string, topics: string[]): Promise<void> {
    return this.request('POST', `/apps/${encodeURIComponent(slug)}/api/realtime`, {
      body: { clientId, subscriptions: topics },
    });
  }

  deleteRecord(slug: string, collection: string, id: string): Promise<void> {
    return this.request('DELETE', `${this.recordsPath(slug, collection)}/${encodeURIComponent(id)}`);
  }
}
