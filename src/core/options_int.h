/*
 * options_int.h — what the files of the option parser share (not for the
 * rest of osc: options.h is the interface).
 *
 *   options.c        the command line: getopt over the table, the command
 *                    word, the checks that span options
 *   options_table.c  each long option: its name, whether it takes a value,
 *                    and what it sets in Options (one line per option)
 *   options_files.c  --config and --database-file, and the strings Options
 *                    owns
 */
#ifndef OSC_OPTIONS_INT_H
#define OSC_OPTIONS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

typedef struct OptionDef OptionDef;

/* Stores v (NULL for an option without a value) in o; an exit-2 error in
 * e, naming the option, when v is not a value the option takes. */
typedef bool (*OptionSetter)(Options *o, const OptionDef *d, const char *v, OscErr *e);

struct OptionDef {
	const char *name;     /* the long name, without "--" */
	int has_arg;          /* no_argument or required_argument (getopt.h) */
	int short_name;       /* 'h', 'q', 'v'; 0 for a long option only */
	OptionSetter set;     /* NULL: --config, read before the others */
	size_t field;         /* offsetof(Options, ...) for the generic setters */
	int64_t min;          /* whole numbers and durations: the least value */
	const void *words;    /* choices: an OptionWord list ending with { NULL } */
	bool url;             /* a URL: its password is overwritten in argv */
};

/* One word a choice option takes, and the value it stores (an enum's). */
typedef struct OptionWord {
	const char *word;
	int value;
} OptionWord;

/* Every option, ending with { NULL }: at most OPTION_MAX before it (a
 * compile-time check in options_table.c says when to raise it). */
#define OPTION_MAX 80
extern const OptionDef option_table[];

/* The option whose long name is name (exactly), or NULL. */
const OptionDef *option_by_name(const char *name);
/* The option with the short name c, or NULL. */
const OptionDef *option_by_short(int c);
/* Applies the option to o: d->set, with d's name in any error. */
bool option_apply(Options *o, const OptionDef *d, const char *v, OscErr *e) MUSTCHECK;

/* options_files.c */
/* A copy of v that Options owns (freed by options_free); NULL when the
 * table of owned strings is full (an exit-2 error in e). */
char *options_keep(Options *o, const char *v, OscErr *e);
/* --config PATH: every `key = value` line applied in order. */
bool options_read_config(Options *o, const char *path, OscErr *e) MUSTCHECK;
/* --database-file PATH: the one URL in a file only the user can read. */
bool options_read_database_file(Options *o, const char *path, OscErr *e) MUSTCHECK;

#endif
