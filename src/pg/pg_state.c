/*
 * pg_state.c — the state table on PostgreSQL: checkpoints, resume (`osc
 * history` reads it in src/pg/pg_history.c).
 *
 * osc.migrations has one row per migration (not per invocation): what it
 * changes (table, ALTER, a fingerprint of the original's schema), how (the
 * column map and the deferred index definitions, so a resumed run needs no
 * guessing), and where it stands (phase, outcome, copy watermark, counters,
 * who runs it).  The copy updates it in the same transaction as each chunk
 * and the swap in the same transaction as the rename, so the row never
 * claims more than the database holds.
 *
 * The table lives in schema osc and outlives every run: it is the history.
 * It is created by the first run that gets past validation (bad input never
 * creates it), under a transaction-level advisory lock so two first runs on
 * different tables do not race.
 */
#include "pg.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE "osc.migrations"

static const char *ddl =
    "CREATE TABLE IF NOT EXISTS osc.migrations ("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " schema_name text NOT NULL, table_name text NOT NULL, alter_spec text NOT NULL,"
    " phase text NOT NULL, outcome text NOT NULL,"
    " rows_copied bigint NOT NULL DEFAULT 0, rows_estimate bigint NOT NULL DEFAULT 0,"
    " changes_applied bigint NOT NULL DEFAULT 0, watermark text[],"
    " host text, pid int, runs int NOT NULL DEFAULT 1,"
    " started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),"
    " finished_at timestamptz, message text,"
    " work_schema text NOT NULL, fingerprint_orig text NOT NULL, fingerprint_new text,"
    " key_shadow text[] NOT NULL, col_names text[] NOT NULL, col_exprs text[] NOT NULL,"
    " overriding boolean NOT NULL, deferred_names text[] NOT NULL, deferred_sql text[] NOT NULL,"
    " tmp_key_index text, table_oid oid, work_schema_oid oid, trigger_oids oid[], old_suffix text,"
    " revert text, revert_trigger_oids oid[])";

/* The state table as this osc needs it: created, or given the columns an
 * older osc's table lacks (only then: ALTER TABLE locks the table that other
 * runs checkpoint into).  In the caller's transaction, under the
 * transaction-level advisory lock that serializes first runs. */
static bool state_table_ready(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	if (!pg_command(pg, "SELECT pg_catalog.pg_advisory_xact_lock(7564131, 0)", e) ||
	    !pg_command(pg, "CREATE SCHEMA IF NOT EXISTS osc", e) || !pg_command(pg, ddl, e))
		return false;
	if (!pg_exec(pg,
	             "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'osc.migrations'::pg_catalog.regclass"
	             "   AND attname IN ('table_oid', 'work_schema_oid', 'trigger_oids', 'old_suffix', 'revert',"
	             "                   'revert_trigger_oids')"
	             "   AND NOT attisdropped",
	             0, NULL, &r, e))
		return false;
	bool complete = strcmp(pg_value(r, 0), "6") == 0;
	PQclear(r);
	return complete || pg_command(pg,
	                              "ALTER TABLE osc.migrations ADD COLUMN IF NOT EXISTS table_oid oid,"
	                              " ADD COLUMN IF NOT EXISTS work_schema_oid oid,"
	                              " ADD COLUMN IF NOT EXISTS trigger_oids oid[],"
	                              " ADD COLUMN IF NOT EXISTS old_suffix text,"
	                              " ADD COLUMN IF NOT EXISTS revert text,"
	                              " ADD COLUMN IF NOT EXISTS revert_trigger_oids oid[]",
	                              e);
}

/* A text[] literal for a parameter: {"a","b\"c"}.  (%s inserts its text
 * as it is: a '%' in the data needs no escaping.) */
