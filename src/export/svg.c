// SPDX-License-Identifier: MIT
/*
 * Interactive SVG flame graph in one self-contained file: the frames, a
 * stylesheet and a small script (zoom, search, hover details), with no
 * external references, so it opens offline in any browser.
 *
 * Layout: stacks are merged into a tree by frame name, children sorted by
 * name, root ("all") at the bottom. A frame's x and width are its sample
 * offset and count times usable_width / total, so widths are exactly
 * proportional to samples. Frames narrower than MIN_WIDTH_PX ("minwidth")
 * are not drawn, nor anything above them; their samples still count in
 * every ancestor, so ancestors keep their width and percentages.
 *
 * Inverted (an icicle graph) only flips the rows: root at the top. A
 * differential graph (opts->before) is AFTER's graph coloured by how each
 * frame's share of all samples changed from BEFORE: red grew, blue shrank,
 * the deepest colour for the largest change (flamegraph.pl's convention
 * for difffolded.pl input, with both sides normalised by their totals).
 */
/* qsort_r() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/svg.h"
#include "base/hindex.h"
#include "base/log.h"
#include "base/outfile.h"
#include "base/strpool.h"
#include "base/utf8.h"

#define DEFAULT_WIDTH 1200
#define MIN_SVG_WIDTH 200
#define XPAD 10
#define FRAME_H 16
#define FONT_SIZE 12
/* Average glyph advance of Verdana-like fonts relative to the font size. */
#define FONT_WIDTH 0.59
#define MIN_WIDTH_PX 0.1
/* Title row at 24, subtitle at 44, then the legend row; frames below. */
#define TITLE_Y 24
#define ROW_H 20
#define LEGEND_GAP 12
#define BOTTOM_PAD 34
#define NO_NODE UINT32_MAX
/* Offsets of an unsymbolized frame listed in its tooltip. */
#define MAX_TOOLTIP_OFFSETS 8

enum node_kind {
	KIND_ROOT,
	KIND_COMM,
	KIND_USER,
	KIND_KERNEL,
	KIND_INLINED,
	KIND_UNSYMBOLIZED,
	NKINDS,
};

static const char *const kind_names[NKINDS] = {
	[KIND_ROOT] = "all",	  [KIND_COMM] = "process",    [KIND_USER] = "user",
	[KIND_KERNEL] = "kernel", [KIND_INLINED] = "inlined", [KIND_UNSYMBOLIZED] = "unsymbolized",
};

struct node {
	uint32_t name; /* id in the writer's string pool */
	uint32_t parent;
	uint32_t first_child, next_sibling;
	uint32_t depth;
	uint32_t kind;
	uint64_t count;
	uint64_t before; /* differential graph: the frame's samples in BEFORE */
	uint64_t offset; /* samples left of this frame */
	/* file:line shown in the tooltip; cleared when merged frames disagree */
	const char *file;
	uint32_t line;
	/* Unsymbolized: its addresses, addrs[first_addr .. + naddrs) of the tree */
	uint32_t first_addr, naddrs;
};

/* Samples of one address of an unsymbolized frame (folded into one node). */
struct node_addr {
	uint32_t node;
	uint64_t address;
	uint64_t count;
};

struct tree {
	struct strpool *names;
	struct node *nodes;
	size_t n, cap;
	struct hindex *index; /* (parent, name) -> node */
	struct node_addr *addrs;
	size_t naddrs, addrs_cap;
	struct hindex *addr_index; /* (node, address) -> addrs[] */
	/* walk state */
	uint32_t cur;
	uint64_t count;
	bool before; /* walking BEFORE's stacks (differential graph) */
};

struct node_key {
	const struct tree *t;
	uint32_t parent, name;
};

static bool node_eq(void *ctx, uint32_t id)
{
	struct node_key *k = ctx;

	return k->t->nodes[id].parent == k->parent && k->t->nodes[id].name == k->name;
}

static int64_t new_node(struct tree *t, uint32_t parent, uint32_t name, uint64_t hash)
{
	struct node *nn;
	int err;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;

		nn = realloc(t->nodes, ncap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		t->nodes = nn;
		t->cap = ncap;
	}
	if (parent != NO_NODE) {
		err = hindex__insert(t->index, hash, t->n);
		if (err)
			return err;
	}
	nn = &t->nodes[t->n];
	memset(nn, 0, sizeof(*nn));
	nn->name = name;
	nn->parent = parent;
	nn->first_child = NO_NODE;
	nn->next_sibling = NO_NODE;
	nn->depth = parent == NO_NODE ? 0 : t->nodes[parent].depth + 1;
	return t->n++;
}

static enum node_kind kind_of(const struct profile_location *loc, uint32_t li)
{
	if (!loc)
		return KIND_COMM;
	if (loc->flags & PROFILE_LOC_KERNEL)
		return KIND_KERNEL;
	if (li >= loc->nlines || !loc->lines[li].function)
		return KIND_UNSYMBOLIZED;
	return loc->lines[li].inlined ? KIND_INLINED : KIND_USER;
}

