/* SPDX-License-Identifier: MIT */
/*
 * The agent's targets: the configuration's selectors as discovery rules,
 * and the table of processes being profiled with the labels each carries
 * to every output (service, container, Kubernetes pod and namespace, and
 * the configuration's service.labels).
 */
#ifndef SONDE_CMD_AGENT_TARGETS_H
#define SONDE_CMD_AGENT_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/agent_config.h"
#include "session/discover.h"

/* One profiled process and its labels ("" when unknown). */
struct agent_target {
	pid_t pid;
	char comm[17];
	char service[128];
	char container_id[65];
	char pod[DISCOVER_FIELD_MAX];
	char k8s_namespace[DISCOVER_FIELD_MAX];
	char pod_uid[40];
	bool gone; /* exited; kept until its last window is delivered */
};

/* The rules of one configuration; they point into it (keep it alive). */
struct agent_rules {
	struct discover_rules r;
	const regex_t **re_in, **re_ex;
	pid_t *pid_in, *pid_ex;
};

int agent_rules_init(struct agent_rules *ar, const struct agent_config *cfg);
void agent_rules_free(struct agent_rules *ar);

struct agent_targets {
	struct agent_target *v;
	size_t n, cap;
	size_t max;	  /* targets.max_processes */
	uint64_t skipped; /* matched but over max */
};

/* The target of @pid, or NULL. */
struct agent_target *agent_targets_find(struct agent_targets *t, pid_t pid);
/*
 * Add @pi's process labelled as @cfg says; NULL when the table is full
 * (counted in skipped) or out of memory.
 */
struct agent_target *agent_targets_add(struct agent_targets *t, const struct agent_config *cfg,
				       const struct proc_info *pi);
/* A forked child of @parent, with its labels. NULL as above. */
struct agent_target *agent_targets_fork(struct agent_targets *t, const struct agent_target *parent,
					pid_t child);
void agent_targets_remove(struct agent_targets *t, pid_t pid);
void agent_targets_free(struct agent_targets *t);

#endif /* SONDE_CMD_AGENT_TARGETS_H */
