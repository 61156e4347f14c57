// An organization's verification for people: where it stands, the documents each kind needs,
// the form's values and the submission sent from them, and where the server's field errors go.

import {
  IDENTITY_DOCUMENT_TYPES,
  type DocumentKind,
  type Verification,
  type VerificationDocument,
  type VerificationKind,
  type VerificationMetadata,
  type VerificationStatus,
  type VerificationSubmission,
} from '../../lib/types';

const STATUS_LABELS: Record<VerificationStatus, string> = {
  unverified: 'Not verified',
  pending: 'Waiting for review',
  resubmitted: 'Sent again, waiting for review',
  approved: 'Approved',
  rejected: 'Rejected',
};

/** `pending` → `Waiting for review`; an unknown status keeps its name. */
export function statusLabel(status: string): string {
  return (STATUS_LABELS as Record<string, string>)[status] ?? status;
}

/** The class of a status's badge. */
export function statusClass(status: string): string {
  switch (status) {
    case 'approved':
      return 'badge ok';
    case 'rejected':
      return 'badge failed';
    case 'pending':
    case 'resubmitted':
      return 'badge medium';
    default:
      return 'badge';
  }
}

/** Whether documents can be sent now: never sent, or rejected (not while waiting, not once approved). */
export function canSubmit(status: string): boolean {
  return status === 'unverified' || status === 'rejected';
}

/** Whether administrators can decide now. */
export function awaitsReview(status: string): boolean {
  return status === 'pending' || status === 'resubmitted';
}

export const KIND_LABELS: Record<VerificationKind, string> = {
  individual: 'An individual (KYC)',
  business: 'A business (KYB)',
};

export function kindLabel(kind: string): string {
  return (KIND_LABELS as Record<string, string>)[kind] ?? (kind || '—');
}

const DOCUMENT_LABELS: Record<DocumentKind, string> = {
  identity: 'Identity document',
  company_registration: 'Company registration',
  proof_of_address: 'Proof of address',
};

export function documentLabel(kind: string): string {
  return (DOCUMENT_LABELS as Record<string, string>)[kind] ?? kind;
}

/** The documents the form asks for, in order, and whether each is required. */
export function documentsFor(kind: VerificationKind): Array<{ kind: DocumentKind; required: boolean }> {
  return kind === 'business'
    ? [
        { kind: 'identity', required: true },
        { kind: 'company_registration', required: true },
        { kind: 'proof_of_address', required: false },
      ]
    : [
        { kind: 'identity', required: true },
        { kind: 'proof_of_address', required: true },
      ];
}

/** What each document says about itself, in the form's order. */
export const METADATA_KEYS: Record<DocumentKind, readonly string[]> = {
  identity: ['document_type', 'full_name', 'number', 'country', 'expires_on'],
  company_registration: ['company_name', 'registration_number', 'country'],
  proof_of_address: ['address', 'issued_on'],
};

const METADATA_LABELS: Record<string, string> = {
  document_type: 'Document type',
  full_name: 'Full name (as written on it)',
  number: 'Document number',
  country: 'Issuing country',
  expires_on: 'Expires on',
  company_name: 'Company name',
  registration_number: 'Registration number',
  address: 'Address',
  issued_on: 'Issued on',
};

export function metadataLabel(key: string): string {
  return METADATA_LABELS[key] ?? key;
}

const DOCUMENT_TYPE_LABELS: Record<string, string> = {
  passport: 'Passport',
  id_card: 'Identity card',
  driving_licence: 'Driving licence',
  residence_permit: 'Residence permit',
};

export const DOCUMENT_TYPE_OPTIONS = IDENTITY_DOCUMENT_TYPES.map((value) => ({ value, label: DOCUMENT_TYPE_LABELS[value] ?? value }));

/** A metadata value for people (`passport` → `Passport`). */
export function metadataValue(key: string, value: unknown): string {
  const text = typeof value === 'string' ? value : value === null || value === undefined ? '' : JSON.stringify(value);
  return key === 'document_type' ? (DOCUMENT_TYPE_LABELS[text] ?? text) : text;
}