struct addr_key {
	const struct tree *t;
	uint32_t node;
	uint64_t address;
};

static bool addr_eq(void *ctx, uint32_t id)
{
	struct addr_key *k = ctx;

	return k->t->addrs[id].node == k->node && k->t->addrs[id].address == k->address;
}

/* Count @t->count samples at @address under unsymbolized node @node. */
static int add_address(struct tree *t, uint32_t node, uint64_t address)
{
	struct addr_key k = {.t = t, .node = node, .address = address};
	uint64_t hash = hash_mix(hash_mix(1, node), address);
	int64_t id = hindex__find(t->addr_index, hash, addr_eq, &k);
	struct node_addr *na;
	int err;

	if (id < 0) {
		if (t->naddrs == t->addrs_cap) {
			size_t ncap = t->addrs_cap ? 2 * t->addrs_cap : 256;

			na = realloc(t->addrs, ncap * sizeof(*na));
			if (!na)
				return -ENOMEM;
			t->addrs = na;
			t->addrs_cap = ncap;
		}
		err = hindex__insert(t->addr_index, hash, t->naddrs);
		if (err)
			return err;
		id = t->naddrs++;
		t->addrs[id] = (struct node_addr){.node = node, .address = address};
	}
	t->addrs[id].count += t->count;
	return 0;
}

static int add_frame(void *ctx, const char *name, const struct profile_location *loc, uint32_t li)
{
	struct tree *t = ctx;
	struct node_key k = {.t = t, .parent = t->cur};
	const struct profile_line *ln = loc && li < loc->nlines ? &loc->lines[li] : NULL;
	struct node *nd;
	uint64_t hash;
	int64_t id;
	bool fresh = false;

	id = strpool__intern(t->names, name, NULL);
	if (id < 0)
		return (int)id;
	k.name = id;
	hash = hash_mix(hash_mix(0, k.parent), k.name);
	id = hindex__find(t->index, hash, node_eq, &k);
	if (id < 0) {
		id = new_node(t, k.parent, k.name, hash);
		if (id < 0)
			return (int)id;
		fresh = true;
	}
	nd = &t->nodes[id];
	t->cur = id;
	if (t->before) {
		if (fresh)
			nd->kind = kind_of(loc, li);
		nd->before += t->count;
		return 0;
	}
	if (fresh) {
		nd->kind = kind_of(loc, li);
		nd->file = ln ? ln->file : NULL;
		nd->line = ln ? ln->line : 0;
	} else {
		/* Profile strings are interned: pointers compare contents. */
		if (!ln || nd->file != ln->file) {
			nd->file = NULL;
			nd->line = 0;
		} else if (nd->line != ln->line) {
			nd->line = 0;
		}
	}
	nd->count += t->count;
	/* Folded into one frame per module: keep the addresses for the tooltip. */
	if (loc && !loc->nlines)
		return add_address(t, id, loc->address);
	return 0;
}

static int cmp_children(const void *a, const void *b, void *ctx)
{
	const struct tree *t = ctx;
	const struct node *na = &t->nodes[*(const uint32_t *)a];
	const struct node *nb = &t->nodes[*(const uint32_t *)b];

	if (na->parent != nb->parent)
		return na->parent < nb->parent ? -1 : 1;
	return strcmp(strpool__str(t->names, na->name), strpool__str(t->names, nb->name));
}

