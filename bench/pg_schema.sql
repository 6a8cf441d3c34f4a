-- The PostgreSQL reference of the benchmark (bench/README.md): the usage records as a team
-- would keep them in a plain table, loaded with COPY from bench/gen's CSV, charts by GROUP BY.
DROP TABLE IF EXISTS usage;
CREATE TABLE usage (
  id              text PRIMARY KEY,
  organization_id text NOT NULL,
  deployment_id   text NOT NULL,
  deployment_name text NOT NULL,
  dimension       text NOT NULL,
  kind            text,
  instance_count  integer,
  sku             text,
  name            text,
  start_at        timestamptz NOT NULL,
  end_at          timestamptz NOT NULL,
  quantity        numeric NOT NULL,
  unit            text,
  rate            numeric NOT NULL,
  cost            numeric NOT NULL,
  trial           boolean NOT NULL
);
CREATE INDEX usage_org_start ON usage (organization_id, start_at);
