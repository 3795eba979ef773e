/*
 * my_fkeys.h — what the parts of the foreign-key handling share
 * (src/my/my_fkeys.c reads them, my_fkeys_alter.c takes DROP FOREIGN KEY
 * out of the ALTER, my_fkeys_swap.c handles child tables at the swap).
 */
#ifndef OSC_MY_FKEYS_H
#define OSC_MY_FKEYS_H

#include "my.h"

/* One foreign key as information_schema describes it; the strings belong
 * to the result being read. */
typedef struct FkDef {
	const char *db, *table, *name, *ref_db, *ref_table, *upd, *del;
	const char *cols[64], *refs[64];
	int n;
} FkDef;

typedef bool (*FkFn)(My *my, const FkDef *fk, void *ctx, OscErr *e);

/* Calls fn for each foreign key of parent (children false) or of the
 * other tables that reference it (children true). */
bool my_fk_each_of(My *my, const char *parent, bool children, FkFn fn, void *ctx, OscErr *e) MUSTCHECK;

#endif