/* Link each node's children in name order, as flamegraph.pl sorts them. */
static int link_children(struct tree *t)
{
	uint32_t *order, i;
	size_t n = t->n - 1;

	if (!n)
		return 0;
	order = malloc(n * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		order[i] = i + 1;
	qsort_r(order, n, sizeof(*order), cmp_children, t);
	/* Prepend in reverse so each list ends up in sorted order. */
	for (i = n; i-- > 0;) {
		struct node *c = &t->nodes[order[i]];

		c->next_sibling = t->nodes[c->parent].first_child;
		t->nodes[c->parent].first_child = order[i];
	}
	free(order);
	return 0;
}

/* By node, then most samples first, then address: the tooltip's order. */
static int cmp_addrs(const void *a, const void *b)
{
	const struct node_addr *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->address < y->address ? -1 : x->address > y->address;
}

static void index_addrs(struct tree *t)
{
	size_t i;

	if (!t->naddrs)
		return;
	qsort(t->addrs, t->naddrs, sizeof(*t->addrs), cmp_addrs);
	for (i = t->naddrs; i-- > 0;) {
		struct node *nd = &t->nodes[t->addrs[i].node];

		nd->first_addr = i;
		nd->naddrs++;
	}
}

static int walk_stacks(const struct profile *p, struct tree *t, bool before)
{
	size_t i;
	int err;

	t->before = before;
	for (i = 0; i < profile__stack_count(p); i++) {
		const struct profile_stack *st = profile__stack(p, i);

		if (!st->count)
			continue;
		t->cur = 0;
		t->count = st->count;
		if (before)
			t->nodes[0].before += st->count;
		else
			t->nodes[0].count += st->count;
		err = profile__walk_frames(p, st, add_frame, t);
		if (err)
			return err;
	}
	return 0;
}

static int build_tree(const struct profile *p, const struct profile *before, struct tree *t)
{
	int64_t id;
	int err;

	id = strpool__intern(t->names, "all", NULL);
	if (id < 0)
		return (int)id;
	id = new_node(t, NO_NODE, id, 0);
	if (id < 0)
		return (int)id;
	t->nodes[0].kind = KIND_ROOT;
	err = walk_stacks(p, t, false);
	if (!err && before)
		err = walk_stacks(before, t, true);
	if (err)
		return err;
	index_addrs(t);
	return link_children(t);
}

/* The length of a UTF-8 sequence XML can carry at @s (at most @n bytes), or 0. */
static size_t xml_char_len(const unsigned char *s, size_t n)
{
	size_t len = utf8_seq_len(s, n);

	/* U+FFFE and U+FFFF are not XML characters. */
	if (len == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
		return 0;
	return len;
}

/*
 * Write at most @max bytes of @s as XML text/attribute content. Symbol
 * names and comms are arbitrary bytes: anything that XML cannot carry
 * (control characters, invalid UTF-8) is written as '?', which keeps the
 * document well-formed rather than failing the whole export.
 */
static void xml_put(FILE *f, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < max && s[i]) {
		switch (s[i]) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			n = xml_char_len(s + i, max - i);
			if (!n || s[i] < 0x20 || s[i] == 0x7f) {
				fputc('?', f);
				break;
			}
			fwrite(s + i, 1, n, f);
			i += n;
			continue;
		}
		i++;
	}
}

static void xml_escape(FILE *f, const char *s)
{
	xml_put(f, s, SIZE_MAX);
}

/* @s cut to @chars characters with "..", never inside a UTF-8 sequence. */
static void put_fitted(FILE *f, const char *s, double chars)
{
	size_t keep;

	if ((double)strlen(s) <= chars) {
		xml_escape(f, s);
		return;
	}
	keep = chars > 2 ? (size_t)chars - 2 : 0;
	while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
		keep--;
	xml_put(f, s, keep);
	fputs("..", f);
}

/* The label that fits @w pixels: whole, cut with "..", or nothing. */
static void put_label(FILE *f, const char *name, double w)
{
	double chars = (w - 6) / (FONT_SIZE * FONT_WIDTH);

	if (chars >= 3)
		put_fitted(f, name, chars);
}

struct rgb {
	unsigned int r, g, b;
};

/*
 * The colour of a frame of @kind from three bytes of its name's hash: each
 * kind has its own range, so kinds read apart and one function looks the
 * same everywhere. 128s give the range's middle (the legend's swatch).
 */
static struct rgb kind_color(enum node_kind kind, unsigned int a, unsigned int b, unsigned int c)
{
	switch (kind) {
	case KIND_ROOT:
		return (struct rgb){200, 200, 200};
	case KIND_COMM:
		return (struct rgb){170 + a * 30 / 255, 160 + b * 30 / 255, 200 + c * 40 / 255};
	case KIND_KERNEL: /* blues */
		return (struct rgb){70 + a * 60 / 255, 130 + b * 60 / 255, 205 + c * 45 / 255};
	case KIND_INLINED: /* teals */
		return (struct rgb){40 + a * 60 / 255, 180 + b * 50 / 255, 150 + c * 50 / 255};
	case KIND_UNSYMBOLIZED: /* dull reds: something to fix */
		return (struct rgb){180 + a * 30 / 255, 110 + b * 40 / 255, 110 + b * 40 / 255};
	default: /* warm: red through orange to yellow */
		return (struct rgb){205 + a * 50 / 255, 40 + b * 170 / 255, c * 55 / 255};
	}
}

static void put_rgb(FILE *f, struct rgb c)
{
	fprintf(f, "rgb(%u,%u,%u)", c.r, c.g, c.b);
}

static struct rgb name_color(const char *name, enum node_kind kind)
{
	uint64_t h = hash_mix(hash_bytes(name, strlen(name), 0), 0);

	return kind_color(kind, h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff);
}

/*
 * A change of share @delta against the largest one @max: red grew, blue
 * shrank, pale for little change, as flamegraph.pl colours a difference.
 */
static struct rgb delta_color(double delta, double max)
{
	double v = max > 0 ? (delta < 0 ? -delta : delta) / max : 0;
	unsigned int x = (unsigned int)(230 - 200 * (v > 1 ? 1 : v) + 0.5);

