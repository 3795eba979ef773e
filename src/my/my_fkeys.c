/*
 * my_fkeys.c — MySQL/MariaDB foreign keys: the table's own, and child
 * tables' (--alter-foreign-keys-method, after pt-online-schema-change).
 *
 * CREATE TABLE ... LIKE copies no foreign key, so the table's own are added
 * to the shadow after the copy.  osc's session runs with foreign_key_checks
 * off (src/my/my_engine.c): every row it writes to the shadow came from the
 * original, where the keys held; InnoDB then adds them in place, and the
 * replay's delete-and-reinsert never cascades or trips over a reference
 * from the table to itself.
 * Constraint names are unique per database, so each takes pt-osc's
 * alternate name: a leading underscore added, or removed if it has one.  A
 * foreign key from the table to itself references the shadow.  A `DROP
 * FOREIGN KEY fk` in the ALTER is taken out of the text applied to the
 * empty shadow (which has none to drop) and fk is not added.
 *
 * A child table's foreign key follows its parent through a RENAME: after
 * the swap it would reference T_osc_old.  So osc refuses a table that child
 * tables reference unless --alter-foreign-keys-method says what to do:
 *   none                 pt-osc's meaning: the children keep referencing the
 *                        old table, which is then kept; the DBA repoints them.
 *   rebuild_constraints  under the swap's lock (the children are locked too),
 *                        each child's key is dropped and added again, same
 *                        name, referencing the shadow; the RENAME then carries
 *                        the reference to the new T.  With foreign_key_checks
 *                        off both ALTERs are in place and touch no row
 *                        (ALGORITHM=INPLACE says so: a child ALTER that would
 *                        copy its table fails instead of stalling writers):
 *                        about 35 ms each, for a child of 1k rows or of 1M.
 *   drop_swap            under the lock the original is dropped, and the
 *                        queued RENAME shadow TO T brings the new table in; the
 *                        children's keys, which name T, then reference it.
 *                        Not atomic: between the unlock and the RENAME a child
 *                        write finds no parent (src/my/my_swap.c, README).
 *   auto                 rebuild_constraints, unless its ALTERs (two per child
 *                        key, each estimated as twice the least of three
 *                        timings of a metadata-only ALTER of the shadow) would
 *                        hold the lock longer than
 *                        --chunk-time: then drop_swap.  pt-osc compares the
 *                        children's sizes with its copy rate, because its
 *                        rebuild copies them; osc's does not.
 */
#include "my.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One foreign key as information_schema describes it; the strings belong
 * to the result being read. */
typedef struct FkDef {
	const char *db, *table, *name, *ref_db, *ref_table, *upd, *del;
	const char *cols[64], *refs[64];
	int n;
} FkDef;

typedef bool (*FkFn)(My *my, const FkDef *fk, void *ctx, OscErr *e);

static bool fk_each_of(My *my, const char *parent, bool children, FkFn fn, void *ctx, OscErr *e);

static bool fk_each(My *my, bool children, FkFn fn, void *ctx, OscErr *e)
{
	return fk_each_of(my, my->table, children, fn, ctx, e);
}

/* Calls fn for each foreign key of the table (children false) or of the
 * other tables that reference it (children true; parent: the table, or
 * the shadow). */
