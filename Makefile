# rscrape — one non-recursive Makefile.
#
#   make                build every program into build/
#   make test           strict build (-Werror), unit tests, integration tests
#   make run [CONF=f]   start the whole stack under a foreground supervisor
#   make demo           the stack against the fake Reddit, one full job
#   make install        DESTDIR/PREFIX aware
#   make SANITIZE=1 …   ASan + UBSan build (in build/san/)
#   make deps           install the Debian packages the build and tests need

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR    ?=
LIBEXECDIR ?= $(PREFIX)/libexec/rscrape
BINDIR     ?= $(PREFIX)/bin
DOCDIR     ?= $(PREFIX)/share/doc/rscrape
PLUGINDIR  ?= $(PREFIX)/lib/rscrape/plugins
SHIPPED_PLUGINS := sentiment keywords webhook
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
STATEDIR   ?= /var/lib/rscrape
RUNDIR     ?= /run/rscrape
CONF       ?= etc/rscrape.conf
VERSION    := 0.1.0

# The daemons allocate with gperftools' tcmalloc_minimal: glibc's malloc
# was 15% of httpd's and jobd's CPU under load (nng frees on the loop what
# its threads allocated); POST /jobs 16 800-17 100/s against 19 400-23 300/s
# in an A/B of one tree (bench/README.md). The sanitizer build keeps ASan's
# allocator.
ifeq ($(SANITIZE),1)
BUILD      := build/san
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
MALLOC_LIBS :=
else
BUILD      := build
SAN_FLAGS  :=
MALLOC_LIBS := -ltcmalloc_minimal
endif

PKGS     := libevent libevent_pthreads libcjson inih libsystemd sqlite3 libcurl libcrypto uuid libdeflate
CC       ?= cc
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual
ifeq ($(WERROR),1)
WARN     += -Werror
endif
OPT      ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -I. -D_GNU_SOURCE -DRSCRAPE_VERSION='"$(VERSION)"' \
            -DRSCRAPE_SYSCONFDIR='"$(SYSCONFDIR)"'
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS)
# Debian's nng 1.5.2 ships no .pc file.
ALL_LIBS   = $(PKG_LIBS) -lnng -lpthread -lm
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

