#include "client.h"

#include "connpool.h"
#include "stream.h"

#include <string.h>

void ls_client_init(ls_client *c, ls_io *io, uint64_t cache_ms) {
    memset(c, 0, sizeof *c);
    c->io = io;
    ls_resolver_init(&c->resolver, io->loop, cache_ms);
    uv_idle_init(io->loop, &c->idle);
    c->idle.data = c;
    ls_stream_kinds(c);
    c->kind_idle = ls_connpool_idle_kind(&c->io->deadlines);
}