static bool fk_each_of(My *my, const char *parent, bool children, FkFn fn, void *ctx, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;
	FkDef fk;

	memset(&fk, 0, sizeof(fk));
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, rc.UNIQUE_CONSTRAINT_SCHEMA,"
	        " rc.REFERENCED_TABLE_NAME, rc.UPDATE_RULE, rc.DELETE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME"
	        " FROM information_schema.REFERENTIAL_CONSTRAINTS rc JOIN information_schema.KEY_COLUMN_USAGE k"
	        "  ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME"
	        "  AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME");
	if (children)
		sql_add(&q,
		        " WHERE rc.UNIQUE_CONSTRAINT_SCHEMA = %L AND rc.REFERENCED_TABLE_NAME = %L"
		        " AND NOT (rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L)",
		        my->db, parent, my->db, parent);
	else
		sql_add(&q, " WHERE rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L", my->db, parent);
	sql_add(&q, " ORDER BY rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION");
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	for (;;) {
		row = mysql_fetch_row(r);
		bool same = row && fk.n > 0 && strcmp(row[0], fk.db) == 0 && strcmp(row[1], fk.table) == 0 &&
		            strcmp(row[2], fk.name) == 0;
		if (fk.n > 0 && !same) {
			if (!fn(my, &fk, ctx, e))
				goto out;
			fk.n = 0;
		}
		if (row == NULL)
			break;
		if (fk.n == (int)(sizeof(fk.cols) / sizeof(fk.cols[0]))) {
			err_set(e, OSC_EXIT_INPUT, "foreign key %s has more columns than osc handles", row[2]);
			goto out;
		}
		fk.db = row[0];
		fk.table = row[1];
		fk.name = row[2];
		fk.ref_db = row[3];
		fk.ref_table = row[4];
		fk.upd = row[5];
		fk.del = row[6];
		fk.cols[fk.n] = row[7];
		fk.refs[fk.n] = row[8];
		fk.n++;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

static MyFkMethod parse_method(const char *s)
{
	if (s == NULL)
		return MY_FK_REFUSE;
	if (strcmp(s, "none") == 0)
		return MY_FK_NONE;
	if (strcmp(s, "rebuild_constraints") == 0)
		return MY_FK_REBUILD;
	if (strcmp(s, "drop_swap") == 0)
		return MY_FK_DROP_SWAP;
	if (strcmp(s, "auto") == 0)
		return MY_FK_AUTO;
	return (MyFkMethod)-1;
}

/* Refuses child tables unless the method allows them; counts them. */
bool my_fkeys_check_children(My *my, OscErr *e)
{
	const char *method = my->fk_method_plan ? my->fk_method_plan : my->env->alter_fk_method;
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;

	my->fk_method = parse_method(method);
	if ((int)my->fk_method < 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "--alter-foreign-keys-method: expected auto, rebuild_constraints, drop_swap or none, got '%s'", method);
		return false;
	}
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT CONCAT(CONSTRAINT_SCHEMA, '.', TABLE_NAME), CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS"
	        " WHERE UNIQUE_CONSTRAINT_SCHEMA = %L AND REFERENCED_TABLE_NAME = %L"
	        " AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L) ORDER BY 1, 2",
	        my->db, my->table, my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	my->nchildren = (int)mysql_num_rows(r);
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && my->fk_method == MY_FK_REFUSE) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s is referenced by %d foreign key(s) of other tables (first: %s, constraint %s); after the swap "
		        "they would reference %s.%s. Pass --alter-foreign-keys-method auto (or rebuild_constraints, "
		        "drop_swap: see the README) to repoint them to the new table, or none to keep them on the old one",
		        my->db, my->table, my->nchildren, row[0], row[1], my->db, my->old);
		goto out;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* The shadow's name for an original column, or NULL when the ALTER drops it. */
static const char *shadow_column(My *my, const char *col)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcmp(my->cols[i].source, col) == 0)
			return my->cols[i].name;
	return NULL;
}

static bool is_dropped(My *my, const char *name)
{
	for (int i = 0; i < my->nfk_dropped; i++)
		if (strcasecmp(my->fk_dropped[i], name) == 0)
			return true;
	return false;
}

/* fk_each: one of the table's own keys, as ADD CONSTRAINT for the shadow */
static bool own_fk(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	Sql *add = ctx, cols, refs;
	bool self = strcmp(fk->ref_db, my->db) == 0 && strcmp(fk->ref_table, my->table) == 0;
	const char *missing = NULL;
	char alt[MY_NAMELEN + 2];

	(void)e;
	if (is_dropped(my, fk->name))
		return true;
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	for (int i = 0; i < fk->n; i++) {
		const char *col = shadow_column(my, fk->cols[i]);
		/* a self reference names the shadow's columns */
		const char *ref = self ? shadow_column(my, fk->refs[i]) : fk->refs[i];
		if (col == NULL)
			missing = fk->cols[i];
		else if (ref == NULL)
			missing = fk->refs[i];
		sql_add(&cols, "%s%I", i ? ", " : "", col ? col : "");
		sql_add(&refs, "%s%I", i ? ", " : "", ref ? ref : "");
	}
	if (missing) {
		log_msg(my->log, LOG_WARN,
		        "the ALTER drops column %s of foreign key %s: the new table does not have the key", missing, fk->name);
	} else {
		if (fk->name[0] == '_')
			snprintf(alt, sizeof(alt), "%s", fk->name + 1);
		else
			snprintf(alt, sizeof(alt), "_%.*s", MY_NAMELEN - 1, fk->name);
		sql_add(add, "%sADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) ON DELETE %s ON UPDATE %s",
		        add->len ? ", " : "", alt, sql_text(&cols), fk->ref_db, self ? my->shadow : fk->ref_table,
		        sql_text(&refs), fk->del, fk->upd);
		if (cols.failed || refs.failed)
			add->failed = true;
	}
	sql_free(&cols);
	sql_free(&refs);
	return true;
}

