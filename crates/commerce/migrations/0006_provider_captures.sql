-- The provider's id of the money actually taken (PayPal's capture), which refunds name.
ALTER TABLE payments ADD COLUMN provider_capture TEXT;