static void array_literal(Sql *q, char *const *items, int n)
{
	sql_add(q, "{");
	for (int i = 0; i < n; i++) {
		const char *s = items[i];
		char *esc = xmalloc(strlen(s) * 2 + 3), *o = esc;
		*o++ = '"';
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o++ = '"';
		*o = '\0';
		sql_add(q, "%s%s", i ? "," : "", esc);
		free(esc);
	}
	sql_add(q, "}");
}

static char *key_literal(Pg *pg, char **key)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	if (key)
		array_literal(&q, key, pg->nkeys);
	return sql_take(&q);
}

bool pg_state_create(Pg *pg, const char *fp, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	bool ok = false;
	char host[256] = "", pid[16], est[32], toid[16], woid[16];

	if (!state_table_ready(pg, e))
		return false;
	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(est, sizeof(est), "%lld", (long long)pg->reltuples);
	snprintf(toid, sizeof(toid), "%u", pg->oid);
	snprintf(woid, sizeof(woid), "%u", pg->work_oid);

	Sql keys, names, exprs, dnames, dsql;
	sql_init(&keys, &pg->dialect);
	sql_init(&names, &pg->dialect);
	sql_init(&exprs, &pg->dialect);
	sql_init(&dnames, &pg->dialect);
	sql_init(&dsql, &pg->dialect);
	{
		char **k = xcalloc((size_t)pg->nkeys + 1, sizeof(char *));
		char **n = xcalloc((size_t)pg->ncols + 1, sizeof(char *)), **x = xcalloc((size_t)pg->ncols + 1, sizeof(char *));
		char **dn = xcalloc((size_t)pg->ndeferred + 1, sizeof(char *)), **ds = xcalloc((size_t)pg->ndeferred + 1, sizeof(char *));
		for (int i = 0; i < pg->nkeys; i++)
			k[i] = pg->keys[i].shadow_name;
		for (int i = 0; i < pg->ncols; i++) {
			n[i] = pg->cols[i].name;
			x[i] = pg->cols[i].expr;
		}
		for (int i = 0; i < pg->ndeferred; i++) {
			dn[i] = pg->deferred[i].name;
			ds[i] = pg->deferred[i].create_sql;
		}
		array_literal(&keys, k, pg->nkeys);
		array_literal(&names, n, pg->ncols);
		array_literal(&exprs, x, pg->ncols);
		array_literal(&dnames, dn, pg->ndeferred);
		array_literal(&dsql, ds, pg->ndeferred);
		free(k);
		free(n);
		free(x);
		free(dn);
		free(ds);
	}
	const char *p[19] = { pg->schema, pg->table, pg->env->alter->text, est, host, pid, pg->work, fp,
		                  sql_text(&keys), sql_text(&names), sql_text(&exprs), pg->overriding ? "t" : "f",
		                  sql_text(&dnames), sql_text(&dsql), pg->tmp_key_index, toid, woid, pg->old_suffix,
		                  pg->revertible ? "pending" : NULL };
	sql_init(&q, &pg->dialect);
	/* the work schema's OID is recorded in the transaction that made it:
	 * osc drops only what a state row proves its own (src/pg/pg_names.c) */
	if (!pg_exec(pg,
	             "INSERT INTO osc.migrations (schema_name, table_name, alter_spec, phase, outcome, rows_estimate,"
	             "  host, pid, work_schema, fingerprint_orig, key_shadow, col_names, col_exprs, overriding,"
	             "  deferred_names, deferred_sql, tmp_key_index, table_oid, work_schema_oid, old_suffix, revert)"
	             " VALUES ($1, $2, $3, 'copy', 'running', $4::bigint, $5, $6::int, $7, $8, $9::text[], $10::text[],"
	             "  $11::text[], $12::boolean, $13::text[], $14::text[], $15, $16::oid, $17::oid, $18, $19)"
	             " RETURNING id",
	             19, p, &r, e))
		goto out;
	pg->state_id = strtoll(pg_value(r, 0), NULL, 10);
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	sql_free(&keys);
	sql_free(&names);
	sql_free(&exprs);
	sql_free(&dnames);
	sql_free(&dsql);
	return ok;
}