/* fk_each: a child's key that references the table, kept for the swap */
static bool child_fk(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	int *n = ctx;
	Sql cols, refs, shadow_refs, rules;
	bool ok = true;

	if (*n >= my->nchildren) /* a child appeared since they were counted */
		return true;
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	sql_init(&shadow_refs, &my->dialect);
	sql_init(&rules, &my->dialect);
	for (int i = 0; i < fk->n; i++) {
		const char *ref = shadow_column(my, fk->refs[i]);
		if (ref == NULL) {
			err_set(e, OSC_EXIT_INPUT,
			        "the ALTER drops column %s, which foreign key %s of %s.%s references; drop or change that key "
			        "first",
			        fk->refs[i], fk->name, fk->db, fk->table);
			ok = false;
			goto out;
		}
		sql_add(&cols, "%s%I", i ? ", " : "", fk->cols[i]);
		sql_add(&refs, "%s%I", i ? ", " : "", fk->refs[i]);
		sql_add(&shadow_refs, "%s%I", i ? ", " : "", ref);
	}
	/* the rules are information_schema's keywords (CASCADE, SET NULL, ...) */
	sql_add(&rules, "ON DELETE %s ON UPDATE %s", fk->del, fk->upd);
	if (cols.failed || refs.failed || shadow_refs.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a foreign key's names for SQL");
		ok = false;
		goto out;
	}
	MyChildFk *c = &my->children[(*n)++];
	c->ncols = fk->n;
	c->ref_names = calloc((size_t)fk->n, sizeof(char *));
	c->ref_shadow_names = calloc((size_t)fk->n, sizeof(char *));
	if (c->ref_names == NULL || c->ref_shadow_names == NULL)
		abort();
	for (int i = 0; i < fk->n; i++) {
		c->ref_names[i] = my_strdup(fk->refs[i]);
		c->ref_shadow_names[i] = my_strdup(shadow_column(my, fk->refs[i]));
	}
	c->db = my_strdup(fk->db);
	c->table = my_strdup(fk->table);
	c->name = my_strdup(fk->name);
	c->cols = sql_take(&cols);
	c->refs = sql_take(&refs);
	c->refs_shadow = sql_take(&shadow_refs);
	c->rules = sql_take(&rules);
out:
	sql_free(&cols);
	sql_free(&refs);
	sql_free(&shadow_refs);
	sql_free(&rules);
	return ok;
}

/* Reads the table's own foreign keys into my->fkeys ("ADD CONSTRAINT ...,
 * ...") and, when the swap repoints them, the children's into my->children. */
bool my_fkeys_read(My *my, OscErr *e)
{
	Sql add;
	bool ok = false;

	sql_init(&add, &my->dialect);
	if (!fk_each(my, false, own_fk, &add, e))
		goto out;
	if (add.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a foreign key's names for SQL");
		goto out;
	}
	if (add.len)
		my->fkeys = sql_take(&add);
	if (my->nchildren > 0 && my->fk_method != MY_FK_NONE) {
		int n = 0;
		my->children = calloc((size_t)my->nchildren, sizeof(MyChildFk));
		if (my->children == NULL)
			abort();
		if (!fk_each(my, true, child_fk, &n, e))
			goto out;
		my->nchildren = n;
	}
	ok = true;
out:
	sql_free(&add);
	return ok;
}

