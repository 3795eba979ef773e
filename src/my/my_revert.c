/*
 * my_revert.c — `osc revert` and `osc finish` on MySQL/MariaDB: the
 * engine's revert_attach and revert_finish (src/core/engine.h; the core's
 * pipeline is src/core/revert.c).
 *
 * After a --revertible migration's swap, T is the new table with the
 * reverse capture on it (T_osc_rins/rupd/rdel logging into T_osc_rlog:
 * src/my/my_revert_capture.c) and the original is kept as T_osc_old, up to
 * date but for the keys in the reverse log.  A revert is then the second
 * half of a migration from the new schema back to the old one, and
 * revert_attach turns the table around so that the forward run's own code
 * does it:
 *   original   T (the new table)
 *   shadow     T_osc_old (the forward run's original)
 *   change log T_osc_rlog, captured by T_osc_r* (the names trade places
 *              with the forward capture's: my_rcapture_turn_names)
 *   key        the columns the reverse log holds, by a unique index of T
 *              over them (the forward check kept one: my_revert_check.c)
 *   column map the inverse of the forward one (the state row keeps that):
 *              each column of T_osc_old from the column of T the forward
 *              copy filled from it; an added column is left out, a dropped
 *              one is not in the INSERT (its default or NULL), a renamed
 *              one goes back, a retyped one is assigned back under strict
 *              sql_mode (a value out of range fails, my_revert_data.c)
 *   copy       done: every key but the logged ones is in step
 *   old        T_osc_rev: the sentry of the swap back, then the name of
 *              the new-schema table (chosen here and recorded in the row
 *              before any swap, so a rerun after a kill finds it)
 * The replay (replicator/replay.c) and the swap (my_swap.c) then run
 * unchanged: T's user triggers go to T_osc_old under the lock, child
 * tables' keys are repointed to it (rebuild_constraints), and the RENAME is
 * T TO T_osc_rev, T_osc_old TO T.  The swap records phase 'reverted' as it
 * commits; the cleanup after it removes the reverse capture (now on
 * T_osc_rev) and its log, and T_osc_rev only with --drop-old-table.
 *
 * Refused, exit 2, nothing changed: a table without a revertible
 * migration; a migration whose cleanup after its swap never finished; T or
 * T_osc_old changed since the swap (their fingerprints, recorded at the
 * swap: the inverse map would no longer fit); the reverse capture or the
 * original gone.  A revert killed before its swap committed left at most
 * what a killed swap leaves (the sentry, T's triggers on T_osc_old, child
 * keys repointed): put back here.  Killed after: the row's phase, or the
 * catalog (T has the original's fingerprint, T_osc_rev the new table's,
 * T_osc_old is gone), says the swap happened, and only the cleanup is left.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

/* The table's revertible migration, as its state row has it. */
typedef struct RevRow {
	int64_t id;
	char *alter;
	bool has_map;
	char revert[17], phase[33], outcome[17];
	char old[MY_NAMELEN + 1], rev[MY_NAMELEN + 1];
	char fp_new[65], fp_old[65];
} RevRow;

static bool table_exists(My *my, const char *name, bool *yes, OscErr *e)
{
	int64_t n = 0;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L", my->db,
	        name);
	bool ok = my_count(my, &q, &n, e);
	*yes = n > 0;
	sql_free(&q);
	return ok;
}

/* No revertible migration: why, from the table's last --revertible row. */
static bool none(My *my, bool recorded, OscErr *e)
{
	const char *why = "";
	MYSQL_RES *r = NULL;
	if (recorded) {
		Sql q;
		sql_init(&q, &my->dialect);
		sql_add(&q,
		        "SELECT revert FROM %I.%I WHERE table_name = %L AND revert IS NOT NULL ORDER BY id DESC LIMIT 1",
		        my->db, MY_STATE_TABLE, my->table);
		bool ok = my_exec_sql(my, &q, &r, e);
		sql_free(&q);
		if (!ok)
			return false;
		MYSQL_ROW row = mysql_fetch_row(r);
		if (row && row[MY_VALUE])
			why = strcmp(row[MY_VALUE], "reverted") == 0   ? " (its last --revertible migration was reverted)"
			      : strcmp(row[MY_VALUE], "finished") == 0 ? " (its last --revertible migration was finished)"
			      : strcmp(row[MY_VALUE], "pending") == 0  ? " (its --revertible migration has not swapped yet)"
			                                               : "";
	}
	err_set(e, OSC_EXIT_INPUT,
	        "%s.%s has no revertible migration%s: `osc revert` and `osc finish` act on a migration run with "
	        "--revertible, after its swap; nothing changed",
	        my->db, my->table, why);
	mysql_free_result(r);
	return false;
}