/* An ALTER applied in place (src/pg/pg_strategy.c) gets a row too, so that
 * `osc history` shows it and a rerun of the same command from cron finds
 * it done (by the fingerprint of the table after it) instead of failing on
 * "column already exists".  It has no shadow, column map or watermark. */
bool pg_state_in_place(Pg *pg, const char *strategy, OscErr *e)
{
	PGresult *r = NULL;
	char fp[64], host[256] = "", pid[16], est[32], msg[128];

	if (!pg_command(pg, "BEGIN", e))
		return false;
	bool ok = state_table_ready(pg, e) && pg_fingerprint(pg, pg->oid, fp, sizeof(fp), true, e);
	if (ok) {
		gethostname(host, sizeof(host) - 1);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		snprintf(est, sizeof(est), "%lld", (long long)pg->reltuples);
		snprintf(msg, sizeof(msg), "applying the ALTER in place (%s)", strategy);
		char toid[16];
		snprintf(toid, sizeof(toid), "%u", pg->oid);
		const char *p[10] = { pg->schema, pg->table, pg->env->alter->text, est, host, pid, pg->work, fp, msg, toid };
		ok = pg_exec(pg,
		             "INSERT INTO osc.migrations (schema_name, table_name, alter_spec, phase, outcome, rows_estimate,"
		             "  host, pid, work_schema, fingerprint_orig, key_shadow, col_names, col_exprs, overriding,"
		             "  deferred_names, deferred_sql, message, table_oid)"
		             " VALUES ($1, $2, $3, 'in-place', 'running', $4::bigint, $5, $6::int, $7, $8, '{}', '{}', '{}',"
		             "  false, '{}', '{}', $9, $10::oid) RETURNING id",
		             10, p, &r, e);
	}
	if (ok)
		pg->state_id = strtoll(pg_value(r, 0), NULL, 10);
	PQclear(r);
	if (ok)
		ok = pg_command(pg, "COMMIT", e);
	if (!ok) {
		pg_rollback(pg);
		pg->state_id = 0;
	}
	return ok;
}

bool pg_state_fingerprint_new(Pg *pg, unsigned oid, OscErr *e)
{
	char fp[64], id[32];
	if (pg->state_id == 0)
		return true;
	if (!pg_fingerprint(pg, oid, fp, sizeof(fp), false, e))
		return false;
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	return pg_exec(pg, "UPDATE osc.migrations SET fingerprint_new = $2, updated_at = now() WHERE id = $1::bigint", 2,
	               (const char *[]){ id, fp }, NULL, e);
}

bool pg_state_exists(Pg *pg, bool *exists, OscErr *e)
{
	PGresult *r = NULL;
	if (!pg_exec(pg, "SELECT pg_catalog.to_regclass('osc.migrations') IS NOT NULL", 0, NULL, &r, e))
		return false;
	*exists = pg_value(r, 0)[0] == 't';
	PQclear(r);
	return true;
}

bool pg_state_record(Pg *pg, const char *phase, const char *outcome, const char *message, int64_t rows_copied,
                     int64_t changes_applied, OscErr *e)
{
	char id[32], copied[32], applied[32];
	if (pg->state_id == 0)
		return true;
	if (pg->reverse)
		return pg_revert_record(pg, phase, outcome, message, e);
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	snprintf(copied, sizeof(copied), "%lld", (long long)rows_copied);
	snprintf(applied, sizeof(applied), "%lld", (long long)changes_applied);
	const char *p[6] = { id, phase, outcome, message, copied, applied };
	return pg_exec(pg,
	               "UPDATE osc.migrations SET phase = coalesce($2, phase), outcome = coalesce($3, outcome),"
	               " message = coalesce($4, message), rows_copied = $5::bigint, changes_applied = $6::bigint,"
	               " updated_at = now(),"
	               " finished_at = CASE WHEN $3 IN ('done', 'failed', 'aborted') THEN now() END"
	               " WHERE id = $1::bigint",
	               6, p, NULL, e);
}