/* Adds the table's own foreign keys to the shadow (after the copy). */
bool my_fkeys_add(My *my, OscErr *e)
{
	if (my->fkeys == NULL)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	log_msg(my->log, LOG_INFO, "adding the foreign keys: %s", my->fkeys);
	sql_add(&q, "ALTER TABLE %I.%I %s", my->db, my->shadow, my->fkeys);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* ---- DROP FOREIGN KEY in the ALTER ---------------------------------------- */

/* A token of the ALTER text: [start, end), and for a word or a quoted
 * identifier its unquoted text. */
typedef struct Tok {
	size_t start, end;
	char word[MY_NAMELEN * 2 + 1];
	bool ident;  /* a word or `quoted` identifier */
	char punct;  /* ',', '(', ')', or 0 */
} Tok;

/* The next token at or after *pos; false at the end. */
static bool next_tok(const char *s, size_t *pos, Tok *t)
{
	size_t i = *pos;
	for (;;) {
		while (s[i] && isspace((unsigned char)s[i]))
			i++;
		if (s[i] == '#' || (s[i] == '-' && s[i + 1] == '-' && (s[i + 2] == '\0' || isspace((unsigned char)s[i + 2])))) {
			while (s[i] && s[i] != '\n')
				i++;
		} else if (s[i] == '/' && s[i + 1] == '*') {
			const char *end = strstr(s + i + 2, "*/");
			i = end ? (size_t)(end - s) + 2 : strlen(s);
		} else {
			break;
		}
	}
	if (s[i] == '\0')
		return false;
	memset(t, 0, sizeof(*t));
	t->start = i;
	if (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' || (unsigned char)s[i] >= 0x80) {
		size_t n = 0;
		while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' || (unsigned char)s[i] >= 0x80) {
			if (n < sizeof(t->word) - 1)
				t->word[n++] = s[i];
			i++;
		}
		t->ident = true;
	} else if (s[i] == '`' || s[i] == '\'' || s[i] == '"') {
		char quote = s[i++];
		size_t n = 0;
		while (s[i]) {
			if (s[i] == '\\' && quote != '`' && s[i + 1]) {
				i += 2;
				continue;
			}
			if (s[i] == quote) {
				if (s[i + 1] != quote)
					break;
				i++; /* doubled */
			}
			if (n < sizeof(t->word) - 1)
				t->word[n++] = s[i];
			i++;
		}
		if (s[i])
			i++;
		t->ident = quote == '`';
	} else {
		t->punct = s[i] == ',' || s[i] == '(' || s[i] == ')' ? s[i] : 0;
		i++;
	}
	t->end = i;
	*pos = i;
	return true;
}

static bool is_kw(const Tok *t, const char *kw)
{
	return t->ident && strcasecmp(t->word, kw) == 0;
}

/* fk_each: collects the table's own foreign keys' names */
static bool fk_name(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	Sql *names = ctx;
	(void)my;
	(void)e;
	sql_add(names, "%s%s", names->len ? "\n" : "", fk->name);
	return true;
}

/* Is name (case-insensitive) one of the newline-separated names? */
static bool in_names(const char *names, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = names; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len + (nl ? 1 : 0);
	}
	return false;
}