/** A document's metadata as rows to show, in the form's order (unknown keys after). */
export function metadataRows(document: Pick<VerificationDocument, 'kind' | 'metadata'>): Array<{ key: string; label: string; value: string }> {
  const known = (METADATA_KEYS as Record<string, readonly string[]>)[document.kind] ?? [];
  const keys = [...known.filter((k) => k in document.metadata), ...Object.keys(document.metadata).filter((k) => !known.includes(k))];
  return keys.map((key) => ({ key, label: metadataLabel(key), value: metadataValue(key, document.metadata[key]) }));
}

/** The form's values: the kind, each document's metadata as text, and the chosen files. */
export interface VerificationForm {
  kind: VerificationKind;
  metadata: Record<DocumentKind, Record<string, string>>;
  files: Partial<Record<DocumentKind, File>>;
}

export function emptyVerificationForm(): VerificationForm {
  const metadata = {} as Record<DocumentKind, Record<string, string>>;
  for (const [kind, keys] of Object.entries(METADATA_KEYS) as Array<[DocumentKind, readonly string[]]>) {
    metadata[kind] = Object.fromEntries(keys.map((k) => [k, k === 'document_type' ? 'passport' : '']));
  }
  return { kind: 'individual', metadata, files: {} };
}

/** A form filled from a rejected submission: the kind and what each document said (files are chosen again). */
export function formFrom(verification: Pick<Verification, 'kind' | 'documents'>): VerificationForm {
  const form = emptyVerificationForm();
  if (verification.kind === 'individual' || verification.kind === 'business') form.kind = verification.kind;
  for (const document of verification.documents) {
    const keys = (METADATA_KEYS as Record<string, readonly string[]>)[document.kind];
    if (!keys) continue;
    const values = form.metadata[document.kind as DocumentKind];
    for (const key of keys) {
      const value = document.metadata[key];
      if (typeof value === 'string') values[key] = value;
    }
  }
  return form;
}

/**
 * The submission of the form: the documents of its kind that have a file, each with its
 * metadata trimmed (a country in capitals); a required document without a file is still
 * named in the metadata, so that the server says which file is missing.
 */
export function submissionFrom(form: VerificationForm): VerificationSubmission {
  const metadata: Record<string, Record<string, string>> = {};
  const documents: VerificationSubmission['documents'] = {};
  for (const { kind, required } of documentsFor(form.kind)) {
    const file = form.files[kind];
    if (!file && !required) continue;
    const values: Record<string, string> = {};
    for (const key of METADATA_KEYS[kind]) {
      const value = (form.metadata[kind][key] ?? '').trim();
      values[key] = key === 'country' ? value.toUpperCase() : value;
    }
    metadata[kind] = values;
    if (file) documents[kind] = file;
  }
  return { kind: form.kind, metadata: metadata as VerificationMetadata, documents };
}

/** The input id of a document's metadata key (`verification-identity-country`), or of its file (no key). */
export function inputId(kind: DocumentKind, key?: string): string {
  const dashed = (text: string) => text.replaceAll('_', '-');
  return `verification-${dashed(kind)}-${key ? dashed(key) : 'file'}`;
}

/** The server's field of a document's metadata key (`metadata.identity.country`), or of its file. */
export function serverField(kind: DocumentKind, key?: string): string {
  return key ? `metadata.${kind}.${key}` : kind;
}

/** Whether the form shows a server field next to an input (for the kind chosen). */
export function isShown(kind: VerificationKind, field: string): boolean {
  if (field === 'kind') return true;
  return documentsFor(kind).some(
    (d) => field === serverField(d.kind) || field === `metadata.${d.kind}` || METADATA_KEYS[d.kind].some((k) => field === serverField(d.kind, k)),
  );
}

/** `2031-01-01` for a date input's `min` (tomorrow, local) or `max` (today). */
export function dayOf(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