static bool find_row(My *my, RevRow *rr, OscErr *e)
{
	bool exists = false, has = false;
	MYSQL_RES *r = NULL;
	if (!my_state_exists(my, &exists, e) || (exists && !my_state_has_column(my, "revert", &has, e)))
		return false;
	if (!exists || !has)
		return none(my, false, e);
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT id, alter_spec, revert, phase, outcome, IFNULL(old_table, ''), column_map IS NOT NULL,"
	        " IFNULL(fingerprint_new, ''), IFNULL(fingerprint_old, ''), IFNULL(rev_table, '')"
	        " FROM %I.%I WHERE table_name = %L AND revert IN ('revertible', 'reverting') ORDER BY id DESC LIMIT 1",
	        my->db, MY_STATE_TABLE, my->table);
	bool ok = my_exec_sql(my, &q, &r, e);
	sql_free(&q);
	if (!ok)
		return false;
	enum { V_ID, V_ALTER, V_REVERT, V_PHASE, V_OUTCOME, V_OLD, V_MAP, V_FP_NEW, V_FP_OLD, V_REV };
	MYSQL_ROW v = mysql_fetch_row(r);
	if (v == NULL) {
		mysql_free_result(r);
		return none(my, true, e);
	}
	rr->id = strtoll(v[V_ID], NULL, 10);
	rr->alter = my_strdup(v[V_ALTER]);
	rr->has_map = strcmp(v[V_MAP], "1") == 0;
	snprintf(rr->revert, sizeof(rr->revert), "%s", v[V_REVERT]);
	snprintf(rr->phase, sizeof(rr->phase), "%s", v[V_PHASE]);
	snprintf(rr->outcome, sizeof(rr->outcome), "%s", v[V_OUTCOME]);
	snprintf(rr->old, sizeof(rr->old), "%s", v[V_OLD]);
	snprintf(rr->fp_new, sizeof(rr->fp_new), "%s", v[V_FP_NEW]);
	snprintf(rr->fp_old, sizeof(rr->fp_old), "%s", v[V_FP_OLD]);
	snprintf(rr->rev, sizeof(rr->rev), "%s", v[V_REV]);
	mysql_free_result(r);
	if (strcmp(rr->outcome, "done") != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "the --revertible migration of %s.%s (`%s`) swapped, but its cleanup did not finish: rerun its "
		        "command, or `osc cleanup --table %s`, first; nothing changed",
		        my->db, my->table, rr->alter, my->env->table_arg);
		return false;
	}
	if (rr->old[0] == '\0' || !rr->has_map || rr->fp_new[0] == '\0' || rr->fp_old[0] == '\0') {
		err_set(e, OSC_EXIT_INPUT, "the state row of %s.%s's revertible migration is incomplete; nothing changed",
		        my->db, my->table);
		return false;
	}
	return true;
}

/* Did a revert's swap commit?  Its phase says so, written right after the
 * RENAME; a kill in between: T has the original's definition again, the
 * new-schema table is at rev_table, and T_osc_old is gone. */
static bool swapped_back(My *my, const RevRow *rr, bool old_there, bool *swapped, OscErr *e)
{
	bool rev_there = false;
	char fp_t[65], fp_rev[65];
	*swapped = strcmp(rr->phase, "reverted") == 0;
	if (*swapped || old_there || rr->rev[0] == '\0')
		return true;
	if (!table_exists(my, rr->rev, &rev_there, e))
		return false;
	if (!rev_there)
		return true;
	if (!my_fingerprint(my, my->table, fp_t, sizeof(fp_t), e) || !my_fingerprint(my, rr->rev, fp_rev, sizeof(fp_rev), e))
		return false;
	*swapped = strcmp(fp_t, rr->fp_old) == 0 && strcmp(fp_rev, rr->fp_new) == 0;
	return true;
}

