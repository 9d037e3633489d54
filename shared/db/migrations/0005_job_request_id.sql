-- The request id of the call that created a job, so the worker's log lines for the job carry it too
-- (shared/logs.py). Empty for jobs created before this column, or outside an RPC.

ALTER TABLE jobs ADD COLUMN request_id text NOT NULL DEFAULT '';