	if (delta > 0)
		return (struct rgb){255, x, x};
	if (delta < 0)
		return (struct rgb){x, x, 255};
	return (struct rgb){230, 230, 230};
}

struct layout {
	unsigned int width, height;
	double usable;
	uint64_t total;
	uint64_t before_total; /* differential: BEFORE's samples */
	double max_delta;      /* differential: the largest |change of share| drawn */
	int top_pad;
	int legend_y;
	uint32_t max_depth;
	bool inverted, diff;
	const char *unit, *units;
};

static double frame_y(const struct layout *l, uint32_t depth)
{
	if (l->inverted)
		return (double)l->top_pad + (double)depth * FRAME_H;
	return (double)l->height - BOTTOM_PAD - (double)(depth + 1) * FRAME_H;
}

static double pct(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0.0;
}

/* AFTER's share minus BEFORE's, in percentage points. */
static double delta_pp(const struct node *nd, const struct layout *l)
{
	return pct(nd->count, l->total) - pct(nd->before, l->before_total);
}

/* "\n+0x1abc (12), +0x1b00 (3), 2 more": where an unsymbolized frame ran. */
static void put_offsets(FILE *f, const struct tree *t, const struct node *nd)
{
	uint32_t i, n = nd->naddrs < MAX_TOOLTIP_OFFSETS ? nd->naddrs : MAX_TOOLTIP_OFFSETS;

	for (i = 0; i < n; i++) {
		const struct node_addr *a = &t->addrs[nd->first_addr + i];

		fprintf(f, "%s+0x%" PRIx64 " (%" PRIu64 ")", i ? ", " : "\n", a->address, a->count);
	}
	if (nd->naddrs > n)
		fprintf(f, ", %" PRIu32 " more", nd->naddrs - n);
}

static void put_frame(FILE *f, const struct tree *t, const struct node *nd, const struct layout *l)
{
	const char *name = strpool__str(t->names, nd->name);
	double x = XPAD + (double)nd->offset * l->usable / (double)l->total;
	double w = (double)nd->count * l->usable / (double)l->total;
	double y = frame_y(l, nd->depth);

	fprintf(f,
		"<g class=\"f\" data-o=\"%" PRIu64 "\" data-s=\"%" PRIu64 "\" data-d=\"%" PRIu32
		"\"><title>",
		nd->offset, nd->count, nd->depth);
	xml_escape(f, name);
	fprintf(f, " (%" PRIu64 " %s, %.2f%%", nd->count, nd->count == 1 ? l->unit : l->units,
		pct(nd->count, l->total));
	if (l->diff)
		fprintf(f, "; before %" PRIu64 ", %.2f%%; %+.2f pp", nd->before,
			pct(nd->before, l->before_total), delta_pp(nd, l));
	fputc(')', f);
	if (nd->file) {
		fputc('\n', f);
		xml_escape(f, nd->file);
		if (nd->line)
			fprintf(f, ":%" PRIu32, nd->line);
	}
	if (nd->naddrs)
		put_offsets(f, t, nd);
	fprintf(f, "</title><rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%d\" fill=\"", x, y,
		w, FRAME_H - 1);
	put_rgb(f,
		l->diff ? delta_color(delta_pp(nd, l), l->max_delta) : name_color(name, nd->kind));
	fprintf(f, "\" rx=\"2\" ry=\"2\"/><text x=\"%.3f\" y=\"%.1f\">", x + 3, y + FRAME_H - 4.5);
	put_label(f, name, w);
	fputs("</text></g>\n", f);
}

/*
 * Breadth-first: a parent's offset is known before its children's. Frames
 * under MIN_WIDTH_PX are dropped with their subtrees. Returns the number
 * of drawn nodes in @order (order[0] is the root).
 */
static size_t place_nodes(struct tree *t, const struct layout *l, uint32_t *order,
			  uint32_t *max_depth)
{
	size_t head = 0, tail = 0;
	uint32_t c;

	t->nodes[0].offset = 0;
	order[tail++] = 0;
	*max_depth = 0;
	while (head < tail) {
		struct node *nd = &t->nodes[order[head++]];
		uint64_t cursor = nd->offset;

		if (nd->depth > *max_depth)
			*max_depth = nd->depth;
		for (c = nd->first_child; c != NO_NODE; c = t->nodes[c].next_sibling) {
			t->nodes[c].offset = cursor;
			cursor += t->nodes[c].count;
			if ((double)t->nodes[c].count * l->usable / (double)l->total >=
			    MIN_WIDTH_PX)
				order[tail++] = c;
		}
	}
	return tail;
}

