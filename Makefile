# osc — build, test, demo, bench.  Dependencies come from pkg-config only.
#   make                 build build/osc
#   make test            install packages (root, apt-get), build, run every test
#   make demo            install, build, run an online ALTER on a 1M-row demo table
#   make bench           osc against a raw copy, a blocking ALTER, pg_repack and pt-osc (bench/)
#   make bench-proxy     what osc proxy costs and what its held swaps buy (bench/proxy.sh)
#   make SANITIZER=address,undefined   a sanitizer build in build-san/
#   make WERROR=1        warnings are errors (CI)
#   make install         osc, its man page and bash completion under PREFIX
#                        (default /usr/local), staged under DESTDIR if given
#   make uninstall       removes exactly those three files

PKGS     := libpq libmariadb libevent libevent_openssl openssl
CC       ?= cc
OPT      ?= -O2 -g
WARN     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla
# one folder per layer: the library (knows nothing of osc), the core, one per
# engine, the replicator and cutover loops, the proxy
INCDIRS  := src/lib src/core src/pg src/my replicator cutover proxy
CFLAGS   += $(OPT) $(WARN) $(addprefix -I,$(INCDIRS)) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   += -pthread
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread

ifdef WERROR
CFLAGS   += -Werror
endif
ifdef SANITIZER
CFLAGS   += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZER)
BUILD    ?= build-san
endif
BUILD    ?= build

CORE_SRC := $(foreach d,$(INCDIRS),$(wildcard $(d)/*.c))
CORE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC))
UNIT_SRC := $(wildcard tests/unit/*.c)

.PHONY: all test unit deps demo bench bench-proxy clean san install uninstall
all: $(BUILD)/osc $(BUILD)/writer $(BUILD)/mywriter $(BUILD)/pgconns

$(BUILD)/%.o: %.c $(foreach d,$(INCDIRS),$(wildcard $(d)/*.h))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/osc: $(BUILD)/src/main.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the concurrent, mirrored writer the tests and the bench drive tables with:
# one driver (tests/writer/common.c), one engine file per database
WRITER_COMMON := tests/writer/common.c tests/writer/writer.h
$(BUILD)/writer: tests/writer/pg.c $(WRITER_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

# many idle connections at once, for the proxy's tests
$(BUILD)/pgconns: tests/pgconns.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/mywriter: tests/writer/my.c $(WRITER_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

$(BUILD)/unit: $(UNIT_SRC) $(CORE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/install-deps.sh

unit: $(BUILD)/unit
	$(BUILD)/unit

test: deps
	$(MAKE) WERROR=1 all $(BUILD)/unit
	$(MAKE) WERROR=1 SANITIZER=address,undefined all build-san/unit
	tests/run.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/install-deps.sh
	$(MAKE) all
	QUICK=$(QUICK) ROWS=$(ROWS) ENGINES="$(ENGINES)" bench/run.sh

bench-proxy:
	$(MAKE) all
	QUICK=$(QUICK) bench/proxy.sh

# install: the binary, osc(1) and the bash completion, nothing else
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL    ?= install

install: $(BUILD)/osc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0755 $(BUILD)/osc $(DESTDIR)$(BINDIR)/osc
	$(INSTALL) -m 0644 man/osc.1 $(DESTDIR)$(MANDIR)/man1/osc.1
	$(INSTALL) -m 0644 completion/osc $(DESTDIR)$(BASHCOMPDIR)/osc

# the directories stay: they are shared with other packages
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/osc $(DESTDIR)$(MANDIR)/man1/osc.1 $(DESTDIR)$(BASHCOMPDIR)/osc

clean:
	rm -rf build build-san