/* In the chunk's transaction. */
bool pg_state_checkpoint(PgSession *s, Pg *pg, const PgKeyVal *watermark, int64_t rows_total, int64_t changes_applied,
                         OscErr *e)
{
	char id[32], copied[32], applied[32];
	if (pg->state_id == 0)
		return true;
	char *wm = key_literal(pg, watermark ? watermark->v : NULL);
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	snprintf(copied, sizeof(copied), "%lld", (long long)rows_total);
	snprintf(applied, sizeof(applied), "%lld", (long long)changes_applied);
	const char *p[4] = { id, wm, copied, applied };
	bool ok = pgs_exec(s,
	                  "UPDATE osc.migrations SET watermark = $2::text[], rows_copied = $3::bigint,"
	                  " changes_applied = $4::bigint, updated_at = now() WHERE id = $1::bigint",
	                  4, p, NULL, e);
	free(wm);
	return ok;
}

/* The values of a one-column result, malloc'd. */
static char **column_of(PGresult *r, int *n)
{
	*n = PQntuples(r);
	char **out = xcalloc((size_t)*n + 1, sizeof(char *));
	for (int i = 0; i < *n; i++)
		out[i] = pg_strdup(pg_value(r, i));
	return out;
}

static bool load_array(Pg *pg, const char *column, char ***out, int *n, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	const char *p[1] = { id };
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT v FROM osc.migrations, unnest(%I) WITH ORDINALITY AS u(v, i) WHERE id = $1::bigint ORDER BY i",
	        column);
	bool ok = pg_exec(pg, sql_text(&q), 1, p, &r, e);
	if (ok)
		*out = column_of(r, n);
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* The row a rerun decides from (src/core/resume.c): the latest unfinished
 * migration of the table, else whether this one is done already.  What
 * only PostgreSQL keeps in the row (the work schema and triggers by OID,
 * OVERRIDING, the temporary key index) is read into pg on the way. */
enum {
	R_ID, R_ALTER, R_PHASE, R_FP_ORIG, R_FP_NEW, R_ROWS, R_CHANGES, R_NO_WM, R_OVERRIDING, R_TMP_KEY_INDEX,
	R_STARTED, R_RUNS, R_WORK, R_WORK_OID, R_TRIGGERS, R_OLD_SUFFIX, R_REVERTIBLE,
};