static const char svg_style[] =
	"<style type=\"text/css\"><![CDATA[\n"
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n"
	"#title { text-anchor: middle; font-size: 17px; }\n"
	"#subtitle { text-anchor: middle; fill: #606060; }\n"
	"#search, #matched, #icase { text-anchor: end; }\n"
	".legend text { font-size: 11px; fill: #404040; }\n"
	".btn { cursor: pointer; fill: #303080; }\n"
	".btn:hover { text-decoration: underline; }\n"
	".hide { display: none; }\n"
	"g.f { cursor: pointer; }\n"
	"g.f text { pointer-events: none; }\n"
	"g.f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	"g.zp { opacity: 0.55; }\n"
	"]]></style>\n";

/*
 * The viewer. Geometry comes from the variables written before it; each
 * frame carries its sample offset, count and depth (data-o/-s/-d), so zoom
 * and search work on exact sample counts, not on rounded pixels. The view
 * (zoomed frame, search, case) is kept in the URL fragment,
 * "#zoom=DEPTH,OFFSET&search=REGEX&icase=1", so a reload or a shared link
 * shows the same view.
 */
static const char svg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"\"use strict\";\n"
	"var frames = [], zoomed = null, term = null, icase = false, inited = false;\n"
	"var details, matched, unzoomBtn, searchBtn, icaseBtn;\n"
	"function el(id) { return document.getElementById(id); }\n"
	"function frameName(title) {\n"
	"\tvar first = title.split(\"\\n\")[0];\n"
	"\tvar cut = first.lastIndexOf(\" (\");\n"
	"\treturn cut >= 0 ? first.substring(0, cut) : first;\n"
	"}\n"
	"function init() {\n"
	"\tif (inited) return;\n"
	"\tinited = true;\n"
	"\tdetails = el(\"details\"); matched = el(\"matched\");\n"
	"\tunzoomBtn = el(\"unzoom\"); searchBtn = el(\"search\"); icaseBtn = el(\"icase\");\n"
	"\tvar gs = document.querySelectorAll(\"g.f\");\n"
	"\tfor (var i = 0; i < gs.length; i++) {\n"
	"\t\tvar g = gs[i], title = g.querySelector(\"title\").textContent;\n"
	"\t\tvar r = g.querySelector(\"rect\");\n"
	"\t\tvar f = { g: g, r: r, t: g.querySelector(\"text\"),\n"
	"\t\t\to: +g.getAttribute(\"data-o\"), s: +g.getAttribute(\"data-s\"),\n"
	"\t\t\td: +g.getAttribute(\"data-d\"), name: frameName(title),\n"
	"\t\t\tinfo: title.replace(/\\n/g, \" at \"), fill: r.getAttribute(\"fill\") };\n"
	"\t\tg.sondeFrame = f;\n"
	"\t\tframes.push(f);\n"
	"\t}\n"
	"\tvar box = el(\"frames\");\n"
	"\tbox.addEventListener(\"click\", function (e) {\n"
	"\t\tvar f = frameOf(e.target);\n"
	"\t\tif (f) { zoom(f); e.stopPropagation(); }\n"
	"\t});\n"
	"\tbox.addEventListener(\"mouseover\", function (e) {\n"
	"\t\tvar f = frameOf(e.target);\n"
	"\t\tif (f) setText(details, \"Function: \" + f.info);\n"
	"\t});\n"
	"\tbox.addEventListener(\"mouseout\", function (e) { setText(details, \" \"); });\n"
	"\tunzoomBtn.addEventListener(\"click\", function () { zoom(null); });\n"
	"\tsearchBtn.addEventListener(\"click\", function () {\n"
	"\t\tif (term !== null) search(\"\"); else searchPrompt();\n"
	"\t});\n"
	"\ticaseBtn.addEventListener(\"click\", function () { icase = !icase; update(); });\n"
	"\twindow.addEventListener(\"keydown\", function (e) {\n"
	"\t\tif (((e.ctrlKey || e.metaKey) && e.key === \"f\") || e.key === \"/\") {\n"
	"\t\t\te.preventDefault(); searchPrompt();\n"
	"\t\t} else if (e.key === \"Escape\") {\n"
	"\t\t\tterm = null; zoomed = null; update();\n"
	"\t\t}\n"
	"\t});\n"
	"\twindow.addEventListener(\"hashchange\", loadState);\n"
	"\tloadState();\n"
	"}\n"
	"function frameOf(node) {\n"
	"\tfor (; node && node.getAttribute; node = node.parentNode)\n"
	"\t\tif (node.sondeFrame) return node.sondeFrame;\n"
	"\treturn null;\n"
	"}\n"
	"function setText(node, s) { node.textContent = s; }\n"
	"function label(f, w) {\n"
	"\tvar chars = Math.floor((w - 6) / (FONT_SIZE * FONT_WIDTH));\n"
	"\tif (chars < 3) return \"\";\n"
	"\tif (f.name.length <= chars) return f.name;\n"
	"\treturn f.name.substring(0, chars - 2) + \"..\";\n"
	"}\n"
	"function place(f, x, w, parent) {\n"
	"\tif (w < MIN_WIDTH) { f.g.classList.add(\"hide\"); return; }\n"
	"\tf.g.classList.remove(\"hide\");\n"
	"\tif (parent) f.g.classList.add(\"zp\"); else f.g.classList.remove(\"zp\");\n"
	"\tf.r.setAttribute(\"x\", x.toFixed(3));\n"
	"\tf.r.setAttribute(\"width\", w.toFixed(3));\n"
	"\tf.t.setAttribute(\"x\", (x + 3).toFixed(3));\n"
	"\tsetText(f.t, label(f, w));\n"
	"}\n"
	"/* Ancestors of the zoomed frame span the width, faded; its subtree fills it. */\n"
	"function layout() {\n"
	"\tvar z = zoomed, scale = z ? USABLE / z.s : USABLE / TOTAL;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i];\n"
	"\t\tif (!z)\n"
	"\t\t\tplace(f, XPAD + f.o * scale, f.s * scale, false);\n"
	"\t\telse if (f.d < z.d && f.o <= z.o && f.o + f.s >= z.o + z.s)\n"
	"\t\t\tplace(f, XPAD, USABLE, true);\n"
	"\t\telse if (f.d >= z.d && f.o >= z.o && f.o + f.s <= z.o + z.s)\n"
	"\t\t\tplace(f, XPAD + (f.o - z.o) * scale, f.s * scale, false);\n"
	"\t\telse\n"
	"\t\t\tf.g.classList.add(\"hide\");\n"
	"\t}\n"
	"\tunzoomBtn.classList.toggle(\"hide\", !z);\n"
	"}\n"
	"function matches(name) {\n"
	"\tvar re = null;\n"
	"\ttry { re = new RegExp(term, icase ? \"i\" : \"\"); } catch (err) { re = null; }\n"
	"\tif (re) return re.test(name);\n"
	"\treturn icase ? name.toLowerCase().indexOf(term.toLowerCase()) >= 0\n"
	"\t\t: name.indexOf(term) >= 0;\n"
	"}\n"
	"/*\n"
	" * Highlight the matches; the percentage is of the zoomed frame when\n"
	" * zoomed (all of it when it or an ancestor matches), else of all.\n"
	" */\n"
	"function showSearch() {\n"
	"\tvar hits = [], i, z = zoomed;\n"
	"\tsetText(icaseBtn, (icase ? \"[x]\" : \"[ ]\") + \" ignore case\");\n"
	"\tif (term === null) {\n"
	"\t\tfor (i = 0; i < frames.length; i++)\n"
	"\t\t\tframes[i].r.setAttribute(\"fill\", frames[i].fill);\n"
	"\t\tmatched.classList.add(\"hide\");\n"
	"\t\tsetText(searchBtn, \"Search\");\n"
	"\t\treturn;\n"
	"\t}\n"
	"\tfor (i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i], hit = matches(f.name);\n"
	"\t\tf.r.setAttribute(\"fill\", hit ? HIGHLIGHT : f.fill);\n"
	"\t\tif (hit) hits.push(f);\n"
	"\t}\n"
	"\tvar lo = z ? z.o : 0, hi = z ? z.o + z.s : TOTAL, sum = 0, end = -1;\n"
	"\t/* Frames nest (laminar intervals): count a hit inside another hit once. */\n"
	"\thits.sort(function (a, b) { return a.o - b.o || a.d - b.d; });\n"
	"\tfor (i = 0; i < hits.length; i++) {\n"
	"\t\tvar h = hits[i];\n"
	"\t\tif (z && h.d <= z.d) {\n"
	"\t\t\tif (h.o <= lo && h.o + h.s >= hi) { sum = hi - lo; break; }\n"
	"\t\t\tcontinue;\n"
	"\t\t}\n"
	"\t\tif (h.o < lo || h.o + h.s > hi) continue;\n"
	"\t\tif (h.o >= end) { sum += h.s; end = h.o + h.s; }\n"
	"\t}\n"
	"\tvar pct = hi > lo ? 100 * sum / (hi - lo) : 0;\n"
	"\tsetText(matched, \"Matched: \" + pct.toFixed(2) + \"% \" +\n"
	"\t\t(z ? \"of \" + z.name + \" \" : \"\") + \"(\" + sum + \" of \" + (hi - lo) + \" \" +\n"
	"\t\tUNITS + \")\");\n"
	"\tmatched.classList.remove(\"hide\");\n"
	"\tsetText(searchBtn, \"Reset Search\");\n"
	"}\n"
	"function stateString() {\n"
	"\tvar parts = [];\n"
	"\tif (zoomed) parts.push(\"zoom=\" + zoomed.d + \",\" + zoomed.o);\n"
	"\tif (term !== null) parts.push(\"search=\" + encodeURIComponent(term));\n"
	"\tif (icase) parts.push(\"icase=1\");\n"
	"\treturn parts.join(\"&\");\n"
	"}\n"
	"function saveState() {\n"
	"\tvar s = stateString(), base = location.href.split(\"#\")[0];\n"
	"\tif (location.hash === (s ? \"#\" + s : \"\")) return;\n"
	"\ttry { history.replaceState(null, \"\", s ? \"#\" + s : base); }\n"
	"\tcatch (err) { location.hash = s; }\n"
	"}\n"
	"function loadState() {\n"
	"\tvar parts = location.hash.replace(/^#/, \"\").split(\"&\"), kv = {}, i;\n"
	"\tfor (i = 0; i < parts.length; i++) {\n"
	"\t\tvar eq = parts[i].indexOf(\"=\");\n"
	"\t\tif (eq < 0) continue;\n"
	"\t\ttry { kv[parts[i].substring(0, eq)] = decodeURIComponent(parts[i].substring(eq + 1)); "
	"}\n"
	"\t\tcatch (err) { }\n"
	"\t}\n"
	"\tzoomed = null;\n"
	"\tif (kv.zoom) {\n"
	"\t\tvar dz = kv.zoom.split(\",\"), d = +dz[0], o = +dz[1];\n"
	"\t\tfor (i = 0; i < frames.length; i++)\n"
	"\t\t\tif (frames[i].d === d && frames[i].o === o && d > 0) zoomed = frames[i];\n"
	"\t}\n"
	"\tterm = kv.search ? kv.search : null;\n"
	"\ticase = kv.icase === \"1\";\n"
	"\tlayout(); showSearch();\n"
	"}\n"
	"function update() { layout(); showSearch(); saveState(); }\n"
	"/* Zoom into frame @z (null or the root: the whole graph). */\n"
	"function zoom(z) { zoomed = z && z.d > 0 ? z : null; update(); }\n"
	"/* Search frame names for @t, a regular expression (\"\": no search). */\n"
	"function search(t) { term = t === \"\" ? null : t; update(); }\n"
	"function searchPrompt() {\n"
	"\tvar t = prompt(\"Search frames (regular expression):\", term === null ? \"\" : term);\n"
	"\tif (t !== null) search(t);\n"
	"}\n"
	"]]></script>\n";

