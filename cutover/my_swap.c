/*
 * my_swap.c — the swap on MySQL/MariaDB.
 *
 *   1. arm the triggers' duplicate handler to re-raise (row -1 in _T_osc_dup)
 *   2. LOCK TABLES T WRITE: waits for every open transaction on T, so any
 *      duplicate recorded before step 1 is committed and visible; look
 *   3. UNLOCK; carry AUTO_INCREMENT over
 *   4. RENAME TABLE T TO _T_osc_old, _T_osc_new TO T  (atomic)
 *   5. re-create the table's own triggers on the new table (RENAME took
 *      them along to the old one)
 * Steps 2 and 4 wait at most lock_wait_timeout (the --lock-timeout, rounded
 * up to whole seconds: the server counts no finer); a timeout is a retry.
 * No drain: the triggers kept the shadow current all along.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

static bool run(My *my, Sql *q, OscErr *e)
{
	bool ok = my_exec_sql(my, q, NULL, e);
	sql_reset(q);
	return ok;
}

SwapResult my_swap(My *my, OscErr *e)
{
	Sql q;
	MYSQL_RES *r = NULL;
	SwapResult res = SWAP_FAILED;
	bool locked = false;
	int64_t t0 = now_us();

	sql_init(&q, &my->dialect);
	if (!my_check_duplicates(my, e))
		goto out;
	sql_add(&q, "REPLACE INTO %I.%I (id, msg) VALUES (-1, 'cutover')", my->db, my->dup);
	if (!run(my, &q, e))
		goto out;
	sql_add(&q, "LOCK TABLES %I.%I WRITE, %I.%I READ", my->db, my->table, my->db, my->dup);
	if (!run(my, &q, e)) {
		if (my_is_lock_timeout(e))
			res = SWAP_RETRY;
		goto out;
	}
	locked = true;
	if (!my_check_duplicates(my, e))
		goto out;
	sql_add(&q, "UNLOCK TABLES");
	locked = false;
	if (!run(my, &q, e))
		goto out;

	sql_add(&q, "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	sql_reset(&q);
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && row[0]) {
		sql_add(&q, "ALTER TABLE %I.%I AUTO_INCREMENT = %s", my->db, my->shadow, row[0]);
		if (!run(my, &q, e))
			goto out;
	}
	mysql_free_result(r);
	r = NULL;

	int64_t t_rename = now_us();
	sql_add(&q, "RENAME TABLE %I.%I TO %I.%I, %I.%I TO %I.%I", my->db, my->table, my->db, my->old, my->db, my->shadow,
	        my->db, my->table);
	if (!run(my, &q, e)) {
		if (my_is_lock_timeout(e))
			res = SWAP_RETRY;
		goto out;
	}
	res = SWAP_DONE;
	log_msg(&my->osc->log, LOG_INFO, "swapped: RENAME TABLE took %.1fms (the whole attempt %.1fms)",
	        (double)(now_us() - t_rename) / 1000.0, (double)(now_us() - t0) / 1000.0);
	fault_point(my->osc, "swap-renamed");
	for (int i = 0; i < my->nuser_triggers; i++) {
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, my->user_triggers[i].name);
		OscErr e2;
		err_clear(&e2);
		if (!run(my, &q, &e2) || !my_exec(my, my->user_triggers[i].sql, NULL, &e2)) {
			log_error(&my->osc->log, &e2);
			log_msg(&my->osc->log, LOG_WARN, "could not re-create trigger %s on the new table; its definition: %s",
			        my->user_triggers[i].name, my->user_triggers[i].sql);
		}
	}
out:
	if (locked) {
		OscErr e3;
		if (!my_exec(my, "UNLOCK TABLES", NULL, &e3))
			log_error(&my->osc->log, &e3);
	}
	mysql_free_result(r);
	sql_free(&q);
	return res;
}
