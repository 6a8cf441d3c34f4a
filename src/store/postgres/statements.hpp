#pragma once

// Every statement the adapter prepares, by name. Internal to src/store/postgres/.

#include "store/postgres/connection.hpp"

namespace costs::store::postgres::detail {

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
// Deployments whose name or type changes (or that are new); the others' rows are not rewritten.
constexpr Statement kUpsertDeployments{"costs_upsert_deployments",
                                       "INSERT INTO deployments AS d (org_id, id, name, type) "
                                       "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                                       "ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, "
                                       "type = excluded.type WHERE d.name <> excluded.name OR d.type <> excluded.type",
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
                                       "SELECT o, k::smallint FROM unnest($1::text[], $2::bigint[]) AS t (o, k) "
                                       "ON CONFLICT DO NOTHING",
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
// A read snapshot and its end, as steps of a pipeline (Transaction::kSnapshot's, prepared).
constexpr Statement kBeginSnapshot{"costs_begin_snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                                   "begin a transaction"};
constexpr Statement kCommit{"costs_commit", "COMMIT", "commit"};
constexpr Statement kSelectOrgVersion{"costs_select_org_version", "SELECT version FROM org_versions WHERE org_id = $1",
                                      "read the data version"};
constexpr Statement kSelectOrgVersions{"costs_select_org_versions",
                                       "SELECT org_id, version FROM org_versions WHERE org_id = ANY($1::text[])",
                                       "read data versions"};
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

// ---- Schema 4: series, usage chunks, id hashes, packed hourly rollups ------------------------

// Every ingest takes this transaction-level advisory lock first: batches serialize (as the
// SQLite store's do), so two replicas never both store one id, and nothing they write deadlocks.
constexpr Statement kLockIngest{"costs_lock_ingest", "SELECT pg_advisory_xact_lock(7165064483209805827)",
                                "wait for other ingests"};
// The stored series among the batch's item keys (sorted): their ids and item texts.
constexpr Statement kSelectSeriesOfKeys{
    "costs_select_series_of_keys",
    "SELECT s.id, s.org_id, s.deployment_id, s.dimension, s.sku, s.kind, s.name, s.unit, s.rate "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS k (o, d, m, s, n) "
    "JOIN series s ON s.org_id = k.o AND s.deployment_id = k.d AND s.dimension = k.m AND s.sku = k.s "
    "AND s.kind = k.n",
    "read series", true};
// New series with their item texts; answers each one's id and key.
constexpr Statement kInsertSeries{
    "costs_insert_series",
    "INSERT INTO series (org_id, deployment_id, dimension, sku, kind, name, unit, rate) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::text[]) RETURNING id, org_id, deployment_id, dimension, sku, kind",
    "insert series", true};
// Item texts that changed, by series id.
constexpr Statement kUpdateSeriesTexts{"costs_update_series_texts",
                                       "UPDATE series s SET name = t.n, unit = t.u, rate = t.r "
                                       "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) "
                                       "AS t (o, i, n, u, r) WHERE s.org_id = t.o AND s.id = t.i",
                                       "update items"};
// Every series of an org, its item texts, sorted by (deployment_id, dimension, sku, kind).
constexpr Statement kSelectSeries{"costs_select_series",
                                  "SELECT id, deployment_id, dimension, sku, kind, name, unit, rate FROM series "
                                  "WHERE org_id = $1 ORDER BY deployment_id, dimension, sku, kind",
                                  "read series", true};
// The same, unless the org's data version is $2: the caller holds the series at that version.
constexpr Statement kSelectSeriesUnlessAt{
    "costs_select_series_unless_at",
    "SELECT id, deployment_id, dimension, sku, kind, name, unit, rate FROM series WHERE org_id = $1 "
    "AND COALESCE((SELECT version FROM org_versions WHERE org_id = $1), 0) <> $2::bigint "
    "ORDER BY deployment_id, dimension, sku, kind",
    "read series", true};
constexpr Statement kSelectSeriesEnds{"costs_select_series_ends",
                                      "SELECT org_id, ends FROM series_ends WHERE org_id = ANY ($1::text[])",
                                      "read series ends", true};
constexpr Statement kUpsertSeriesEnds{"costs_upsert_series_ends",
                                      "INSERT INTO series_ends (org_id, ends) SELECT * FROM unnest($1::text[], "
                                      "$2::bytea[]) ON CONFLICT (org_id) DO UPDATE SET ends = excluded.ends",
                                      "update items"};
// The chunks holding the id hashes $1 (stored ids, or hashes that collide with them).
constexpr Statement kSelectChunksOfHashes{
    "costs_select_chunks_of_hashes",
    "SELECT c.id, c.org_id, c.records FROM usage_chunk c WHERE c.id IN "
    "(SELECT DISTINCT chunk FROM usage_id_hashes WHERE hash = ANY ($1::bigint[]))",
    "read stored usage", true};
// $1 ids from the chunk id sequence, ascending.
constexpr Statement kNextChunkIds{"costs_next_chunk_ids",
                                  "SELECT nextval('usage_chunk_ids') FROM generate_series(1, $1::integer) ORDER BY 1",
                                  "write usage", true};
constexpr Statement kInsertChunks{"costs_insert_chunks",
                                  "INSERT INTO usage_chunk (org_id, span_class, start_day_ns, id, records) "
                                  "SELECT o, k::smallint, d, i, r FROM unnest($1::text[], $2::bigint[], $3::bigint[], "
                                  "$4::bigint[], $5::bytea[]) AS t (o, k, d, i, r)",
                                  "write usage"};
constexpr Statement kInsertIdHashes{"costs_insert_id_hashes",
                                    "INSERT INTO usage_id_hashes (hash, chunk) "
                                    "SELECT * FROM unnest($1::bigint[], $2::bigint[])",
                                    "file usage ids"};
// Per span class k the org has: its chunks whose day is in [$2[k + 1], $3] (the days on which a
// record of class k overlapping the window can start), with k (for UnpackChunkOverlapping).
// One index range per class: the LATERAL subquery (kept apart by OFFSET 0) makes both day bounds
// conditions of the index scan; a plain join scanned every chunk of the org before $3 and
// filtered by the lower bound after.
constexpr Statement kSelectChunksOverlapping{
    "costs_select_chunks_overlapping",
    "SELECT u.records, u.span_class FROM usage_span_classes c CROSS JOIN LATERAL (SELECT records, span_class "
    "FROM usage_chunk WHERE org_id = c.org_id AND span_class = c.span_class "
    "AND start_day_ns >= ($2::bigint[])[c.span_class + 1] AND start_day_ns <= $3 OFFSET 0) u WHERE c.org_id = $1",
    "read usage", true};
constexpr Statement kSelectAllChunks{"costs_select_all_chunks", "SELECT records FROM usage_chunk WHERE org_id = $1",
                                     "read usage", true};
// The stored hourly rows of the batch's (org, day, series group) keys.
constexpr Statement kSelectRollupRows{
    "costs_select_rollup_rows",
    "SELECT r.org_id, r.day_ns, r.series_group, r.packs FROM unnest($1::text[], $2::bigint[], $3::bigint[]) "
    "AS k (o, d, g) JOIN rollup_hours r ON r.org_id = k.o AND r.day_ns = k.d AND r.series_group = k.g",
    "read rollups", true};
constexpr Statement kUpsertRollupRows{"costs_upsert_rollup_rows",
                                      "INSERT INTO rollup_hours (org_id, day_ns, series_group, packs) "
                                      "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[]) "
                                      "ON CONFLICT (org_id, day_ns, series_group) DO UPDATE SET packs = excluded.packs",
                                      "update rollups"};
// The hourly rows of the org's days [$2, $3).
constexpr Statement kSelectRollupDays{"costs_select_rollup_days",
                                      "SELECT day_ns, packs FROM rollup_hours WHERE org_id = $1 AND day_ns >= $2 "
                                      "AND day_ns < $3 ORDER BY day_ns DESC",
                                      "read rollups", true};
// A range's edges in one statement (one snapshot without a transaction): a row (part 0) with the
// data version; per raw window w (1-based; $3 holds each one's last day, $2 per span class k its
// first day at (w - 1) * 24 + k + 1) the chunks overlapping it (part 1: span class, records); per
// rollup window w ($4 its first day, $5 its end) the packed hourly rows in it (part 2: day,
// packs). OFFSET 0 keeps each lookup an index range whatever plan the prepared statement gets.
constexpr Statement kSelectEdges{
    "costs_select_edges",
    "SELECT 0::smallint, 0, COALESCE((SELECT version FROM org_versions WHERE org_id = $1), 0)::bigint, NULL::bytea "
    "UNION ALL SELECT 1::smallint, w.i, u.span_class::bigint, u.records FROM generate_subscripts($3::bigint[], 1) "
    "AS w (i) CROSS JOIN usage_span_classes c CROSS JOIN LATERAL (SELECT records, span_class FROM usage_chunk "
    "WHERE org_id = c.org_id AND span_class = c.span_class AND start_day_ns >= ($2::bigint[])[(w.i - 1) * 24 + "
    "c.span_class + 1] AND start_day_ns <= ($3::bigint[])[w.i] OFFSET 0) u WHERE c.org_id = $1 "
    "UNION ALL SELECT 2::smallint, w.i, r.day_ns, r.packs FROM generate_subscripts($4::bigint[], 1) AS w (i) "
    "CROSS JOIN LATERAL (SELECT day_ns, packs FROM rollup_hours WHERE org_id = $1 AND day_ns >= ($4::bigint[])[w.i] "
    "AND day_ns < ($5::bigint[])[w.i] OFFSET 0) r",
    "read edges", true};
// VerifyIdIndex: the chunks a page at a time (ids above $1, ascending); the id rows come through
// a cursor (chunks.cpp).
constexpr Statement kSelectChunkPage{"costs_select_chunk_page",
                                     "SELECT id, org_id, records FROM usage_chunk WHERE id > $1 ORDER BY id LIMIT 256",
                                     "check usage ids", true};

}  // namespace costs::store::postgres::detail