/* T and the original as the swap left them, the reverse capture whole. */
static bool unchanged(My *my, const RevRow *rr, OscErr *e)
{
	char fp[65];
	if (!my_fingerprint(my, my->table, fp, sizeof(fp), e))
		return false;
	if (strcmp(fp, rr->fp_new) != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "the definition of %s.%s changed since the swap of `%s` (another ALTER?): its rows no longer map "
		        "back to the original; nothing changed (`osc finish --table %s` ends revertibility)",
		        my->db, my->table, rr->alter, my->env->table_arg);
		return false;
	}
	if (!my_fingerprint(my, my->shadow, fp, sizeof(fp), e))
		return false;
	if (strcmp(fp, rr->fp_old) != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "the definition of the original %s.%s changed since the swap of `%s`: osc will not revert into it; "
		        "nothing changed (`osc finish --table %s` ends revertibility)",
		        my->db, my->shadow, rr->alter, my->env->table_arg);
		return false;
	}
	MyObjects o;
	if (!my_objects_scan(my, NULL, &o, e))
		return false;
	const char *lost = o.table[MY_ROLE_LOG] != MY_OURS ? my->log_table
	                   : o.trigger[0] != MY_OURS        ? my->trg_ins
	                   : o.trigger[1] != MY_OURS        ? my->trg_upd
	                   : o.trigger[2] != MY_OURS        ? my->trg_del
	                                                    : NULL;
	if (lost) {
		err_set(e, OSC_EXIT_INPUT,
		        "the reverse capture of %s.%s is not whole (%s is missing): writes since the swap may not be in the "
		        "original, so osc will not revert; nothing changed (`osc finish --table %s` ends revertibility)",
		        my->db, my->table, lost, my->env->table_arg);
		return false;
	}
	return true;
}

/* Candidate n of the name the swap back gives the new-schema table: it
 * begins with T's whole name, as the swap's names must (my_swap.c). */
static bool rev_name(My *my, int n, char *out, size_t outsz)
{
	char suffix[24];
	if (n == 1)
		snprintf(suffix, sizeof(suffix), "_osc_rev");
	else
		snprintf(suffix, sizeof(suffix), "_osc_rev_%d", n);
	if (strlen(my->table) + strlen(suffix) > MY_NAMELEN && n > 1)
		snprintf(suffix, sizeof(suffix), "_osc_r%d", n);
	if (strlen(my->table) + strlen(suffix) > MY_NAMELEN)
		return false;
	return snprintf(out, outsz, "%s%s", my->table, suffix) < (int)outsz;
}

/* my->old: the recorded name when it is free or a killed attempt's sentry,
 * else the first free one, recorded; a sentry left there goes. */
static bool choose_rev(My *my, RevRow *rr, OscErr *e)
{
	MyOwner who = MY_ABSENT;
	if (rr->rev[0] && !my_table_owner(my, rr->rev, MY_ROLE_SENTRY, &who, e))
		return false;
	if (rr->rev[0] == '\0' || who == MY_FOREIGN) {
		char name[MY_NAMELEN + 1];
		rr->rev[0] = '\0';
		for (int n = 1; n <= OSC_OLD_MAX && rr->rev[0] == '\0' && rev_name(my, n, name, sizeof(name)); n++) {
			bool there = true;
			if (!table_exists(my, name, &there, e))
				return false;
			if (!there)
				snprintf(rr->rev, sizeof(rr->rev), "%s", name);
		}
		if (rr->rev[0] == '\0') {
			err_set(e, OSC_EXIT_INPUT,
			        "no free name for the new-schema table after the revert (%s_osc_rev and the numbered ones "
			        "after it are taken); drop the ones you no longer need; nothing changed",
			        my->table);
			return false;
		}
		Sql q;
		sql_init(&q, &my->dialect);
		sql_add(&q, "UPDATE %I.%I SET rev_table = %L, updated_at = UTC_TIMESTAMP(3) WHERE id = %ld", my->db,
		        MY_STATE_TABLE, rr->rev, (long)rr->id);
		bool ok = my_exec_sql(my, &q, NULL, e);
		sql_free(&q);
		if (!ok)
			return false;
	}
	snprintf(my->old, sizeof(my->old), "%s", rr->rev);
	my->old_fixed = true;
	if (who == MY_OURS) {
		log_msg(my->log, LOG_INFO, "dropping the swap's sentry %s.%s left by an interrupted revert", my->db, my->old);
		return my_drop_if_ours(my, MY_ROLE_SENTRY, e);
	}
	return true;
}