bool my_fkeys_alter(My *my, OscErr *e)
{
	const char *s = my->env->alter->text;
	Sql names;
	bool ok = false;
	size_t pos = 0, copied = 0, last_comma = (size_t)-1, len = 0;
	char *out = malloc(strlen(s) + 1); /* the text without the clauses: never longer */
	int depth = 0;
	bool clause_start = true;
	Tok t;

	if (out == NULL)
		abort();
	sql_init(&names, &my->dialect);
	if (!fk_each(my, false, fk_name, &names, e))
		goto out;
	while (next_tok(s, &pos, &t)) {
		if (t.punct == '(')
			depth++;
		else if (t.punct == ')')
			depth--;
		if (depth == 0 && t.punct == ',') {
			last_comma = t.start;
			clause_start = true;
			continue;
		}
		bool at_start = clause_start;
		clause_start = false;
		if (depth != 0 || !at_start || !is_kw(&t, "DROP"))
			continue;
		/* DROP FOREIGN KEY [IF EXISTS] name | DROP CONSTRAINT [IF EXISTS] name */
		size_t p = pos, drop_start = t.start;
		Tok a, b, c;
		bool fk = false, if_exists = false;
		if (!next_tok(s, &p, &a))
			break;
		if (is_kw(&a, "FOREIGN")) {
			if (!next_tok(s, &p, &b) || !is_kw(&b, "KEY"))
				continue;
			fk = true;
		} else if (!is_kw(&a, "CONSTRAINT")) {
			continue;
		}
		if (!next_tok(s, &p, &c))
			break;
		if (is_kw(&c, "IF")) {
			Tok x;
			if (!next_tok(s, &p, &x) || !is_kw(&x, "EXISTS") || !next_tok(s, &p, &c))
				continue;
			if_exists = true;
		}
		if (!c.ident)
			continue;
		bool known = in_names(sql_text(&names), c.word);
		if (!known && !fk)
			continue; /* DROP CONSTRAINT of a CHECK or UNIQUE constraint: the shadow has it */
		if (!known && !if_exists) {
			err_set(e, OSC_EXIT_INPUT, "the ALTER drops foreign key %s, which %s.%s does not have", c.word, my->db,
			        my->table);
			goto out;
		}
		if (known) {
			my->fk_dropped = realloc(my->fk_dropped, (size_t)(my->nfk_dropped + 1) * sizeof(char *));
			if (my->fk_dropped == NULL)
				abort();
			my->fk_dropped[my->nfk_dropped++] = my_strdup(c.word);
		}
		/* the clause goes, with the comma before it (or after it, when it is first) */
		size_t from = last_comma != (size_t)-1 && last_comma >= copied ? last_comma : drop_start, to = c.end;
		if (from == drop_start) {
			size_t q = p;
			Tok comma;
			if (next_tok(s, &q, &comma) && comma.punct == ',') {
				to = comma.end;
				p = q;
				clause_start = true;
			}
		}
		memcpy(out + len, s + copied, from - copied);
		len += from - copied;
		copied = to;
		pos = p;
		last_comma = (size_t)-1;
	}
	if (my->nfk_dropped > 0) {
		strcpy(out + len, s + copied);
		my->shadow_alter = out;
		out = NULL;
		log_msg(my->log, LOG_DEBUG, "the ALTER on the shadow, without its DROP FOREIGN KEY: %s",
		        my->shadow_alter);
	}
	ok = true;
out:
	sql_free(&names);
	free(out);
	return ok;
}

/* ---- child tables at the swap ------------------------------------------------ */

void my_fkeys_choose(My *my)
{
	if (my->fk_method != MY_FK_AUTO)
		return;
	if (my->nchildren == 0) {
		my->fk_method = MY_FK_REBUILD;
		return;
	}
	/* a metadata-only ALTER of the shadow stands in for the children's
	 * in-place ALTERs, which touch more of the dictionary: measured
	 * 2.6-3.1 ms for it and 5.5-6.5 ms for each of theirs (200k-row
	 * child), so one repoint ALTER is counted as two probes */
	Sql q;
	OscErr e;
	MYSQL_RES *r = NULL;
	char *comment = NULL;
	int64_t probe_us = -1;

	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->shadow);
	if (my_exec_sql(my, &q, &r, &e)) {
		MYSQL_ROW row = mysql_fetch_row(r);
		comment = my_strdup(row && row[0] ? row[0] : "");
	}
	mysql_free_result(r);
	sql_reset(&q);
	if (comment) {
		/* the least of three: a busy server only adds to a DDL's cost */
		sql_add(&q, "ALTER TABLE %I.%I COMMENT = %L", my->db, my->shadow, comment);
		for (int i = 0; i < 3; i++) {
			int64_t t0 = now_us();
			if (!my_exec_sql(my, &q, NULL, &e)) {
				probe_us = -1;
				break;
			}
			if (probe_us < 0 || now_us() - t0 < probe_us)
				probe_us = now_us() - t0;
		}
	}
	free(comment);
	sql_free(&q);
	int64_t estimate_ms = probe_us < 0 ? -1 : 2 * 2 * (int64_t)my->nchildren * probe_us / 1000;
	if (estimate_ms >= 0 && estimate_ms <= my->env->chunk_time_ms) {
		my->fk_method = MY_FK_REBUILD;
		log_msg(my->log, LOG_INFO,
		        "--alter-foreign-keys-method auto: rebuild_constraints (%d child key(s), about %ldms under the "
		        "lock, within --chunk-time)",
		        my->nchildren, (long)estimate_ms);
	} else {
		my->fk_method = MY_FK_DROP_SWAP;
		if (estimate_ms < 0)
			log_error(my->log, &e);
		log_msg(my->log, LOG_INFO,
		        "--alter-foreign-keys-method auto: drop_swap (%d child key(s); rebuilding them would hold the lock "
		        "about %ldms, more than --chunk-time %ldms)",
		        my->nchildren, (long)estimate_ms, (long)my->env->chunk_time_ms);
	}
}

