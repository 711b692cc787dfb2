// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/agent_targets.h"

/* One side of the rules from the configuration's selector. */
static int selector_init(struct discover_selector *d, const struct agent_selector *s,
			 const regex_t ***re, pid_t **pids)
{
	memset(d, 0, sizeof(*d));
	*re = calloc(s->cmdline.n ? s->cmdline.n : 1, sizeof(**re));
	*pids = calloc(s->pid.n ? s->pid.n : 1, sizeof(**pids));
	if (!*re || !*pids)
		return -ENOMEM;
	for (size_t i = 0; i < s->cmdline.n; i++)
		(*re)[i] = &s->cmdline.v[i].re;
	for (size_t i = 0; i < s->pid.n; i++)
		(*pids)[i] = (pid_t)s->pid.v[i];
	d->comm = (const char *const *)s->comm.v;
	d->ncomm = s->comm.n;
	d->exe = (const char *const *)s->exe.v;
	d->nexe = s->exe.n;
	d->cmdline = *re;
	d->ncmdline = s->cmdline.n;
	d->pid = *pids;
	d->npid = s->pid.n;
	d->cgroup = (const char *const *)s->cgroup.v;
	d->ncgroup = s->cgroup.n;
	d->container = (const char *const *)s->container.v;
	d->ncontainer = s->container.n;
	d->port = s->port.v;
	d->nport = s->port.n;
	return 0;
}

int agent_rules_init(struct agent_rules *ar, const struct agent_config *cfg)
{
	int err;

	memset(ar, 0, sizeof(*ar));
	err = selector_init(&ar->r.include, &cfg->targets.include, &ar->re_in, &ar->pid_in);
	if (!err)
		err = selector_init(&ar->r.exclude, &cfg->targets.exclude, &ar->re_ex, &ar->pid_ex);
	ar->r.service = cfg->service.name;
	if (err)
		agent_rules_free(ar);
	return err;
}

void agent_rules_free(struct agent_rules *ar)
{
	free(ar->re_in);
	free(ar->re_ex);
	free(ar->pid_in);
	free(ar->pid_ex);
	memset(ar, 0, sizeof(*ar));
}

struct agent_target *agent_targets_find(struct agent_targets *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

static struct agent_target *slot(struct agent_targets *t, pid_t pid)
{
	struct agent_target *x = agent_targets_find(t, pid);

	if (x)
		return x;
	if (t->n >= t->max) {
		t->skipped++;
		return NULL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct agent_target *grown = realloc(t->v, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		t->v = grown;
		t->cap = cap;
	}
	x = &t->v[t->n++];
	memset(x, 0, sizeof(*x));
	x->pid = pid;
	return x;
}

struct agent_target *agent_targets_add(struct agent_targets *t, const struct agent_config *cfg,
				       const struct proc_info *pi)
{
	struct agent_target *x = slot(t, pi->pid);

	if (!x)
		return NULL;
	snprintf(x->comm, sizeof(x->comm), "%s", pi->comm);
	snprintf(x->service, sizeof(x->service), "%s",
		 *cfg->service.name ? cfg->service.name : pi->comm);
	snprintf(x->container_id, sizeof(x->container_id), "%s", pi->container_id);
	snprintf(x->pod, sizeof(x->pod), "%s", pi->pod_uid[0] ? pi->pod_name : "");
	snprintf(x->k8s_namespace, sizeof(x->k8s_namespace), "%s", pi->k8s_namespace);
	snprintf(x->pod_uid, sizeof(x->pod_uid), "%s", pi->pod_uid);
	x->gone = false;
	return x;
}

struct agent_target *agent_targets_fork(struct agent_targets *t, const struct agent_target *parent,
					pid_t child)
{
	struct agent_target copy = *parent, *x = slot(t, child);

	if (!x)
		return NULL;
	*x = copy;
	x->pid = child;
	x->gone = false;
	return x;
}

void agent_targets_remove(struct agent_targets *t, pid_t pid)
{
	struct agent_target *x = agent_targets_find(t, pid);

	if (x)
		*x = t->v[--t->n];
}

void agent_targets_free(struct agent_targets *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
