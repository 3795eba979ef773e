/*
 * my_state.c — the state table on MySQL/MariaDB: checkpoints, resume
 * (the counterpart of src/pg/pg_state.c; `osc history` reads it in
 * src/my/my_history.c).
 *
 * MY_STATE_TABLE (my.h) lives in the table's own database, so a run needs
 * no privilege beyond the ones it already uses there, and it outlives every
 * run: it is the history.  One row per migration (not per invocation): the
 * table, the ALTER, a fingerprint of the original's schema, the deferred
 * index definitions (they are gone from the shadow while it is copied), and
 * where it stands: phase, outcome, the copy's watermark (the last key
 * copied, as a JSON array of the key's values, hex for binary keys), the
 * counters, who runs it.  The copy updates the row in each chunk's
 * transaction (src/core/copy.c), so the row never claims a chunk the shadow
 * lacks.  The RENAME of the swap runs on a second connection and commits by
 * itself: the row says "swapped" right after it is known to have committed,
 * and a rerun decides from the catalog (the shadow is gone and the table's
 * name carries the new table's fingerprint, recorded before the swap), so a
 * kill between the two is still recognised.
 *
 * The fingerprints are src/my/my_fingerprint.c's.
 *
 * The table is created by the first run that gets past validation (the
 * ALTER applied to the empty shadow, or to the trial table of an in-place
 * strategy): bad input never creates it.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define TS MY_STATE_TS

static const char *ddl =
    "CREATE TABLE IF NOT EXISTS %I.%I ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " table_name VARCHAR(64) NOT NULL, alter_spec LONGTEXT NOT NULL,"
    " phase VARCHAR(32) NOT NULL, outcome VARCHAR(16) NOT NULL,"
    " rows_copied BIGINT NOT NULL DEFAULT 0, rows_estimate BIGINT NOT NULL DEFAULT 0,"
    " changes_applied BIGINT NOT NULL DEFAULT 0, watermark LONGTEXT NULL,"
    " host VARCHAR(255) NULL, pid INT NULL, runs INT NOT NULL DEFAULT 1,"
    " started_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL, finished_at DATETIME(3) NULL,"
    " message LONGTEXT NULL, fingerprint_orig CHAR(64) NOT NULL, fingerprint_new CHAR(64) NULL,"
    " deferred LONGTEXT NULL, shadow_comment LONGTEXT NULL, old_table VARCHAR(64) NULL,"
    " KEY (table_name, id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

bool my_state_exists(My *my, bool *exists, OscErr *e)
{
	Sql q;
	int64_t n = 0;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L", my->db,
	        MY_STATE_TABLE);
	bool ok = my_count(my, &q, &n, e);
	*exists = n > 0;
	sql_free(&q);
	return ok;
}

/* A table made by an older osc lacks the columns of the shadow's comment
 * and of the old table's name. */
static bool add_column(My *my, const char *column, const char *type, OscErr *e)
{
	int64_t has = 0;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " AND COLUMN_NAME = %L",
	        my->db, MY_STATE_TABLE, column);
	bool ok = my_count(my, &q, &has, e);
	if (ok && has == 0) {
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE %I.%I ADD COLUMN %I %s NULL", my->db, MY_STATE_TABLE, column, type);
		ok = my_exec_sql(my, &q, NULL, e);
	}
	sql_free(&q);
	return ok;
}

/* Has the state table the old table's column?  (Readers that must change
 * nothing, osc plan among them, ask instead of adding it.) */
bool my_state_has_old_table(My *my, bool *has, OscErr *e)
{
	int64_t n = 0;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " AND COLUMN_NAME = 'old_table'",
	        my->db, MY_STATE_TABLE);
	bool ok = my_count(my, &q, &n, e);
	*has = n > 0;
	sql_free(&q);
	return ok;
}

