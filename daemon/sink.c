#include "dgaudit/sink.h"

#include <stdlib.h>

#include "dgaudit/xmalloc.h"

struct dg_sink {
	const struct dg_sink_ops *ops;
	void *self;
};

struct dg_sink *dg_sink_new(const struct dg_sink_ops *ops, void *self)
{
	struct dg_sink *s = dg_xcalloc(1, sizeof *s);

	s->ops = ops;
	s->self = self;
	return s;
}

void dg_sink_free(struct dg_sink *s)
{
	if (s == NULL)
		return;
	if (s->ops->free != NULL)
		s->ops->free(s->self);
	free(s);
}

const char *dg_sink_name(const struct dg_sink *s)
{
	return s->ops->name;
}

int dg_sink_begin(struct dg_sink *s, const struct dg_period_id *id, char **cause)
{
	return s->ops->begin ? s->ops->begin(s->self, id, cause) : 0;
}

void dg_sink_finding(struct dg_sink *s, const struct dg_sink_finding *f)
{
	if (s->ops->finding)
		s->ops->finding(s->self, f);
}

void dg_sink_malformed(struct dg_sink *s, const char *input, const struct dg_record *rec,
                       const char *why)
{
	if (s->ops->malformed)
		s->ops->malformed(s->self, input, rec, why);
}

void dg_sink_integrity(struct dg_sink *s, const struct dg_integrity *ev)
{
	if (s->ops->integrity)
		s->ops->integrity(s->self, ev);
}

void dg_sink_input(struct dg_sink *s, const struct dg_report_input *in)
{
	if (s->ops->input)
		s->ops->input(s->self, in);
}

bool dg_sink_full(struct dg_sink *s)
{
	return s->ops->full ? s->ops->full(s->self) : false;
}

bool dg_sink_busy(struct dg_sink *s)
{
	return s->ops->busy ? s->ops->busy(s->self) : false;
}

int dg_sink_sync(struct dg_sink *s, char **cause)
{
	return s->ops->sync ? s->ops->sync(s->self, cause) : 0;
}

void dg_sink_save(struct dg_sink *s, struct dg_cjson *state)
{
	if (s->ops->save)
		s->ops->save(s->self, state);
}

int dg_sink_restore(struct dg_sink *s, const struct dg_cjson *state, const struct dg_period_id *id,
                    char sha256[65], char **cause)
{
	return s->ops->restore ? s->ops->restore(s->self, state, id, sha256, cause)
	                       : DG_SINK_RESUMED;
}

void dg_sink_publish(struct dg_sink *s, bool end)
{
	if (s->ops->publish)
		s->ops->publish(s->self, end);
}

int dg_sink_close(struct dg_sink *s, struct dg_period_end *end, char **cause)
{
	return s->ops->close ? s->ops->close(s->self, end, cause) : 0;
}

int dg_sink_reopen(struct dg_sink *s, bool rotated, char **cause)
{
	return s->ops->reopen ? s->ops->reopen(s->self, rotated, cause) : 0;
}

void dg_sink_metrics(struct dg_sink *s, struct dg_buf *b)
{
	if (s->ops->metrics)
		s->ops->metrics(s->self, b);
}

int dg_sink_health(struct dg_sink *s, char *why, size_t cap)
{
	return s->ops->health ? s->ops->health(s->self, why, cap) : 0;
}
