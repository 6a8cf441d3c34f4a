#pragma once

// Every statement the adapter prepares, by name. Internal to src/store/postgres/.

#include "store/postgres/connection.hpp"

namespace costs::store::postgres::detail {

#define COSTS_USAGE_COLUMNS                                                                     \
  "id, organization_id, deployment_id, deployment_name, dimension, kind, instance_count, sku, " \
  "name, start_ns, end_ns, quantity, unit, rate, cost_nanos, trial, instance_type"

constexpr Statement kSelectOrganization{"costs_select_org", "SELECT name FROM organizations WHERE id = $1",
                                        "read an organization"};
constexpr Statement kInsertOrganization{
    "costs_insert_org", "INSERT INTO organizations (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    "insert an organization"};
constexpr Statement kListOrganizations{"costs_list_orgs", "SELECT id, name FROM organizations ORDER BY id",
                                       "list organizations"};
constexpr Statement kSelectOrganizations{
    "costs_select_orgs", "SELECT id FROM organizations WHERE id = ANY ($1::text[])", "check organizations"};
// Before kUpsertUser: a user whose password hash changes loses its sessions (a reset signs out).
constexpr Statement kEndSessionsOfRehashedUser{"costs_end_sessions_of_rehashed_user",
                                               "DELETE FROM sessions WHERE user_name = $1 AND EXISTS "
                                               "(SELECT 1 FROM users WHERE name = $1 AND password_hash <> $2)",
                                               "end the sessions of a user whose password changed"};
constexpr Statement kUpsertUser{"costs_upsert_user",
                                "INSERT INTO users (name, password_hash, is_admin) VALUES ($1, $2, $3) "
                                "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
                                "is_admin = excluded.is_admin",
                                "write a user"};
constexpr Statement kDeleteMemberships{"costs_delete_memberships", "DELETE FROM memberships WHERE user_name = $1",
                                       "replace memberships"};
constexpr Statement kInsertMemberships{"costs_insert_memberships",
                                       "INSERT INTO memberships (org_id, user_name) "
                                       "SELECT o, $1 FROM unnest($2::text[]) AS t (o) ORDER BY o "
                                       "ON CONFLICT DO NOTHING",
                                       "write memberships"};
constexpr Statement kSelectUser{"costs_select_user",
                                "SELECT password_hash, is_admin, "
                                "ARRAY(SELECT org_id FROM memberships WHERE user_name = $1 ORDER BY org_id) "
                                "FROM users WHERE name = $1",
                                "read a user"};
// The ids of the batch (first occurrences, sorted) that were not stored yet; inserting them
// claims them for this transaction.
constexpr Statement kClaimUsageIds{"costs_claim_usage_ids",
                                   "INSERT INTO usage_ids (id, organization_id, start_ns) "
                                   "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) "
                                   "ON CONFLICT (id) DO NOTHING RETURNING id",
                                   "claim usage ids"};
constexpr Statement kSelectStoredUsage{"costs_select_stored_usage",
                                       "SELECT u.id, u.organization_id, u.deployment_id, u.deployment_name, "
                                       "u.dimension, u.kind, u.instance_count, u.sku, u.name, u.start_ns, u.end_ns, "
                                       "u.quantity, u.unit, u.rate, u.cost_nanos, u.trial, u.instance_type "
                                       "FROM usage_ids i JOIN usage u ON u.organization_id = i.organization_id "
                                       "AND u.id = i.id AND u.start_ns = i.start_ns WHERE i.id = ANY ($1::text[])",
                                       "read stored usage"};
constexpr Statement kInsertUsage{
    "costs_insert_usage",
    "INSERT INTO usage (" COSTS_USAGE_COLUMNS
    ", span_class) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::text[], $7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], "
    "$14::text[], $15::bigint[], $16::boolean[], $17::text[], $18::smallint[])",
    "insert usage"};
#define COSTS_UPSERT_ROLLUP(table)                                                                           \
  "INSERT INTO " table                                                                                       \
  " AS r (org_id, period_start_ns, deployment_id, dimension, sku, kind, cost_nanos, trial_cost_nanos, "      \
  "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max) "               \
  "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], "          \
  "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[]) "   \
  "ON CONFLICT (org_id, period_start_ns, deployment_id, dimension, sku, kind) "                              \
  "DO UPDATE SET cost_nanos = r.cost_nanos + excluded.cost_nanos, "                                          \
  "trial_cost_nanos = r.trial_cost_nanos + excluded.trial_cost_nanos, "                                      \
  "quantity_milli = r.quantity_milli + excluded.quantity_milli, usage_ns = r.usage_ns + excluded.usage_ns, " \
  "max_instance_count = greatest(r.max_instance_count, excluded.max_instance_count), "                       \
  "rate_fingerprint_min = least(r.rate_fingerprint_min, excluded.rate_fingerprint_min), "                    \
  "rate_fingerprint_max = greatest(r.rate_fingerprint_max, excluded.rate_fingerprint_max)"
constexpr Statement kUpsertRollupHour{"costs_upsert_rollup_hour", COSTS_UPSERT_ROLLUP("rollup_hour"), "update rollups"};
constexpr Statement kUpsertRollupDay{"costs_upsert_rollup_day", COSTS_UPSERT_ROLLUP("rollup_day"), "update rollups"};
#undef COSTS_UPSERT_ROLLUP
constexpr Statement kUpsertItems{
    "costs_upsert_items",
    "INSERT INTO items AS i (org_id, deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::text[], $9::bigint[]) ON CONFLICT (org_id, deployment_id, dimension, sku, kind) "
    "DO UPDATE SET name = excluded.name, unit = excluded.unit, rate = excluded.rate, "
    "last_end_ns = excluded.last_end_ns WHERE excluded.last_end_ns >= i.last_end_ns",
    "update items"};
constexpr Statement kUpsertDeployments{"costs_upsert_deployments",
                                       "INSERT INTO deployments (org_id, id, name, type) "
                                       "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                                       "ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, "
                                       "type = excluded.type",
                                       "update deployments"};
// The rate catalog: the batch's distinct (organization, rate) pairs, sorted, inserted unless
// there (concurrent batches wait for each other's rows in one order).
constexpr Statement kInsertRates{"costs_insert_rates",
                                 "INSERT INTO rates (org_id, fingerprint, rate) "
                                 "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING",
                                 "update the rate catalog"};
constexpr Statement kSelectRates{"costs_select_rates", "SELECT rate FROM rates WHERE org_id = $1 ORDER BY fingerprint",
                                 "read the rate catalog"};
constexpr Statement kInsertSpanClasses{"costs_insert_span_classes",
                                       "INSERT INTO usage_span_classes (org_id, span_class) "
                                       "SELECT * FROM unnest($1::text[], $2::smallint[]) ON CONFLICT DO NOTHING",
                                       "update usage span classes"};
constexpr Statement kBumpOrgVersions{"costs_bump_org_versions",
                                     "INSERT INTO org_versions AS v (org_id, version) "
                                     "SELECT o, 1 FROM unnest($1::text[]) AS t (o) "
                                     "ON CONFLICT (org_id) DO UPDATE SET version = v.version + 1",
                                     "bump the data version"};
// Notifies kVersionChannel of each organization (an id too long for a notification's payload
// notifies "": every version).
constexpr Statement kNotifyVersions{
    "costs_notify_versions",
    "SELECT pg_notify('costs_data_version', CASE WHEN octet_length(o) < 7000 THEN o ELSE '' END) "
    "FROM unnest($1::text[]) AS t (o)",
    "notify data versions"};
constexpr Statement kSelectOrgVersion{"costs_select_org_version", "SELECT version FROM org_versions WHERE org_id = $1",
                                      "read the data version"};
constexpr Statement kSelectOrgVersions{"costs_select_org_versions",
                                       "SELECT org_id, version FROM org_versions WHERE org_id = ANY($1::text[])",
                                       "read data versions"};
#define COSTS_SELECT_ROLLUPS(table)                                                                      \
  "SELECT period_start_ns, deployment_id, dimension, sku, kind, cost_nanos, trial_cost_nanos, "          \
  "quantity_milli, usage_ns, max_instance_count, rate_fingerprint_min, rate_fingerprint_max FROM " table \
  " WHERE org_id = $1 AND period_start_ns >= $2 AND period_start_ns < $3"
constexpr Statement kSelectRollupHour{"costs_select_rollup_hour", COSTS_SELECT_ROLLUPS("rollup_hour"), "read rollups"};
constexpr Statement kSelectRollupDay{"costs_select_rollup_day", COSTS_SELECT_ROLLUPS("rollup_day"), "read rollups"};
#undef COSTS_SELECT_ROLLUPS
// Per deployment of the org: its capacity rows of the latest hour in [$2, $3) with a non-zero
// cost (one backwards index probe on rollup_hour_by_deployment for the hour, then its rows).
constexpr Statement kSelectLatestCapacity{
    "costs_select_latest_capacity",
    "SELECT d.id, r.period_start_ns, r.cost_nanos, r.trial_cost_nanos, r.quantity_milli, r.usage_ns, "
    "r.max_instance_count, r.rate_fingerprint_min, r.rate_fingerprint_max "
    "FROM deployments d CROSS JOIN LATERAL (SELECT h.period_start_ns FROM rollup_hour h "
    "WHERE h.org_id = $1 AND h.deployment_id = d.id AND h.dimension = 'capacity' AND h.period_start_ns >= $2 "
    "AND h.period_start_ns < $3 AND h.cost_nanos <> 0 ORDER BY h.period_start_ns DESC LIMIT 1) latest "
    "JOIN rollup_hour r ON r.org_id = $1 AND r.deployment_id = d.id AND r.dimension = 'capacity' "
    "AND r.period_start_ns = latest.period_start_ns AND r.cost_nanos <> 0 "
    "WHERE d.org_id = $1 ORDER BY d.id",
    "read the latest capacity"};
constexpr Statement kSelectItems{"costs_select_items",
                                 "SELECT deployment_id, dimension, sku, kind, name, unit, rate, last_end_ns FROM items "
                                 "WHERE org_id = $1 ORDER BY deployment_id, dimension, sku, kind",
                                 "read items"};
constexpr Statement kSelectCredit{"costs_select_credit",
                                  "SELECT ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = $1 AND id = $2",
                                  "read a credit"};
constexpr Statement kInsertCredit{
    "costs_insert_credit", "INSERT INTO credits (org_id, id, ecu_nanos, start_ns, end_ns) VALUES ($1, $2, $3, $4, $5)",
    "insert a credit"};
constexpr Statement kSelectCredits{"costs_select_credits",
                                   "SELECT id, ecu_nanos, start_ns, end_ns FROM credits WHERE org_id = $1 "
                                   "ORDER BY start_ns, id",
                                   "read credits"};
// Per span class k of the org: the records starting in [max($2 - 2^k hours, int64 min), $3)
// and ending after $2; ordered by start, then ingest.
constexpr Statement kSelectUsageOverlapping{
    "costs_select_usage_overlapping",
    "SELECT u.id, u.organization_id, u.deployment_id, u.deployment_name, u.dimension, u.kind, u.instance_count, "
    "u.sku, u.name, u.start_ns, u.end_ns, u.quantity, u.unit, u.rate, u.cost_nanos, u.trial, u.instance_type "
    "FROM usage_span_classes c CROSS JOIN LATERAL (SELECT * FROM usage WHERE organization_id = $1 "
    "AND span_class = c.span_class AND start_ns >= greatest($2::numeric - 3600000000000::numeric * "
    "power(2::numeric, c.span_class), -9223372036854775808::numeric)::bigint AND start_ns < $3 AND end_ns > $2) u "
    "WHERE c.org_id = $1 ORDER BY u.start_ns, u.seq",
    "read usage"};
// Every record of the org, in ingest order (seq).
constexpr Statement kSelectAllUsage{
    "costs_select_all_usage",
    "SELECT u.id, u.organization_id, u.deployment_id, u.deployment_name, u.dimension, u.kind, u.instance_count, "
    "u.sku, u.name, u.start_ns, u.end_ns, u.quantity, u.unit, u.rate, u.cost_nanos, u.trial, u.instance_type "
    "FROM usage u WHERE u.organization_id = $1 ORDER BY u.seq",
    "read usage"};
// The idempotency ledger against usage (VerifyIdIndex): records it does not lead to, and
// entries that lead to no record. At most 100 rows each.
constexpr Statement kSelectUnindexedUsage{
    "costs_select_unindexed_usage",
    "SELECT u.organization_id, u.id FROM usage u LEFT JOIN usage_ids i ON i.id = u.id "
    "AND i.organization_id = u.organization_id AND i.start_ns = u.start_ns WHERE i.id IS NULL "
    "ORDER BY u.organization_id, u.id LIMIT 100",
    "check usage ids"};
constexpr Statement kSelectDanglingUsageIds{
    "costs_select_dangling_usage_ids",
    "SELECT i.organization_id, i.id FROM usage_ids i LEFT JOIN usage u ON u.organization_id = i.organization_id "
    "AND u.id = i.id AND u.start_ns = i.start_ns WHERE u.id IS NULL ORDER BY i.organization_id, i.id LIMIT 100",
    "check usage ids"};
constexpr Statement kSelectDeployments{"costs_select_deployments",
                                       "SELECT id, name, type FROM deployments WHERE org_id = $1 ORDER BY id",
                                       "read deployments"};
constexpr Statement kApiKeyExists{"costs_api_key_exists", "SELECT 1 FROM api_keys WHERE id = $1", "check an API key"};
constexpr Statement kUserExists{"costs_user_exists", "SELECT 1 FROM users WHERE name = $1", "check a user"};
constexpr Statement kInsertApiKey{"costs_insert_api_key",
                                  "INSERT INTO api_keys (id, user_name, name, secret_digest, created_ns, expires_ns, "
                                  "revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                  "insert an API key"};
constexpr Statement kSelectApiKey{"costs_select_api_key",
                                  "SELECT user_name, name, secret_digest, created_ns, expires_ns, revoked "
                                  "FROM api_keys WHERE id = $1",
                                  "read an API key"};
constexpr Statement kRevokeApiKey{"costs_revoke_api_key", "UPDATE api_keys SET revoked = true WHERE id = $1",
                                  "revoke an API key"};
constexpr Statement kInsertSession{"costs_insert_session",
                                   "INSERT INTO sessions (id_digest, user_name, api_key_id, created_ns, last_used_ns) "
                                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id_digest) DO NOTHING",
                                   "insert a session"};
constexpr Statement kSelectSession{"costs_select_session",
                                   "SELECT user_name, api_key_id, created_ns, last_used_ns FROM sessions "
                                   "WHERE id_digest = $1",
                                   "read a session"};
constexpr Statement kTouchSession{"costs_touch_session",
                                  "UPDATE sessions SET last_used_ns = $2 WHERE id_digest = $1 AND last_used_ns < $2",
                                  "touch a session"};
constexpr Statement kDeleteSession{"costs_delete_session", "DELETE FROM sessions WHERE id_digest = $1",
                                   "delete a session"};
constexpr Statement kDeleteExpiredSessions{"costs_delete_expired_sessions",
                                           "DELETE FROM sessions WHERE last_used_ns <= $1 OR created_ns <= $2",
                                           "delete expired sessions"};

#undef COSTS_USAGE_COLUMNS

}  // namespace costs::store::postgres::detail