/* One child key: the shadow's referenced columns have the original's types
 * and lead one of its indexes. */
static bool shadow_takes(My *my, const MyChildFk *c, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT (SELECT COUNT(*) FROM information_schema.COLUMNS o JOIN information_schema.COLUMNS s"
	            "  ON s.TABLE_SCHEMA = o.TABLE_SCHEMA AND s.TABLE_NAME = %L"
	            "  AND o.COLUMN_TYPE = s.COLUMN_TYPE AND o.COLLATION_NAME <=> s.COLLATION_NAME"
	            " WHERE o.TABLE_SCHEMA = %L AND o.TABLE_NAME = %L AND (",
	        my->shadow, my->db, my->table);
	for (int i = 0; i < c->ncols; i++)
		sql_add(&q, "%s(o.COLUMN_NAME = %L AND s.COLUMN_NAME = %L)", i ? " OR " : "", c->ref_names[i],
		        c->ref_shadow_names[i]);
	sql_add(&q, ")), (SELECT COUNT(*) FROM (SELECT INDEX_NAME FROM information_schema.STATISTICS"
	            " WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L GROUP BY INDEX_NAME HAVING SUM(",
	        my->db, my->shadow);
	for (int i = 0; i < c->ncols; i++)
		sql_add(&q, "%s(SEQ_IN_INDEX = %d AND COLUMN_NAME = %L)", i ? " + " : "", i + 1, c->ref_shadow_names[i]);
	sql_add(&q, ") = %d) x)", c->ncols);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row == NULL || row[0] == NULL || atoi(row[0]) != c->ncols) {
		err_set(e, OSC_EXIT_FAILED,
		        "drop_swap: the ALTER changes a column that foreign key %s of %s.%s references; the RENAME after the "
		        "DROP would fail and leave %s.%s missing. Nothing was changed; use rebuild_constraints",
		        c->name, c->db, c->table, my->db, my->table);
	} else if (row[1] == NULL || atoi(row[1]) < 1) {
		err_set(e, OSC_EXIT_FAILED,
		        "drop_swap: no index of the new table begins with the columns foreign key %s of %s.%s references; "
		        "the RENAME after the DROP would fail and leave %s.%s missing. Nothing was changed",
		        c->name, c->db, c->table, my->db, my->table);
	} else {
		ok = true;
	}
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_fkeys_check_drop_swap(My *my, OscErr *e)
{
	for (int i = 0; my->children && i < my->nchildren; i++)
		if (!shadow_takes(my, &my->children[i], e))
			return false;
	return true;
}

void my_fkeys_lock_list(My *my, Sql *q)
{
	if (my->children == NULL || (my->fk_method != MY_FK_REBUILD && my->fk_method != MY_FK_DROP_SWAP))
		return;
	for (int i = 0; i < my->nchildren; i++) {
		const MyChildFk *c = &my->children[i];
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = strcmp(my->children[j].db, c->db) == 0 && strcmp(my->children[j].table, c->table) == 0;
		if (!seen)
			sql_add(q, ", %I.%I WRITE", c->db, c->table);
	}
}

/* ALTER TABLE child ADD CONSTRAINT ... REFERENCES db.parent, in place */
static void add_sql(My *my, const MyChildFk *c, const char *parent, const char *refs, Sql *q)
{
	sql_add(q, "ALTER TABLE %I.%I ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) %s, ALGORITHM=INPLACE", c->db,
	        c->table, c->name, c->cols, my->db, parent, refs, c->rules);
}