bool pg_state_read(Pg *pg, StateRow *row, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false, exists;
	const char *p[2] = { pg->schema, pg->table };

	row->found = STATE_NONE;
	if (!pg_state_exists(pg, &exists, e))
		return false;
	if (!exists)
		return true;
	/* the definition now, hashed; kept to watch for DDL if this resumes */
	if (!pg_ddl_baseline(pg, false, row->fingerprint, sizeof(row->fingerprint), e))
		return false;
	/* an in-place run has nothing to resume: its ALTER committed or not; one
	 * still "running" while this run holds the table's lock was killed */
	if (!pg_exec(pg,
	             "UPDATE osc.migrations SET outcome = 'failed', finished_at = now(), updated_at = now(),"
	             " message = 'interrupted while applying the ALTER in place; it committed only if the table shows it'"
	             " WHERE schema_name = $1 AND table_name = $2 AND phase = 'in-place' AND outcome = 'running'",
	             2, p, NULL, e))
		return false;
	if (!pg_exec(pg,
	             "SELECT id, alter_spec, phase, fingerprint_orig, coalesce(fingerprint_new, ''),"
	             "       rows_copied, changes_applied, watermark IS NULL, overriding, coalesce(tmp_key_index, ''),"
	             "       to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), runs, work_schema,"
	             "       coalesce(work_schema_oid, 0), coalesce(array_to_string(trigger_oids, ','), ''),"
	             "       coalesce(old_suffix, '_osc_old'), coalesce(revert IN ('pending', 'revertible'), false)"
	             "  FROM osc.migrations WHERE schema_name = $1 AND table_name = $2 AND outcome IN ('running', 'stopped')"
	             " ORDER BY id DESC LIMIT 1",
	             2, p, &r, e))
		goto out;
	if (PQntuples(r) == 0) {
		/* nothing unfinished: is this exact migration already done? */
		PQclear(r);
		r = NULL;
		if (!pg_exec(pg,
		             "SELECT to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM osc.migrations"
		             " WHERE schema_name = $1 AND table_name = $2 AND alter_spec = $3 AND outcome = 'done'"
		             "   AND fingerprint_new = $4 ORDER BY id DESC LIMIT 1",
		             4, (const char *const[]){ pg->schema, pg->table, pg->env->alter->text, row->fingerprint }, &r,
		             e))
			goto out;
		if (PQntuples(r) > 0) {
			row->found = STATE_DONE;
			snprintf(row->done_at, sizeof(row->done_at), "%s", pg_value(r, 0));
		}
		ok = true;
		goto out;
	}
	row->found = STATE_UNFINISHED;
	pg->state_id = strtoll(PQgetvalue(r, 0, R_ID), NULL, 10);
	row->alter = pg_strdup(PQgetvalue(r, 0, R_ALTER));
	snprintf(row->phase, sizeof(row->phase), "%s", PQgetvalue(r, 0, R_PHASE));
	snprintf(row->fp_orig, sizeof(row->fp_orig), "%s", PQgetvalue(r, 0, R_FP_ORIG));
	snprintf(row->fp_new, sizeof(row->fp_new), "%s", PQgetvalue(r, 0, R_FP_NEW));
	row->rows_copied = strtoll(PQgetvalue(r, 0, R_ROWS), NULL, 10);
	row->changes_applied = strtoll(PQgetvalue(r, 0, R_CHANGES), NULL, 10);
	pg->resume_no_watermark = PQgetvalue(r, 0, R_NO_WM)[0] == 't';
	pg->overriding = PQgetvalue(r, 0, R_OVERRIDING)[0] == 't';
	if (PQgetvalue(r, 0, R_TMP_KEY_INDEX)[0])
		pg->tmp_key_index = pg_strdup(PQgetvalue(r, 0, R_TMP_KEY_INDEX));
	snprintf(row->started, sizeof(row->started), "%s", PQgetvalue(r, 0, R_STARTED));
	row->runs = atoi(PQgetvalue(r, 0, R_RUNS));
	if (strcmp(PQgetvalue(r, 0, R_WORK), pg->work) != 0) {
		err_set(e, OSC_EXIT_FAILED, "internal: the unfinished migration's work schema is %s, expected %s",
		        PQgetvalue(r, 0, R_WORK), pg->work);
		goto out;
	}
	/* the old names this migration chose (src/pg/pg_old.c): a resume after
	 * a kill anywhere uses the same ones; a row of an older osc has none and
	 * used the first run's */
	if (strncmp(PQgetvalue(r, 0, R_OLD_SUFFIX), "_osc_old", 8) != 0 ||
	    strlen(PQgetvalue(r, 0, R_OLD_SUFFIX)) >= sizeof(pg->old_suffix)) {
		err_set(e, OSC_EXIT_FAILED, "internal: the unfinished migration's old-table suffix %s is not osc's",
		        PQgetvalue(r, 0, R_OLD_SUFFIX));
		goto out;
	}
	pg_old_set(pg, PQgetvalue(r, 0, R_OLD_SUFFIX));
	pg->old_fixed = true;
	/* --revertible is the first run's choice (src/pg/pg_revert_keep.c) */
	pg->revertible = PQgetvalue(r, 0, R_REVERTIBLE)[0] == 't';
	if (pg->env->revertible && !pg->revertible)
		log_msg(pg->log, LOG_WARN, "this migration began without --revertible: it goes on without it");
	/* the objects this migration recorded as its own, by OID */
	pg->work_oid = (unsigned)strtoul(PQgetvalue(r, 0, R_WORK_OID), NULL, 10);
	pg->ntriggers = 0;
	for (const char *t = PQgetvalue(r, 0, R_TRIGGERS); *t && pg->ntriggers < 2;) {
		pg->trigger_oids[pg->ntriggers++] = (unsigned)strtoul(t, NULL, 10);
		t = strchr(t, ',');
		t = t ? t + 1 : "";
	}
	ok = true;
out:
	PQclear(r);
	return ok;
}