static bool state_upgrade(My *my, OscErr *e)
{
	/* the revert's columns: src/my/my_revert_state.c */
	return add_column(my, "shadow_comment", "LONGTEXT", e) && add_column(my, "old_table", "VARCHAR(64)", e) &&
	       add_column(my, "revert", "VARCHAR(16)", e) && add_column(my, "column_map", "LONGTEXT", e) &&
	       add_column(my, "fingerprint_old", "CHAR(64)", e) && add_column(my, "rev_table", "VARCHAR(64)", e);
}

/* Creates the table if needed and inserts this run's row (phase given);
 * old: the name the original takes at the swap (NULL: in place, none). */
static bool insert_row(My *my, const char *phase, const char *old, const char *message, OscErr *e)
{
	Sql q;
	char fp[65], host[256] = "";
	bool ok = false;

	if (!my_fingerprint(my, my->table, fp, sizeof(fp), e))
		return false;
	gethostname(host, sizeof(host) - 1);
	sql_init(&q, &my->dialect);
	sql_add(&q, ddl, my->db, MY_STATE_TABLE);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	if (!state_upgrade(my, e))
		goto out;
	sql_reset(&q);
	sql_add(&q,
	        "INSERT INTO %I.%I (table_name, alter_spec, phase, outcome, rows_estimate, host, pid, started_at,"
	        " updated_at, fingerprint_orig, revert, column_map, old_table, shadow_comment, deferred, message)"
	        " VALUES (%L, %L, %L, 'running', %ld, %L, %d, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), %L, ",
	        my->db, MY_STATE_TABLE, my->table, my->env->alter->text, phase, (long)my->rows_estimate, host,
	        (int)getpid(), fp);
	/* --revertible: revertible once the swap commits (src/my/my_revert_state.c) */
	if (my->revertible && old) {
		sql_add(&q, "'pending', ");
		my_revert_map_json(my, &q);
		sql_add(&q, ", ");
	} else {
		sql_add(&q, "NULL, NULL, ");
	}
	if (old)
		sql_add(&q, "%L, ", old);
	else
		sql_add(&q, "NULL, ");
	if (my->shadow_comment)
		sql_add(&q, "%L, ", my->shadow_comment);
	else
		sql_add(&q, "NULL, ");
	if (my->deferred)
		sql_add(&q, "%L, ", my->deferred);
	else
		sql_add(&q, "NULL, ");
	if (message)
		sql_add(&q, "%L)", message);
	else
		sql_add(&q, "NULL)");
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	my->state_id = (int64_t)mysql_insert_id(my->main.conn);
	ok = true;
out:
	sql_free(&q);
	return ok;
}

bool my_state_create(My *my, OscErr *e)
{
	return insert_row(my, "copy", my->old, NULL, e);
}

/* An ALTER applied in place gets a row too, so that `osc history` shows it
 * and a rerun of the same command finds it done instead of failing on
 * "duplicate column". */
bool my_state_in_place(My *my, const char *strategy, OscErr *e)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "applying the ALTER in place (%s)", strategy);
	return insert_row(my, "in-place", NULL, msg, e);
}

/* The in-place strategy was refused by the server before it changed
 * anything: the shadow copy goes on and makes a row of its own. */
