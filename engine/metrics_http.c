/*
 * metrics_http: /metrics over libevent's evhttp (see metrics_http.h).
 * A scrape builds the whole text in memory (a few hundred series at
 * most: labels come from the config) and sends it in one reply.
 */
#include "metrics_http.h"

#include "log.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_HTTP_ADDR_MAX 256

struct metrics_http {
	struct evhttp *http;
	struct event_base *own;	 /* metrics_http_start: the thread's base */
	struct event *tick;	 /* ... and the timer that looks at stop */
	pthread_t thread;
	atomic_int stop;
	metrics_http_fn fn;
	void *arg;
};

static void metrics_http_serve(struct evhttp_request *req, void *arg)
{
	struct metrics_http *h = arg;
	struct metrics_buf b = {0};
	struct evbuffer *out;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) { /* not allowed */
		evhttp_send_error(req, HTTP_BADMETHOD, NULL);
		return;
	}
	h->fn(h->arg, &b);
	if (b.oom) {
		metrics_buf_free(&b);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	out = evbuffer_new();
	if (out == NULL || evbuffer_add(out, b.p ? b.p : "", b.len) < 0) {
		if (out != NULL)
			evbuffer_free(out);
		metrics_buf_free(&b);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	metrics_buf_free(&b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

/* Splits "host:port" or "[v6]:port" (syntax checked by the config). */
static int metrics_http_split(const char *addr, char *host, size_t hostsz,
			      unsigned short *port)
{
	const char *colon = strrchr(addr, ':');
	size_t hl;

	if (colon == NULL || strlen(addr) >= hostsz)
		return -1;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl >= 2) {
		memcpy(host, addr + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		memcpy(host, addr, hl);
		host[hl] = '\0';
	}
	*port = (unsigned short)atoi(colon + 1); /* checked: 1..65535 */
	return 0;
}

struct metrics_http *metrics_http_new(struct event_base *base,
				      const char *addr, metrics_http_fn fn,
				      void *arg)
{
	struct metrics_http *h = calloc(1, sizeof(*h));
	char host[METRICS_HTTP_ADDR_MAX];
	unsigned short port;

	if (h == NULL)
		return NULL;
	h->fn = fn;
	h->arg = arg;
	if (metrics_http_split(addr, host, sizeof(host), &port) < 0) {
		log_err("metrics: bad address %s", addr);
		goto fail;
	}
	h->http = evhttp_new(base);
	if (h->http == NULL) {
		log_err("metrics: cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(h->http, 8192);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_timeout(h->http, 10);
	evhttp_set_gencb(h->http, metrics_http_serve, h);
	if (evhttp_bind_socket(h->http, host, port) < 0) {
		log_err("metrics: cannot listen on %s", addr);
		goto fail;
	}
	log_info("metrics: serving /metrics on %s", addr);
	return h;
fail:
	metrics_http_free(h);
	return NULL;
}

void metrics_http_free(struct metrics_http *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	free(h);
}

/* The thread's timer: leaves the loop once metrics_http_stop asks. */
static void metrics_http_tick(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *h = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&h->stop))
		event_base_loopbreak(h->own);
}

static void *metrics_http_run(void *arg)
{
	struct metrics_http *h = arg;

	event_base_dispatch(h->own);
	return NULL;
}

struct metrics_http *metrics_http_start(const char *addr, metrics_http_fn fn,
					void *arg)
{
	struct event_base *base = event_base_new();
	struct metrics_http *h;
	struct timeval tv = {0, 100000};
	struct event *tick;

	if (base == NULL) {
		log_err("metrics: cannot create an event loop");
		return NULL;
	}
	h = metrics_http_new(base, addr, fn, arg);
	if (h == NULL) {
		event_base_free(base);
		return NULL;
	}
	h->own = base;
	tick = event_new(base, -1, EV_PERSIST, metrics_http_tick, h);
	if (tick == NULL || event_add(tick, &tv) < 0 ||
	    pthread_create(&h->thread, NULL, metrics_http_run, h) != 0) {
		log_err("metrics: cannot start the HTTP thread");
		if (tick != NULL)
			event_free(tick);
		metrics_http_free(h);
		event_base_free(base);
		return NULL;
	}
	h->tick = tick;
	return h;
}

void metrics_http_stop(struct metrics_http *h)
{
	struct event_base *base;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	event_free(h->tick);
	base = h->own;
	metrics_http_free(h);
	event_base_free(base);
}