/* The plan as the first run made it: the key's and columns' names in the
 * shadow, the deferred indexes, the watermark. */
static bool load_plan(Pg *pg, OscErr *e)
{
	char **keys = NULL, **names = NULL, **exprs = NULL, **dnames = NULL, **dsql = NULL, **wm = NULL;
	int nk = 0, nn = 0, nx = 0, ndn = 0, nds = 0, nwm = 0;
	bool no_watermark = pg->resume_no_watermark;
	bool loaded = load_array(pg, "key_shadow", &keys, &nk, e) && load_array(pg, "col_names", &names, &nn, e) &&
	              load_array(pg, "col_exprs", &exprs, &nx, e) && load_array(pg, "deferred_names", &dnames, &ndn, e) &&
	              load_array(pg, "deferred_sql", &dsql, &nds, e) && load_array(pg, "watermark", &wm, &nwm, e);
	if (loaded && (nk != pg->nkeys || nn != nx || ndn != nds || (!no_watermark && nwm != pg->nkeys))) {
		err_set(e, OSC_EXIT_FAILED, "internal: the state row of %s.%s does not fit its key", pg->schema, pg->table);
		loaded = false;
	}
	if (loaded) {
		for (int i = 0; i < nk; i++)
			pg->keys[i].shadow_name = keys[i];
		pg->cols = xcalloc((size_t)nn + 1, sizeof(PgCol));
		pg->deferred = xcalloc((size_t)ndn + 1, sizeof(PgDeferred));
		pg->ncols = nn;
		for (int i = 0; i < nn; i++) {
			pg->cols[i].name = names[i];
			pg->cols[i].expr = exprs[i];
		}
		pg->ndeferred = ndn;
		for (int i = 0; i < ndn; i++) {
			pg->deferred[i].name = dnames[i];
			pg->deferred[i].create_sql = dsql[i];
		}
		if (!no_watermark) {
			pg->watermark = wm;
			wm = NULL;
		}
		free(keys);
		free(names);
		free(exprs);
		free(dnames);
		free(dsql);
		keys = names = exprs = dnames = dsql = NULL;
	}
	if (wm) {
		for (int i = 0; i < nwm; i++)
			free(wm[i]);
		free(wm);
	}
	if (!loaded) {
		/* free what was read (ownership not taken) */
		char **all[5] = { keys, names, exprs, dnames, dsql };
		int cnt[5] = { nk, nn, nx, ndn, nds };
		for (int a = 0; a < 5; a++) {
			for (int i = 0; all[a] && i < cnt[a]; i++)
				free(all[a][i]);
			free(all[a]);
		}
	}
	return loaded;
}

/* The unfinished migration's objects, taken up: the work schema this
 * migration made (its OID) with the shadow, both its triggers, ENABLE
 * ALWAYS; then its plan. */
