-- The firm's clients, one row per client account. Both views run with the
-- privileges of whoever queries them (security_invoker), so the row-level
-- security and column privileges `qdp access apply` puts on
-- silver.client_accounts decide what each reader sees: a service team sees
-- only its own clients, and only roles holding the pii grant can read the
-- contact columns of gold.client_contact.
create or replace view gold.dim_client with (security_invoker = true) as
select client_code,
       client_name,
       country_code,
       service_team,
       credit_limit,
       credit_limit_unit,
       source_system_name,
       ingestion_time
from silver.client_accounts;

create or replace view gold.client_contact with (security_invoker = true) as
select client_code, service_team, contact_name, contact_email
from silver.client_accounts;