bool my_state_forget(My *my, OscErr *e)
{
	if (my->state_id == 0)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "DELETE FROM %I.%I WHERE id = %ld", my->db, MY_STATE_TABLE, (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	my->state_id = 0;
	return ok;
}

bool my_state_fingerprint_new(My *my, const char *table, OscErr *e)
{
	char fp[65];
	if (my->state_id == 0)
		return true;
	if (!my_fingerprint(my, table, fp, sizeof(fp), e))
		return false;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET fingerprint_new = %L, updated_at = UTC_TIMESTAMP(3) WHERE id = %ld", my->db,
	        MY_STATE_TABLE, fp, (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_state_record(My *my, const char *phase, const char *outcome, const char *message, int64_t rows_copied,
                     int64_t changes_applied, OscErr *e)
{
	if (my->reverting)
		return my_revert_record(my, phase, outcome, message, e);
	if (my->state_id == 0)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET ", my->db, MY_STATE_TABLE);
	if (phase)
		sql_add(&q, "phase = %L, ", phase);
	if (outcome) {
		sql_add(&q, "outcome = %L, ", outcome);
		if (strcmp(outcome, "done") == 0 || strcmp(outcome, "failed") == 0 || strcmp(outcome, "aborted") == 0)
			sql_add(&q, "finished_at = UTC_TIMESTAMP(3), ");
		else
			sql_add(&q, "finished_at = NULL, ");
	}
	if (message)
		sql_add(&q, "message = %L, ", message);
	sql_add(&q, "rows_copied = %ld, changes_applied = %ld, updated_at = UTC_TIMESTAMP(3) WHERE id = %ld",
	        (long)rows_copied, (long)changes_applied, (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* The phase alone: the swap's RENAME committed (my_engine.c). */
bool my_state_record_phase(My *my, const char *phase, OscErr *e)
{
	if (my->state_id == 0)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET phase = %L, updated_at = UTC_TIMESTAMP(3) WHERE id = %ld", my->db, MY_STATE_TABLE,
	        phase, (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* In the chunk's transaction: the watermark as a JSON array of the key's
 * values as the server printed them (hex for binary keys). */
bool my_state_checkpoint(MySession *ses, My *my, const MyKeyVal *wm, int64_t rows_total, int64_t applied, OscErr *e)
{
	if (my->state_id == 0)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET watermark = JSON_ARRAY(", my->db, MY_STATE_TABLE);
	for (int k = 0; k < wm->n; k++)
		sql_add(&q, "%s%L", k ? ", " : "", wm->raw[k]);
	sql_add(&q, "), rows_copied = %ld, changes_applied = %ld, updated_at = UTC_TIMESTAMP(3) WHERE id = %ld",
	        (long)rows_total, (long)applied, (long)my->state_id);
	bool ok = mys_exec_sql(ses, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* The fingerprint of the complete shadow of the table's unfinished
 * migration when it was in its cut-over ("" otherwise): what recognises a
 * shadow whose comment a swap already put back (src/my/my_owned.c). */
bool my_state_shadow_fp(My *my, char *out, size_t outsz, OscErr *e)
{
	MYSQL_RES *r = NULL;
	bool exists = false;
	out[0] = '\0';
	if (!my_state_exists(my, &exists, e))
		return false;
	if (!exists)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	bool has = false;
	bool ok = my_state_has_old_table(my, &has, e);
	sql_add(&q,
	        "SELECT IF(phase = 'cutover', IFNULL(fingerprint_new, ''), ''), %s FROM %I.%I"
	        " WHERE table_name = %L AND outcome IN ('running', 'stopped') ORDER BY id DESC LIMIT 1",
	        has ? "old_table" : "NULL", my->db, MY_STATE_TABLE, my->table);
	ok = ok && my_exec_sql(my, &q, &r, e);
	MYSQL_ROW row = ok ? mysql_fetch_row(r) : NULL;
	enum { F_SHADOW_FP, F_OLD };
	if (row && row[F_SHADOW_FP])
		snprintf(out, outsz, "%s", row[F_SHADOW_FP]);
	/* the name the unfinished run chose for its old table and sentry */
	if (row && row[F_OLD])
		ok = my_old_use(my, row[F_OLD], e);
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* `osc cleanup`: the unfinished migration ends with outcome ("aborted":
 * given up; "done": its swap had committed) and message. */
bool my_state_close(My *my, const char *outcome, const char *message, OscErr *e)
{
	bool exists = false;
	if (!my_state_exists(my, &exists, e))
		return false;
	if (!exists)
		return true;
	bool has = false;
	char fp[65] = "";
	bool done = strcmp(outcome, "done") == 0;
	if (!my_state_has_column(my, "revert", &has, e) || (has && done && !my_fingerprint(my, my->old, fp, sizeof(fp), e)))
		return false;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET ", my->db, MY_STATE_TABLE);
	/* a --revertible migration whose swap had committed is revertible now;
	 * one given up never was (fingerprint_old first: MySQL assigns in order) */
	if (has)
		sql_add(&q,
		        "fingerprint_old = IF(revert = 'pending' AND %s, %L, fingerprint_old),"
		        " revert = IF(revert = 'pending', IF(%s, 'revertible', NULL), revert), ",
		        done ? "TRUE" : "FALSE", fp, done ? "TRUE" : "FALSE");
	sql_add(&q,
	        "outcome = %L, phase = IF(%L = 'done', 'done', phase), finished_at = UTC_TIMESTAMP(3),"
	        " updated_at = UTC_TIMESTAMP(3), message = %L WHERE table_name = %L AND outcome IN ('running', 'stopped')",
	        outcome, outcome, message, my->table);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_state_old_kept(My *my, const char *name, bool *yes, OscErr *e)
{
	bool exists = false;
	int64_t n = 0;
	char first[MY_NAMELEN + 16];
	*yes = false;
	if (!my_state_exists(my, &exists, e))
		return false;
	bool has = false;
	if (!exists)
		return true;
	if (!my_state_has_old_table(my, &has, e))
		return false;
	snprintf(first, sizeof(first), "%s_osc_old", my->table);
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM %I.%I WHERE table_name = %L AND phase IN ('swapped', 'done')"
	        " AND (%s = %L OR (%s IS NULL AND %L = %L))",
	        my->db, MY_STATE_TABLE, my->table, has ? "old_table" : "NULL", name, has ? "old_table" : "NULL", name,
	        first);
	bool ok = my_count(my, &q, &n, e);
	*yes = n > 0;
	sql_free(&q);
	return ok;
}

/* A kill inside the swap (my_swap.c) leaves its sentry T_osc_old: osc's
 * (its mark, src/my/my_owned.c), dropped so that the next swap can make its
 * own. */
static bool drop_sentry(My *my, OscErr *e)
{
	log_msg(my->log, LOG_INFO, "dropping the swap's sentry %s.%s left by the interrupted run", my->db, my->old);
	return my_drop_if_ours(my, MY_ROLE_SENTRY, e);
}

/* What an interrupted swap may have left half done, put back before the
 * run goes on (src/my/my_swap.c): the sentry, the shadow's mark, the
 * user's triggers; my_shadow_reopen then puts back the children's keys and
 * the index on the merge key. */
static bool repair_swap(My *my, const MyObjects *f, OscErr *e)
{
	if (f->table[MY_ROLE_SENTRY] == MY_OURS && !drop_sentry(my, e))
		return false;
	/* a --revertible swap's reverse capture, made under its lock: on the
	 * shadow it would log the replay's merges (the next swap makes it again) */
	if (!my_rcapture_unswapped_drop(my, e))
		return false;
	if (f->shadow_unmarked) {
		log_msg(my->log, LOG_INFO, "%s.%s had its comment back from an interrupted swap: osc's mark again",
		        my->db, my->shadow);
		if (!my_mark(my, MY_ROLE_SHADOW, my->shadow, e))
			return false;
	}
	/* the children's keys go back once the column map is read (my_shadow_reopen) */
	return my_triggers_home(my, e);
}

/* The watermark of the row, as SQL literals (NULL: nothing copied yet). */
static bool load_watermark(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT JSON_LENGTH(watermark)");
	for (int k = 0; k < my->nkeys; k++) {
		char path[32];
		snprintf(path, sizeof(path), "$[%d]", k);
		sql_add(&q, ", JSON_UNQUOTE(JSON_EXTRACT(watermark, %L))", path);
	}
	sql_add(&q, " FROM %I.%I WHERE id = %ld AND watermark IS NOT NULL", my->db, MY_STATE_TABLE, (long)my->state_id);
	bool ok = my_exec_sql(my, &q, &r, e);
	if (ok) {
		enum { W_LENGTH, W_KEY0 };
		MYSQL_ROW row = mysql_fetch_row(r);
		if (row && (row[W_LENGTH] == NULL || atoi(row[W_LENGTH]) != my->nkeys)) {
			err_set(e, OSC_EXIT_FAILED, "internal: the state row of %s.%s has a watermark that does not fit its key",
			        my->db, my->table);
			ok = false;
		} else if (row) {
			my->watermark = my_key_value(my, row, W_KEY0);
		}
	}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* The row a rerun decides from (src/core/resume.c): the latest unfinished
 * migration of the table, else whether this one is done already.  Under
 * the run's GET_LOCK: a row still "running" belongs to a run that is gone.
 * The deferred indexes and the new table's comment are read into my. */
enum { R_ID, R_ALTER, R_PHASE, R_FP_ORIG, R_FP_NEW, R_ROWS, R_CHANGES, R_STARTED, R_RUNS, R_DEFERRED, R_COMMENT, R_OLD,
       R_REVERT };

bool my_state_read(My *my, StateRow *row, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW v;
	Sql q;
	bool ok = false, exists = false;

	row->found = STATE_NONE;
	my->state_id = 0;
	if (!my_state_exists(my, &exists, e))
		return false;
	if (!exists)
		return true;
	if (!state_upgrade(my, e) || !my_fingerprint(my, my->table, row->fingerprint, sizeof(row->fingerprint), e))
		return false;
	sql_init(&q, &my->dialect);
	/* an in-place run has nothing to resume: its ALTER committed or not */
	sql_add(&q,
	        "UPDATE %I.%I SET outcome = 'failed', finished_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3),"
	        " message = 'interrupted while applying the ALTER in place; it committed only if the table shows it'"
	        " WHERE table_name = %L AND phase = 'in-place' AND outcome = 'running'",
	        my->db, MY_STATE_TABLE, my->table);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	sql_reset(&q);
	sql_add(&q,
	        "SELECT id, alter_spec, phase, fingerprint_orig, IFNULL(fingerprint_new, ''), rows_copied, changes_applied,"
	        " " TS("started_at") ", runs, deferred, shadow_comment, old_table, IFNULL(revert, '')"
	        " FROM %I.%I WHERE table_name = %L AND outcome IN ('running', 'stopped') ORDER BY id DESC LIMIT 1",
	        my->db, MY_STATE_TABLE, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	v = mysql_fetch_row(r);
	if (v == NULL) {
		/* nothing unfinished: is this exact migration already done? */
		mysql_free_result(r);
		r = NULL;
		sql_reset(&q);
		sql_add(&q,
		        "SELECT " TS("finished_at") " FROM %I.%I WHERE table_name = %L AND alter_spec = %L AND outcome = 'done'"
		        " AND fingerprint_new = %L ORDER BY id DESC LIMIT 1",
		        my->db, MY_STATE_TABLE, my->table, my->env->alter->text, row->fingerprint);
		if (!my_exec_sql(my, &q, &r, e))
			goto out;
		if ((v = mysql_fetch_row(r)) != NULL) {
			row->found = STATE_DONE;
			snprintf(row->done_at, sizeof(row->done_at), "%s", v[MY_VALUE] ? v[MY_VALUE] : "?");
		}
		ok = true;
		goto out;
	}
	row->found = STATE_UNFINISHED;
	my->state_id = strtoll(v[R_ID], NULL, 10);
	row->alter = my_strdup(v[R_ALTER]);
	snprintf(row->phase, sizeof(row->phase), "%s", v[R_PHASE]);
	snprintf(row->fp_orig, sizeof(row->fp_orig), "%s", v[R_FP_ORIG]);
	snprintf(row->fp_new, sizeof(row->fp_new), "%s", v[R_FP_NEW]);
	row->rows_copied = strtoll(v[R_ROWS], NULL, 10);
	row->changes_applied = strtoll(v[R_CHANGES], NULL, 10);
	snprintf(row->started, sizeof(row->started), "%s", v[R_STARTED] ? v[R_STARTED] : "?");
	row->runs = atoi(v[R_RUNS]);
	free(my->resume_deferred);
	my->resume_deferred = v[R_DEFERRED] ? my_strdup(v[R_DEFERRED]) : NULL;
	free(my->shadow_comment);
	my->shadow_comment = v[R_COMMENT] ? my_strdup(v[R_COMMENT]) : NULL;
	/* the old table's name this migration chose (src/my/my_old.c): its
	 * sentry, and the original after the swap, whatever the kill left */
	if (v[R_OLD] && !my_old_use(my, v[R_OLD], e))
		goto out;
	/* a --revertible migration stays one, whatever the rerun says */
	my->revertible = v[R_REVERT][0] != '\0';
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* The catalog decides whether the swap happened: the RENAME commits on its
 * own connection, before the row can say so.  Only osc's objects count
 * (src/my/my_owned.c); before the swap, an object of osc's name that is not
 * osc's is refused. */
bool my_state_swapped(My *my, const StateRow *row, bool *swapped, char *detail, size_t detailsz, OscErr *e)
{
	/* the RENAME runs only in the cutover phase (an ALTER that changes
	 * nothing the fingerprint sees, FORCE say, has fp_new == fp_orig: a
	 * shadow lost earlier is not a swap) */
	bool in_cutover = strcmp(row->phase, "cutover") == 0 || strcmp(row->phase, "swapped") == 0;
	MyObjects *f = &my->found;
	if (!my_objects_scan(my, in_cutover ? row->fp_new : NULL, f, e))
		return false;
	bool shadow = f->table[MY_ROLE_SHADOW] != MY_ABSENT;
	*swapped = in_cutover && !shadow && row->fp_new[0] && strcmp(row->fingerprint, row->fp_new) == 0;
	snprintf(detail, detailsz, "%s.%s has the new schema%s", my->db, my->table,
	         f->table[MY_ROLE_SENTRY] != MY_ABSENT ? ", the original is kept as the old table" : "");
	/* after the swap the old table is the original, not osc's */
	return *swapped || my_objects_refuse_foreign(my, f, e);
}

/* The unfinished migration's objects, taken up (after my_state_swapped):
 * the shadow, the change log and the three capture triggers must be osc's
 * and there; an interrupted swap is undone; the plan as the first run made
 * it, the watermark. */
bool my_state_attach(My *my, bool copy_done, const char **lost, OscErr *e)
{
	const MyObjects *f = &my->found;
	*lost = f->table[MY_ROLE_SHADOW] != MY_OURS ? "shadow table"
	        : f->table[MY_ROLE_LOG] != MY_OURS  ? "change log"
	        : f->capture != 3                   ? "capture triggers"
	                                            : NULL;
	if (*lost)
		return true;
	if (my->env->revertible && !my->revertible) {
		err_set(e, OSC_EXIT_INPUT,
		        "the unfinished migration of %s.%s was started without --revertible, and its new table was made "
		        "without the checks a revert needs: rerun it without --revertible, or `osc cleanup --table %s` and "
		        "start again",
		        my->db, my->table, my->env->table_arg);
		my->state_id = 0;
		return false;
	}
	if (!repair_swap(my, f, e)) {
		my->state_id = 0;
		return false;
	}
	if (!my_shadow_reopen(my, my->resume_deferred, copy_done, e) || !load_watermark(my, e))
		return false;
	my->copy_done = copy_done;
	return true;
}

/* This run is now the migration's runner, in phase. */
bool my_state_claim(My *my, const char *phase, OscErr *e)
{
	Sql q;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "UPDATE %I.%I SET outcome = 'running', phase = %L, host = %L, pid = %d, runs = runs + 1,"
	        " updated_at = UTC_TIMESTAMP(3) WHERE id = %ld",
	        my->db, MY_STATE_TABLE, phase, host, (int)getpid(), (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}