bool pg_state_attach(Pg *pg, bool copy_done, const char **lost, OscErr *e)
{
	PGresult *r = NULL;
	char woid[16], toid[16], tg[64];
	snprintf(woid, sizeof(woid), "%u", pg->work_oid);
	snprintf(toid, sizeof(toid), "%u", pg->oid);
	snprintf(tg, sizeof(tg), "{%u,%u}", pg->ntriggers > 0 ? pg->trigger_oids[0] : 0,
	         pg->ntriggers > 1 ? pg->trigger_oids[1] : 0);
	const char *p[5] = { pg->work, pg->shadow, woid, toid, tg };

	*lost = NULL;
	if (!pg_exec(pg,
	             "SELECT (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             "         WHERE n.nspname = $1 AND c.relname = $2 AND n.oid = $3::oid),"
	             "       (SELECT count(*) = 2 FROM pg_catalog.pg_trigger t"
	             "         WHERE t.tgrelid = $4::oid AND t.oid = ANY ($5::oid[]) AND t.tgenabled = 'A')",
	             5, p, &r, e))
		return false;
	enum { A_SHADOW_OID, A_TRIGGERS_ON };
	if (PQgetisnull(r, 0, A_SHADOW_OID) || PQgetvalue(r, 0, A_TRIGGERS_ON)[0] != 't') {
		*lost = PQgetisnull(r, 0, A_SHADOW_OID) ? "shadow table"
		                                        : "capture triggers (or they no longer fire in every session)";
		PQclear(r);
		return true;
	}
	pg->shadow_oid = (unsigned)strtoul(PQgetvalue(r, 0, A_SHADOW_OID), NULL, 10);
	PQclear(r);
	if (!load_plan(pg, e) || !pg_read_sequences(pg, e))
		return false;
	pg->capture_on = true;
	pg->copy_done = copy_done;
	return true;
}

/* This run is now the migration's runner. */
bool pg_state_claim(Pg *pg, OscErr *e)
{
	char id[32], host[256] = "", pid[16];
	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	const char *p[3] = { id, host, pid };
	return pg_exec(pg,
	               "UPDATE osc.migrations SET outcome = 'running', host = $2, pid = $3::int, runs = runs + 1,"
	               " updated_at = now() WHERE id = $1::bigint",
	               3, p, NULL, e);
}

/* The holder of the table, from the state table, for the overlap message. */
void pg_state_holder(Pg *pg, char *out, size_t outsz)
{
	PGresult *r = NULL;
	OscErr e;
	bool exists = false;
	out[0] = '\0';
	err_clear(&e);
	if (!pg_state_exists(pg, &exists, &e) || !exists)
		return;
	const char *p[2] = { pg->schema, pg->table };
	enum { H_HOST, H_PID, H_SINCE, H_PHASE, H_ROWS };
	if (pg_exec(pg,
	            "SELECT host, pid, to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), phase, rows_copied"
	            "  FROM osc.migrations WHERE schema_name = $1 AND table_name = $2 AND outcome = 'running'"
	            " ORDER BY id DESC LIMIT 1",
	            2, p, &r, &e) &&
	    PQntuples(r) == 1)
		snprintf(out, outsz, "host %s, pid %s, since %s, phase %s, %s rows copied", PQgetvalue(r, 0, H_HOST),
		         PQgetvalue(r, 0, H_PID), PQgetvalue(r, 0, H_SINCE), PQgetvalue(r, 0, H_PHASE),
		         PQgetvalue(r, 0, H_ROWS));
	PQclear(r);
}

/* `osc cleanup`: the table's unfinished migrations end with outcome
 * ("aborted": given up; "done": its swap had committed) and message. */
bool pg_state_close(Pg *pg, const char *outcome, const char *message, OscErr *e)
{
	bool exists = false;
	if (!pg_state_exists(pg, &exists, e))
		return false;
	if (!exists)
		return true;
	const char *p[4] = { pg->schema, pg->table, outcome, message };
	return pg_exec(pg,
	               "UPDATE osc.migrations SET outcome = $3, phase = CASE WHEN $3 = 'done' THEN 'done' ELSE phase END,"
	               " finished_at = now(), updated_at = now(), message = $4"
	               " WHERE schema_name = $1 AND table_name = $2 AND outcome IN ('running', 'stopped')",
	               4, p, NULL, e);
}
