-- The buyer on an organization's invoices, and the country its VAT rate follows.
CREATE TABLE billing_profiles (
    organization_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    country TEXT NOT NULL,
    vat_id TEXT NOT NULL,
    email TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Why an invoice's VAT is what it is (a reverse charge), printed on it.
ALTER TABLE invoices ADD COLUMN vat_mention TEXT;