# Sources are discovered per folder so that adding a file needs no edit here.
# A daemon's main() lives in <daemon>/<daemon>.c; everything else in the
# folder goes into an archive that unit tests link against too.
DAEMONS  := $(foreach d,jobd httpd fetchd mediad,$(if $(wildcard $(d)/$(d).c),$(d)))
# A folder's archive exists as soon as it holds any .c (unit tests link it
# even before the daemon's main() lands).
DAEMON_DIRS := $(foreach d,jobd httpd fetchd mediad,$(if $(wildcard $(d)/*.c),$(d)))
PROGRAMS := $(DAEMONS) rscrapectl

LIB_SRCS   := $(wildcard lib/*.c) $(wildcard proto/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

define daemon_rules
$(1)_MAIN := $(1)/$(1).c
$(1)_SRCS := $$(filter-out $(1)/$(1).c,$$(wildcard $(1)/*.c))
$(1)_OBJS := $$($(1)_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/$(1): $(BUILD)/obj/$(1)/$(1).o $(BUILD)/lib$(1).a $(BUILD)/librscrape.a
	$$(CC) $(ALL_LDFLAGS) -o $$@ $$^ $$(ALL_LIBS) $(MALLOC_LIBS)
endef
$(foreach d,$(DAEMON_DIRS),$(eval $(call daemon_rules,$(d))))

CTL_SRCS := $(wildcard ctl/*.c)
CTL_OBJS := $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
DAEMON_LIBS := $(foreach d,$(DAEMON_DIRS),$(BUILD)/lib$(d).a)

BINS := $(PROGRAMS:%=$(BUILD)/%)

.PHONY: all deps deps-ensure test unit integration run demo install uninstall clean bench
.DEFAULT_GOAL := all

all: deps-ensure
	@$(MAKE) --no-print-directory $(BINS)

deps:
	@tools/deps.sh install

deps-ensure:
	@tools/deps.sh ensure

# Flags are part of every object's inputs: a -Werror or SANITIZE change rebuilds.
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(CPPFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(CPPFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# httpd embeds its OpenAPI document (.incbin): rebuild when it changes
$(BUILD)/obj/httpd/httpd_openapi.o: httpd/openapi.json

$(BUILD)/librscrape.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/rscrapectl: $(CTL_OBJS) $(BUILD)/librscrape.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(DAEMON_LIBS) $(BUILD)/librscrape.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(DAEMON_LIBS) $(BUILD)/librscrape.a $(ALL_LIBS) -lcmocka

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# make test: strict build, then every unit test, then the integration suite.
test: deps-ensure
	@$(MAKE) --no-print-directory WERROR=1 $(BINS) $(UNIT_BINS)
	@$(MAKE) --no-print-directory WERROR=1 unit integration

unit: $(UNIT_BINS)
	@tools/run-unit.sh $(UNIT_BINS)

integration: $(BINS)
	RSCRAPE_BUILD=$(abspath $(BUILD)) /usr/bin/python3 -m pytest -q -p no:cacheprovider --timeout=400 --durations=5 tests/integration $(PYTEST_ARGS)

run: all
	/usr/bin/python3 tools/supervise.py -b $(BUILD) -c $(CONF)

demo: all
	/usr/bin/python3 tools/demo.py -b $(BUILD)

bench: all
	@echo "benchmarks are run by hand: see bench/README.md"

# Units, sysusers/tmpfiles entries and the config are written for
# PREFIX=/usr/local and SYSCONFDIR=/etc; install rewrites those paths.
UNITS := rscrape-jobd.service rscrape-httpd.service rscrape-fetchd.service \
	 rscrape-mediad.service rscrape.target
SUBST := sed -e 's|/usr/local/libexec/rscrape|$(LIBEXECDIR)|g' \
	 -e 's|/usr/local/share/doc/rscrape|$(DOCDIR)|g' \
	 -e 's|/etc/rscrape|$(SYSCONFDIR)/rscrape|g' \
	 -e 's|/var/lib/rscrape|$(STATEDIR)|g' -e 's|/run/rscrape|$(RUNDIR)|g'
# the installed config: the paths of an installed system, not of a build tree
CONF_SUBST := sed -E -e 's|^(state_dir +=) +[^ ;]+|\1 $(STATEDIR)|' \
	 -e 's|^(runtime_dir +=) +[^ ;]+|\1 $(RUNDIR)|' \
	 -e 's|^(plugin_dir +=) +[^ ;]+|\1 $(PLUGINDIR)|'

install: all
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(SYSCONFDIR)/rscrape $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(PLUGINDIR)
	for d in $(DAEMONS); do \
		install -m 0755 $(BUILD)/$$d $(DESTDIR)$(LIBEXECDIR)/$$d || exit 1; \
	done
	install -m 0755 $(BUILD)/rscrapectl $(DESTDIR)$(BINDIR)/rscrapectl
	for p in $(SHIPPED_PLUGINS); do \
		install -m 0755 plugins/$$p $(DESTDIR)$(PLUGINDIR)/$$p || exit 1; \
	done
	for u in $(UNITS); do \
		$(SUBST) systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(SUBST) systemd/rscrape.sysusers > $(DESTDIR)$(SYSUSERSDIR)/rscrape.conf
	$(SUBST) systemd/rscrape.tmpfiles > $(DESTDIR)$(TMPFILESDIR)/rscrape.conf
	chmod 0644 $(DESTDIR)$(SYSUSERSDIR)/rscrape.conf \
		$(DESTDIR)$(TMPFILESDIR)/rscrape.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(CONF_SUBST) etc/rscrape.conf > $(DESTDIR)$(DOCDIR)/rscrape.conf.example
	@# never overwrite an operator's configuration
	if [ -e $(DESTDIR)$(SYSCONFDIR)/rscrape/rscrape.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/rscrape/rscrape.conf" \
		    "(the new default is $(DOCDIR)/rscrape.conf.example)"; \
	else \
		install -m 0640 $(DESTDIR)$(DOCDIR)/rscrape.conf.example \
		    $(DESTDIR)$(SYSCONFDIR)/rscrape/rscrape.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		echo "next: systemd-sysusers; systemd-tmpfiles --create;" \
		    "systemctl daemon-reload; systemctl enable --now rscrape.target"; \
	fi

# Leaves the configuration, the state directory (database, media) and the
# system user in place: an operator removes those on purpose.
uninstall:
	rm -f $(foreach d,jobd httpd fetchd mediad,$(DESTDIR)$(LIBEXECDIR)/$(d)) \
		$(DESTDIR)$(BINDIR)/rscrapectl \
		$(foreach u,$(UNITS),$(DESTDIR)$(UNITDIR)/$(u)) \
		$(DESTDIR)$(SYSUSERSDIR)/rscrape.conf \
		$(DESTDIR)$(TMPFILESDIR)/rscrape.conf \
		$(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/rscrape.conf.example \
		$(foreach p,$(SHIPPED_PLUGINS),$(DESTDIR)$(PLUGINDIR)/$(p))
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(PREFIX)/lib/rscrape 2>/dev/null

clean:
	rm -rf build