/* One swatch and its label at @x; returns the x of the next one. */
static double put_swatch(FILE *f, double x, int y, struct rgb c, const char *text)
{
	fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"", x, y - 9);
	put_rgb(f, c);
	fprintf(f, "\"/><text x=\"%.1f\" y=\"%d\">", x + 13, y);
	xml_escape(f, text);
	fputs("</text>", f);
	return x + 13 + strlen(text) * 6.5 + 14;
}

/* What the colours mean: the kinds drawn, or the diff's scale. */
static void put_legend(FILE *f, const struct tree *t, const uint32_t *order, size_t drawn,
		       const struct layout *l)
{
	bool seen[NKINDS] = {0};
	double x = XPAD;
	char text[128];
	size_t i;

	fprintf(f, "<g id=\"legend\" class=\"legend\">");
	if (l->diff) {
		snprintf(text, sizeof(text), "share of samples grew (deepest: +%.2f pp)",
			 l->max_delta);
		x = put_swatch(f, x, l->legend_y, delta_color(1, 1), text);
		snprintf(text, sizeof(text), "shrank (deepest: -%.2f pp)", l->max_delta);
		x = put_swatch(f, x, l->legend_y, delta_color(-1, 1), text);
		put_swatch(f, x, l->legend_y, delta_color(0, 1), "width: after");
	} else {
		for (i = 0; i < drawn; i++)
			seen[t->nodes[order[i]].kind] = true;
		for (i = KIND_COMM; i < NKINDS; i++)
			if (seen[i])
				x = put_swatch(f, x, l->legend_y, kind_color(i, 128, 128, 128),
					       kind_names[i]);
	}
	fputs("</g>\n", f);
}

