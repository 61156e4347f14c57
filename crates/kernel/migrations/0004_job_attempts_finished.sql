-- The admin dashboard reads job attempts by the hour they finished.
CREATE INDEX job_attempts_finished ON job_attempts (finished_at);