/* The forward column map from the state row: pairs (new, source). */
static bool read_map(My *my, int64_t id, char ***news, char ***sources, int *n, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;
	*n = 0;
	*news = *sources = NULL;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT JSON_LENGTH(column_map) FROM %I.%I WHERE id = %ld", my->db, MY_STATE_TABLE, (long)id);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	row = mysql_fetch_row(r);
	int len = row && row[MY_VALUE] ? atoi(row[MY_VALUE]) : 0;
	mysql_free_result(r);
	r = NULL;
	if (len <= 0) {
		ok = true;
		goto out;
	}
	sql_reset(&q);
	sql_add(&q, "SELECT ");
	for (int i = 0; i < len; i++) {
		char p0[32], p1[32];
		snprintf(p0, sizeof(p0), "$[%d][0]", i);
		snprintf(p1, sizeof(p1), "$[%d][1]", i);
		sql_add(&q, "%sJSON_UNQUOTE(JSON_EXTRACT(column_map, %L)), JSON_UNQUOTE(JSON_EXTRACT(column_map, %L))",
		        i ? ", " : "", p0, p1);
	}
	sql_add(&q, " FROM %I.%I WHERE id = %ld", my->db, MY_STATE_TABLE, (long)id);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	row = mysql_fetch_row(r);
	*news = xcalloc((size_t)len, sizeof(char *));
	*sources = xcalloc((size_t)len, sizeof(char *));
	for (int i = 0; row && i < len; i++) {
		(*news)[*n] = my_strdup(row[2 * i] ? row[2 * i] : "");
		(*sources)[*n] = my_strdup(row[2 * i + 1] ? row[2 * i + 1] : "");
		(*n)++;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

static void free_names(char **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static bool generated(const char *extra)
{
	return extra && (strstr(extra, "GENERATED") || strstr(extra, "PERSISTENT") || strstr(extra, "VIRTUAL") ||
	                 strstr(extra, "STORED"));
}

/* The inverse column map: each column of the original (the shadow now)
 * from the column of T the forward copy filled from it (see the banner). */
static bool inverse_map(My *my, int64_t id, OscErr *e)
{
	MYSQL_RES *ro = NULL, *rt = NULL;
	MYSQL_ROW o, t;
	char **news = NULL, **sources = NULL;
	int n = 0;
	Sql q;
	bool ok = false;

	sql_init(&q, &my->dialect);
	if (!read_map(my, id, &news, &sources, &n, e))
		goto out;
	enum { C_NAME, C_EXTRA };
	sql_add(&q,
	        "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " ORDER BY ORDINAL_POSITION",
	        my->db, my->shadow);
	if (!my_exec_sql(my, &q, &ro, e))
		goto out;
	sql_reset(&q);
	sql_add(&q,
	        "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &rt, e))
		goto out;
	for (int i = 0; i < my->ncols; i++) {
		free(my->cols[i].name);
		free(my->cols[i].source);
	}
	free(my->cols);
	my->ncols = 0;
	my->cols = xcalloc(mysql_num_rows(ro) + 1, sizeof(MyCol));
	while ((o = mysql_fetch_row(ro)) != NULL) {
		const char *from = NULL;
		if (generated(o[C_EXTRA]))
			continue; /* the server computes it */
		for (int i = 0; i < n && from == NULL; i++) {
			if (strcmp(sources[i], o[C_NAME]) != 0)
				continue;
			mysql_data_seek(rt, 0);
			while (from == NULL && (t = mysql_fetch_row(rt)) != NULL)
				if (strcmp(t[C_NAME], news[i]) == 0)
					from = t[C_NAME];
		}
		/* a column the ALTER made generated: the copy did not fill it, but
		 * it has the value */
		mysql_data_seek(rt, 0);
		while (from == NULL && (t = mysql_fetch_row(rt)) != NULL)
			if (strcasecmp(t[C_NAME], o[C_NAME]) == 0 && generated(t[C_EXTRA]))
				from = t[C_NAME];
		if (from == NULL)
			continue; /* dropped by the ALTER: its default or NULL */
		MyCol *c = &my->cols[my->ncols++];
		c->name = my_strdup(o[C_NAME]);
		c->source = my_strdup(from);
	}
	ok = true;
out:
	free_names(news, n);
	free_names(sources, n);
	mysql_free_result(ro);
	mysql_free_result(rt);
	sql_free(&q);
	return ok;
}

static void keys_free(My *my)
{
	for (int k = 0; k < my->nkeys; k++) {
		free(my->keys[k].name);
		free(my->keys[k].shadow);
		free(my->keys[k].charset);
		free(my->keys[k].type);
	}
	free(my->keys);
	my->keys = NULL;
	my->nkeys = 0;
	free(my->key_index);
	my->key_index = NULL;
}

/* The key the reverse log holds (T's columns), by a unique index of T over
 * exactly them, and each one's column in the original. */
static bool revert_key(My *my, OscErr *e)
{
	MYSQL_RES *rl = NULL, *rt = NULL;
	MYSQL_ROW row;
	Sql q;
	char index[MY_NAMELEN + 1];
	char **names = NULL;
	int n = 0;
	bool ok = false;

	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " AND COLUMN_NAME <> '_osc_change_id' ORDER BY ORDINAL_POSITION",
	        my->db, my->log_table);
	if (!my_exec_sql(my, &q, &rl, e))
		goto out;
	names = xcalloc(mysql_num_rows(rl) + 1, sizeof(char *));
	while ((row = mysql_fetch_row(rl)) != NULL)
		names[n++] = row[MY_VALUE];
	if (n == 0 || !my_unique_index_over(my, my->table, names, n, index, sizeof(index), e) || index[0] == '\0') {
		if (n == 0 || index[0] == '\0')
			err_set(e, OSC_EXIT_INPUT,
			        "%s.%s has no unique index over the key its reverse log holds any more; nothing changed "
			        "(`osc finish --table %s` ends revertibility)",
			        my->db, my->table, my->env->table_arg);
		goto out;
	}
	sql_reset(&q);
	sql_add(&q,
	        "SELECT COLUMN_NAME, DATA_TYPE, IFNULL(CHARACTER_SET_NAME, ''), COLUMN_TYPE FROM information_schema.COLUMNS"
	        " WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &rt, e))
		goto out;
	keys_free(my);
	my->key_index = my_strdup(index);
	my->keys = xcalloc((size_t)n, sizeof(MyKey));
	enum { K_NAME, K_DATA_TYPE, K_CHARSET, K_COLUMN_TYPE };
	for (int k = 0; k < n; k++) {
		MyKey *key = &my->keys[my->nkeys++];
		mysql_data_seek(rt, 0);
		while ((row = mysql_fetch_row(rt)) != NULL && strcmp(row[K_NAME], names[k]) != 0)
			;
		key->name = my_strdup(names[k]);
		for (int i = 0; i < my->ncols && key->shadow == NULL; i++)
			if (strcmp(my->cols[i].source, names[k]) == 0)
				key->shadow = my_strdup(my->cols[i].name);
		if (row == NULL || key->shadow == NULL) {
			err_set(e, OSC_EXIT_INPUT, "key column %s of %s.%s has no column of the original to go back to", names[k],
			        my->db, my->table);
			goto out;
		}
		key->kind = my_key_kind(row[K_DATA_TYPE], row[K_CHARSET]);
		key->charset = my_strdup(row[K_CHARSET]);
		key->type = my_strdup(row[K_COLUMN_TYPE]);
		if (key->kind == MY_KEY_HEX && !my_key_charset_ok(key->charset)) {
			err_set(e, OSC_EXIT_INPUT, "%s.%s: key column %s has a character set osc cannot name (%s)", my->db,
			        my->table, names[k], key->charset);
			goto out;
		}
	}
	ok = true;
out:
	free(names);
	mysql_free_result(rl);
	mysql_free_result(rt);
	sql_free(&q);
	return ok;
}

static bool backlog(My *my, int64_t *n, OscErr *e)
{
	bool there = false;
	*n = 0;
	if (!table_exists(my, my->log_table, &there, e))
		return false;
	if (!there)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM %I.%I", my->db, my->log_table);
	bool ok = my_count(my, &q, n, e);
	sql_free(&q);
	return ok;
}

/* What a revert killed under its swap's lock left, put back (as a forward
 * rerun does, my_state.c): T's triggers moved to the original, child keys
 * repointed to it, osc's index on its key dropped. */
static bool repair(My *my, OscErr *e)
{
	return my_triggers_home(my, e) && my_fkeys_unpoint(my, e);
}

/* The revert's view of the table (see the banner). */
static bool turn_around(My *my, RevRow *rr, OscErr *e)
{
	if (!unchanged(my, rr, e) || !choose_rev(my, rr, e) || !inverse_map(my, rr->id, e) || !revert_key(my, e) ||
	    !repair(my, e))
		return false;
	my_triggers_free(my->user_triggers, my->nuser_triggers);
	my->user_triggers = NULL;
	my->nuser_triggers = 0;
	if (!my_triggers_read(my, my->table, &my->user_triggers, &my->nuser_triggers, e) ||
	    !my_fkeys_read_children(my, e) || !my_keyidx_ensure(my, e))
		return false;
	my->copy_done = true;
	my->reverting = true;
	return true;
}

bool my_revert_attach(My *my, bool finish, RevertInfo *ri, OscErr *e)
{
	RevRow rr;
	bool old_there = false, swapped = false, ok = false;
	char old[MY_NAMELEN + 1];

	memset(&rr, 0, sizeof(rr));
	if (!find_row(my, &rr, e) || !my_old_use(my, rr.old, e))
		goto out;
	my->state_id = rr.id;
	ri->alter = my_strdup(rr.alter);
	snprintf(old, sizeof(old), "%s", my->old);
	snprintf(ri->old, sizeof(ri->old), "%s.%s", my->db, old);
	/* the names as the revert sees them: T_osc_old the shadow, the reverse
	 * capture the capture */
	my_rcapture_turn_names(my);
	snprintf(my->shadow, sizeof(my->shadow), "%s", old);
	if (!table_exists(my, old, &old_there, e) || !swapped_back(my, &rr, old_there, &swapped, e))
		goto out;
	if (swapped && finish) {
		err_set(e, OSC_EXIT_INPUT,
		        "the revert of %s.%s had swapped back when it stopped: rerun `osc revert --table %s` to finish it",
		        my->db, my->table, my->env->table_arg);
		goto out;
	}
	if (swapped) {
		/* only the cleanup after the swap back is left (src/core/revert.c) */
		snprintf(my->old, sizeof(my->old), "%s", rr.rev);
		my->reverting = true;
		ri->swapped = true;
		ok = true;
		goto out;
	}
	if (!old_there && !finish) {
		err_set(e, OSC_EXIT_INPUT,
		        "the original %s.%s is gone: there is nothing to revert to; nothing changed (`osc finish --table %s` "
		        "ends revertibility)",
		        my->db, old, my->env->table_arg);
		goto out;
	}
	if (!backlog(my, &ri->backlog, e))
		goto out;
	if (finish) {
		/* a revert killed under its lock may have left T's triggers and
		 * child keys on the original: they go back to T first; the
		 * original keeps its name, which --drop-old-table drops */
		ok = !old_there || (inverse_map(my, rr.id, e) && repair(my, e));
		if (ok && rr.rev[0]) {
			MyOwner who = MY_ABSENT;
			snprintf(my->old, sizeof(my->old), "%s", rr.rev);
			ok = my_table_owner(my, rr.rev, MY_ROLE_SENTRY, &who, e) &&
			     (who != MY_OURS || my_drop_if_ours(my, MY_ROLE_SENTRY, e));
		}
		snprintf(my->old, sizeof(my->old), "%s", old);
		goto out;
	}
	ok = turn_around(my, &rr, e);
out:
	free(rr.alter);
	return ok;
}

/* Does a foreign key of another table reference the original? */
static bool referenced(My *my, const char *table, bool *yes, OscErr *e)
{
	int64_t n = 0;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = %L"
	        " AND REFERENCED_TABLE_NAME = %L AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L)",
	        my->db, table, my->db, table);
	bool ok = my_count(my, &q, &n, e);
	*yes = n > 0;
	sql_free(&q);
	return ok;
}

bool my_revert_finish(My *my, bool drop_old, OscErr *e)
{
	bool refs = false;
	/* refused before anything goes */
	if (drop_old && !referenced(my, my->old, &refs, e))
		return false;
	if (refs) {
		err_set(e, OSC_EXIT_INPUT,
		        "other tables' foreign keys reference the original %s.%s: repoint them, or finish without "
		        "--drop-old-table; nothing changed",
		        my->db, my->old);
		return false;
	}
	/* the heartbeat a failed revert may have left too */
	if (!my_capture_drop(my, e) || !my_drop_if_ours(my, MY_ROLE_LOG, e) || !my_drop_if_ours(my, MY_ROLE_HEARTBEAT, e))
		return false;
	if (drop_old) {
		Sql d;
		sql_init(&d, &my->dialect);
		sql_add(&d, "DROP TABLE IF EXISTS %I.%I", my->db, my->old);
		bool ok = my_exec_sql(my, &d, NULL, e);
		sql_free(&d);
		if (!ok)
			return false;
	}
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "UPDATE %I.%I SET revert = 'finished', phase = 'done', message = %L, updated_at = UTC_TIMESTAMP(3)"
	        " WHERE id = %ld",
	        my->db, MY_STATE_TABLE,
	        drop_old ? "finished by osc finish: the reverse capture and the original are dropped"
	                 : "finished by osc finish: the reverse capture is dropped, the original kept",
	        (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}