static void put_header(FILE *f, const struct layout *l, const struct svg_opts *opts)
{
	const char *title = opts && opts->title ? opts->title : "CPU flame graph";
	const char *subtitle = opts ? opts->subtitle : NULL;

	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
		"height=\"%u\" viewBox=\"0 0 %u %u\" onload=\"init()\">\n",
		l->width, l->height, l->width, l->height);
	fputs("<!-- Flame graph by sonde. Click a frame to zoom, Ctrl-F or / to search, "
	      "Esc to reset; the view is kept in the URL (#zoom=DEPTH,OFFSET&search=RE&icase=1). "
	      "-->\n",
	      f);
	fputs("<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
	      "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
	      "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient></defs>\n",
	      f);
	fputs(svg_style, f);
	fprintf(f,
		"<script type=\"text/ecmascript\"><![CDATA[\n"
		"var XPAD = %d, USABLE = %.3f, TOTAL = %" PRIu64 ", FONT_SIZE = %d, "
		"FONT_WIDTH = %.2f, MIN_WIDTH = %.2f, HIGHLIGHT = \"rgb(230,0,230)\", UNITS = \"",
		XPAD, l->usable, l->total, FONT_SIZE, FONT_WIDTH, MIN_WIDTH_PX);
	/* Inside a JS string inside CDATA: only plain characters are written. */
	for (const char *u = l->units; *u; u++)
		fputc(((unsigned char)*u >= 0x20 && *u != '"' && *u != '\\' && *u != ']') ? *u
											  : '_',
		      f);
	fputs("\";\n]]></script>\n", f);
	fputs(svg_script, f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"url(#bg)\"/>\n",
		l->width, l->height);
	fprintf(f, "<text id=\"title\" x=\"%.1f\" y=\"%d\">", l->width / 2.0, TITLE_Y);
	xml_escape(f, title);
	fputs("</text>\n", f);
	if (subtitle) {
		/* The whole command line on hover; as much as fits on the line. */
		fprintf(f, "<text id=\"subtitle\" x=\"%.1f\" y=\"%d\"><title>", l->width / 2.0,
			TITLE_Y + ROW_H);
		xml_escape(f, subtitle);
		fputs("</title>", f);
		put_fitted(f, subtitle, l->usable / (FONT_SIZE * FONT_WIDTH));
		fputs("</text>\n", f);
	}
	fprintf(f, "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n",
		XPAD, TITLE_Y);
	fprintf(f, "<text id=\"search\" class=\"btn\" x=\"%u\" y=\"%d\">Search</text>\n",
		l->width - XPAD, TITLE_Y);
	fprintf(f, "<text id=\"icase\" class=\"btn\" x=\"%u\" y=\"%d\">[ ] ignore case</text>\n",
		l->width - XPAD, l->legend_y);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, l->height - 12);
	fprintf(f, "<text id=\"matched\" class=\"hide\" x=\"%u\" y=\"%u\"> </text>\n",
		l->width - XPAD, l->height - 12);
}

