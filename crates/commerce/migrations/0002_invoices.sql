-- Invoices and credit notes; `pdf` is the document, base64, once the queue made it.
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    event_id TEXT NOT NULL UNIQUE,
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal BIGINT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    vat_amount BIGINT NOT NULL,
    total BIGINT NOT NULL,
    seller TEXT NOT NULL,
    buyer TEXT NOT NULL,
    lines TEXT NOT NULL,
    refers_to TEXT,
    issued_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP,
    pdf TEXT
);
CREATE INDEX invoices_org ON invoices (organization_id, issued_at);
CREATE INDEX invoices_payment ON invoices (payment_id);

-- One counter per document kind and year (`INV-2026`): moved in the transaction that
-- writes the document, so numbers have no gaps.
CREATE TABLE invoice_counters (
    counter TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
