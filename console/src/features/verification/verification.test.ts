import { describe, expect, it } from 'vitest';
import type { Verification } from '../../lib/types';
import {
  awaitsReview,
  canSubmit,
  documentsFor,
  emptyVerificationForm,
  formFrom,
  inputId,
  isShown,
  metadataRows,
  serverField,
  statusClass,
  statusLabel,
  submissionFrom,
} from './verification';

const file = (name: string) => new File(['x'], name);

describe('verification', () => {
  it('says where a verification stands and what can be done', () => {
    expect(statusLabel('pending')).toBe('Waiting for review');
    expect(statusLabel('approved')).toBe('Approved');
    expect(statusClass('rejected')).toBe('badge failed');
    expect(statusClass('resubmitted')).toBe('badge medium');
    expect(canSubmit('unverified')).toBe(true);
    expect(canSubmit('rejected')).toBe(true);
    expect(canSubmit('pending')).toBe(false);
    expect(canSubmit('approved')).toBe(false);
    expect(awaitsReview('resubmitted')).toBe(true);
    expect(awaitsReview('rejected')).toBe(false);
  });

  it('asks for the documents of each kind', () => {
    expect(documentsFor('individual')).toEqual([
      { kind: 'identity', required: true },
      { kind: 'proof_of_address', required: true },
    ]);
    expect(documentsFor('business').map((d) => `${d.kind}:${d.required}`)).toEqual([
      'identity:true',
      'company_registration:true',
      'proof_of_address:false',
    ]);
  });

  it('sends the documents chosen with their metadata, trimmed', () => {
    const form = emptyVerificationForm();
    form.metadata.identity = { document_type: 'passport', full_name: ' Ada Lovelace ', number: 'X1', country: 'fr', expires_on: '2031-01-01' };
    form.metadata.proof_of_address = { address: '1 rue de la Paix', issued_on: '2025-01-01' };
    const identity = file('id.png');
    form.files.identity = identity;
    const sent = submissionFrom(form);
    expect(sent.kind).toBe('individual');
    expect(sent.documents).toEqual({ identity });
    expect(sent.metadata.identity).toEqual({ document_type: 'passport', full_name: 'Ada Lovelace', number: 'X1', country: 'FR', expires_on: '2031-01-01' });
    // A required document without its file still goes in the metadata: the server names the missing file.
    expect(sent.metadata.proof_of_address).toEqual({ address: '1 rue de la Paix', issued_on: '2025-01-01' });
    expect(sent.metadata.company_registration).toBeUndefined();
  });

  it('leaves out an optional document without a file', () => {
    const form = emptyVerificationForm();
    form.kind = 'business';
    form.files.identity = file('id.pdf');
    form.files.company_registration = file('kbis.pdf');
    const sent = submissionFrom(form);
    expect(Object.keys(sent.metadata).sort()).toEqual(['company_registration', 'identity']);
    form.files.proof_of_address = file('bill.pdf');
    expect(Object.keys(submissionFrom(form).documents).sort()).toEqual(['company_registration', 'identity', 'proof_of_address']);
  });

  it('fills the form again from a rejected submission', () => {
    const rejected: Pick<Verification, 'kind' | 'documents'> = {
      kind: 'business',
      documents: [
        { id: 'd1', kind: 'company_registration', name: 'kbis.pdf', mime: 'application/pdf', size: 9, created_at: '', metadata: { company_name: 'Acme', registration_number: 'R1', country: 'FR' } },
      ],
    };
    const form = formFrom(rejected);
    expect(form.kind).toBe('business');
    expect(form.metadata.company_registration).toEqual({ company_name: 'Acme', registration_number: 'R1', country: 'FR' });
    expect(form.metadata.identity.document_type).toBe('passport');
    expect(form.files).toEqual({});
  });

  it('places the server field errors next to their inputs', () => {
    expect(inputId('identity', 'expires_on')).toBe('verification-identity-expires-on');
    expect(inputId('proof_of_address')).toBe('verification-proof-of-address-file');
    expect(inputId('proof_of_address', 'issued_on')).toBe('verification-proof-of-address-issued-on');
    expect(serverField('identity', 'country')).toBe('metadata.identity.country');
    expect(serverField('company_registration')).toBe('company_registration');
    expect(isShown('individual', 'metadata.identity.country')).toBe(true);
    expect(isShown('individual', 'identity')).toBe(true);
    expect(isShown('individual', 'kind')).toBe(true);
    expect(isShown('individual', 'company_registration')).toBe(false);
    expect(isShown('business', 'metadata.company_registration.country')).toBe(true);
    expect(isShown('business', 'metadata')).toBe(false);
  });

  it("shows a document's metadata in the form's order", () => {
    const rows = metadataRows({ kind: 'identity', metadata: { country: 'FR', document_type: 'id_card', extra: 1 } });
    expect(rows).toEqual([
      { key: 'document_type', label: 'Document type', value: 'Identity card' },
      { key: 'country', label: 'Issuing country', value: 'FR' },
      { key: 'extra', label: 'extra', value: '1' },
    ]);
  });
});