/* The largest |change of share| among drawn frames: the deepest colour. */
static double max_delta(const struct tree *t, const uint32_t *order, size_t drawn,
			const struct layout *l)
{
	double max = 0, d;
	size_t i;

	for (i = 0; i < drawn; i++) {
		d = delta_pp(&t->nodes[order[i]], l);
		if (d < 0)
			d = -d;
		if (d > max)
			max = d;
	}
	return max;
}

static void layout_init(struct layout *l, const struct tree *t, const struct svg_opts *opts)
{
	l->width = opts && opts->width ? opts->width : DEFAULT_WIDTH;
	if (l->width < MIN_SVG_WIDTH)
		l->width = MIN_SVG_WIDTH;
	l->usable = l->width - 2.0 * XPAD;
	l->total = t->nodes[0].count;
	l->before_total = t->nodes[0].before;
	l->diff = opts && opts->before;
	l->inverted = opts && opts->inverted;
	l->unit = opts && opts->unit ? opts->unit : "sample";
	l->units = opts && opts->units ? opts->units : "samples";
	l->legend_y = TITLE_Y + (opts && opts->subtitle ? 2 : 1) * ROW_H;
	l->top_pad = l->legend_y + LEGEND_GAP;
}

int flamegraph_svg__write(const struct profile *p, FILE *f, const struct svg_opts *opts)
{
	struct tree t = {0};
	struct layout l = {0};
	uint32_t *order = NULL;
	size_t i, drawn = 0;
	int err;

	t.names = strpool__new();
	t.index = hindex__new();
	t.addr_index = hindex__new();
	if (!t.names || !t.index || !t.addr_index) {
		err = -ENOMEM;
		goto out_free;
	}
	err = build_tree(p, opts ? opts->before : NULL, &t);
	if (err)
		goto out_free;

	layout_init(&l, &t, opts);
	if (l.total) {
		order = malloc(t.n * sizeof(*order));
		if (!order) {
			err = -ENOMEM;
			goto out_free;
		}
		drawn = place_nodes(&t, &l, order, &l.max_depth);
	}
	if (l.diff)
		l.max_delta = max_delta(&t, order, drawn, &l);
	l.height = l.top_pad + (l.max_depth + 1) * FRAME_H + BOTTOM_PAD;

	put_header(f, &l, opts);
	put_legend(f, &t, order, drawn, &l);
	fputs("<g id=\"frames\">\n", f);
	for (i = 0; i < drawn; i++)
		put_frame(f, &t, &t.nodes[order[i]], &l);
	if (!drawn)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">No samples</text>\n",
			l.width / 2.0, frame_y(&l, 0) + FRAME_H - 4.5);
	fputs("</g>\n</svg>\n", f);
	err = stream_flush_error(f);

out_free:
	free(order);
	free(t.nodes);
	free(t.addrs);
	hindex__free(t.addr_index);
	hindex__free(t.index);
	strpool__free(t.names);
	return err;
}
