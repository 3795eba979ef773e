/*
 * pg_sequences.c — the serial and identity sequences of the original
 * PostgreSQL table.  The shadow is made with LIKE, which does not carry a
 * serial column's sequence along: the swap moves each sequence to the new
 * table's column (src/pg/pg_swap.c).  Read when the shadow is made and
 * again when a run resumes.
 */
#include <stdio.h>
#include <string.h>

#include "pg.h"
#include "xalloc.h"

/* Serial and identity sequences of the original, for the swap. */
bool pg_read_sequences(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	char o[16], s[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);
	const char *p[2] = { o, s };

	if (!pg_exec(pg,
	             "SELECT a.attname, sn.nspname, sq.relname, a.attidentity <> '',"
	             "       coalesce((SELECT sa.attidentity <> '' FROM pg_catalog.pg_attribute sa"
	             "                  WHERE sa.attrelid = $2::oid AND sa.attname = a.attname"
	             "                    AND NOT sa.attisdropped), false)"
	             "  FROM pg_catalog.pg_depend d"
	             "  JOIN pg_catalog.pg_class sq ON sq.oid = d.objid AND sq.relkind = 'S'"
	             "  JOIN pg_catalog.pg_namespace sn ON sn.oid = sq.relnamespace"
	             "  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
	             " WHERE d.classid = 'pg_catalog.pg_class'::regclass"
	             "   AND d.refclassid = 'pg_catalog.pg_class'::regclass"
	             "   AND d.refobjid = $1::oid AND d.deptype IN ('a', 'i')",
	             2, p, &r, e))
		return false;
	enum { S_COLUMN, S_SCHEMA, S_NAME, S_IDENTITY, S_SHADOW_IDENTITY };
	pg->seqs = xcalloc((size_t)PQntuples(r), sizeof(PgSeq));
	pg->nseqs = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *col = PQgetvalue(r, i, S_COLUMN);
		const char *newcol = NULL;
		/* the column in the new table: a plain copy of this one */
		for (int c = 0; c < pg->ncols; c++) {
			Sql q;
			sql_init(&q, &pg->dialect);
			sql_add(&q, "src.%I", col);
			if (strcmp(pg->cols[c].expr, sql_text(&q)) == 0)
				newcol = pg->cols[c].name;
			sql_free(&q);
		}
		if (newcol == NULL)
			continue; /* dropped by the ALTER: the sequence stays with the old table */
		PgSeq *sq = &pg->seqs[pg->nseqs++];
		sq->column = pg_strdup(newcol);
		sq->old_schema = pg_strdup(PQgetvalue(r, i, S_SCHEMA));
		sq->old_name = pg_strdup(PQgetvalue(r, i, S_NAME));
		sq->old_seq = pg_qualified(pg, sq->old_schema, sq->old_name);
		/* identity in the original and still in the shadow: LIKE gave the
		 * shadow a sequence of its own */
		sq->identity = PQgetvalue(r, i, S_IDENTITY)[0] == 't' && PQgetvalue(r, i, S_SHADOW_IDENTITY)[0] == 't';
	}
	PQclear(r);
	return true;
}