bool my_fkeys_repoint(My *my, OscErr *e)
{
	if (my->children == NULL || my->fk_method != MY_FK_REBUILD)
		return true;
	Sql q;
	bool ok = true;
	int64_t t0 = now_us();
	sql_init(&q, &my->dialect);
	for (int i = 0; ok && i < my->nchildren; i++) {
		MyChildFk *c = &my->children[i];
		sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I, ALGORITHM=INPLACE", c->db, c->table, c->name);
		ok = my_exec_sql(my, &q, NULL, e);
		sql_reset(&q);
		if (!ok)
			break;
		c->state = 1;
		add_sql(my, c, my->shadow, c->refs_shadow, &q);
		ok = my_exec_sql(my, &q, NULL, e);
		sql_reset(&q);
		if (ok)
			c->state = 2;
		else
			err_wrap(e, OSC_EXIT_FAILED, "cutover: cannot repoint a child's foreign key to the new table: ", "");
	}
	sql_free(&q);
	if (ok)
		log_msg(my->log, LOG_DEBUG, "repointed %d child foreign key(s) to the new table in %.1fms",
		        my->nchildren, (double)(now_us() - t0) / 1000.0);
	return ok;
}

void my_fkeys_restore(My *my)
{
	if (my->children == NULL)
		return;
	Sql q;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < my->nchildren; i++) {
		MyChildFk *c = &my->children[i];
		OscErr e;
		err_clear(&e);
		bool ok = true;
		if (c->state == 2) {
			sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I, ALGORITHM=INPLACE", c->db, c->table, c->name);
			ok = my_exec_sql(my, &q, NULL, &e);
			sql_reset(&q);
			if (ok)
				c->state = 1;
		}
		if (ok && c->state == 1) {
			add_sql(my, c, my->table, c->refs, &q);
			ok = my_exec_sql(my, &q, NULL, &e);
			sql_reset(&q);
			if (ok)
				c->state = 0;
		}
		if (!ok) {
			log_error(my->log, &e);
			if (c->state == 2)
				sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I; ", c->db, c->table, c->name);
			add_sql(my, c, my->table, c->refs, &q);
			log_msg(my->log, LOG_WARN, "could not put foreign key %s of %s.%s back; restore it with: %s",
			        c->name, c->db, c->table, sql_text(&q));
			sql_reset(&q);
		}
	}
	sql_free(&q);
}

/* fk_each_of: a child's key left referencing the shadow goes back to T
 * (the shadow's column names mapped back to the original's when known) */
static bool unpoint(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	Sql q, cols, refs;
	int *n = ctx;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	for (int i = 0; i < fk->n; i++) {
		const char *ref = fk->refs[i];
		for (int k = 0; k < my->ncols; k++)
			if (strcmp(my->cols[k].name, ref) == 0)
				ref = my->cols[k].source;
		sql_add(&cols, "%s%I", i ? ", " : "", fk->cols[i]);
		sql_add(&refs, "%s%I", i ? ", " : "", ref);
	}
	log_msg(my->log, LOG_WARN, "foreign key %s of %s.%s references %s (a swap was interrupted): back to %s",
	        fk->name, fk->db, fk->table, my->shadow, my->table);
	sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I", fk->db, fk->table, fk->name);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) ON DELETE %s ON UPDATE %s",
	        fk->db, fk->table, fk->name, sql_text(&cols), my->db, my->table, sql_text(&refs), fk->del, fk->upd);
	if (!my_exec_sql(my, &q, NULL, e)) {
		log_msg(my->log, LOG_ERROR, "%s.%s has lost foreign key %s; add it back with: %s", fk->db, fk->table,
		        fk->name, sql_text(&q));
		goto out;
	}
	(*n)++;
	ok = true;
out:
	sql_free(&q);
	sql_free(&cols);
	sql_free(&refs);
	return ok;
}

bool my_fkeys_unpoint(My *my, OscErr *e)
{
	int n = 0;
	return fk_each_of(my, my->shadow, true, unpoint, &n, e);
}

void my_fkeys_free(My *my)
{
	for (int i = 0; i < my->nchildren && my->children; i++) {
		MyChildFk *c = &my->children[i];
		free(c->db);
		free(c->table);
		free(c->name);
		free(c->cols);
		free(c->refs);
		free(c->refs_shadow);
		free(c->rules);
		for (int k = 0; k < c->ncols; k++) {
			free(c->ref_names[k]);
			free(c->ref_shadow_names[k]);
		}
		free(c->ref_names);
		free(c->ref_shadow_names);
	}
	free(my->children);
	for (int i = 0; i < my->nfk_dropped; i++)
		free(my->fk_dropped[i]);
	free(my->fk_dropped);
	free(my->shadow_alter);
	free(my->fkeys);
}
