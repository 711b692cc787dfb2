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

#include "sonde/flamegraph.h"
#include "sonde/hindex.h"
#include "sonde/log.h"
#include "sonde/strpool.h"

#define DEFAULT_WIDTH 1200
#define MIN_SVG_WIDTH 200
#define XPAD 10
#define FRAME_H 16
#define FONT_SIZE 12
/* Average glyph advance of Verdana-like fonts relative to the font size. */
#define FONT_WIDTH 0.59
#define MIN_WIDTH_PX 0.1
#define TOP_PAD 36
#define TOP_PAD_SUBTITLE 56
#define BOTTOM_PAD 34
#define NO_NODE UINT32_MAX

enum node_kind {
	KIND_ROOT,
	KIND_COMM,
	KIND_USER,
	KIND_KERNEL,
	KIND_INLINED,
	KIND_UNSYMBOLIZED,
};

struct node {
	uint32_t name; /* id in the writer's string pool */
	uint32_t parent;
	uint32_t first_child, next_sibling;
	uint32_t depth;
	uint32_t kind;
	uint64_t count;
	uint64_t offset; /* samples left of this frame */
	/* file:line shown in the tooltip; cleared when merged frames disagree */
	const char *file;
	uint32_t line;
};

struct tree {
	struct strpool *names;
	struct node *nodes;
	size_t n, cap;
	struct hindex *index; /* (parent, name) -> node */
	/* walk state */
	uint32_t cur;
	uint64_t count;
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
	t->cur = id;
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

static int build_tree(const struct profile *p, struct tree *t)
{
	size_t i;
	int64_t id;
	int err;

	id = strpool__intern(t->names, "all", NULL);
	if (id < 0)
		return (int)id;
	id = new_node(t, NO_NODE, id, 0);
	if (id < 0)
		return (int)id;
	t->nodes[0].kind = KIND_ROOT;
	for (i = 0; i < profile__stack_count(p); i++) {
		const struct profile_stack *st = profile__stack(p, i);

		if (!st->count)
			continue;
		t->cur = 0;
		t->count = st->count;
		t->nodes[0].count += st->count;
		err = profile__walk_frames(p, st, add_frame, t);
		if (err)
			return err;
	}
	return link_children(t);
}

/* Decoded length of a valid UTF-8 sequence at @s, or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0; /* overlong, or a surrogate */
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		/* U+FFFE and U+FFFF are not XML characters. */
		if (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
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
			n = utf8_len(s + i);
			if (!n || s[i] < 0x20 || s[i] == 0x7f || i + n > max) {
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

/* The label that fits @w pixels: whole, cut with "..", or nothing. */
static void put_label(FILE *f, const char *name, double w)
{
	double chars = (w - 6) / (FONT_SIZE * FONT_WIDTH);
	size_t len = strlen(name), keep;

	if (chars < 3)
		return;
	if ((double)len <= chars) {
		xml_escape(f, name);
		return;
	}
	keep = (size_t)chars - 2;
	/* Never split a UTF-8 sequence. */
	while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
		keep--;
	xml_put(f, name, keep);
	fputs("..", f);
}

/* Stable per-name colour so the same function looks the same everywhere. */
static void put_color(FILE *f, const char *name, enum node_kind kind)
{
	uint64_t h = hash_mix(hash_bytes(name, strlen(name), 0), 0);
	unsigned int a = h & 0xff, b = (h >> 8) & 0xff, c = (h >> 16) & 0xff;
	unsigned int r, g, bl;

	switch (kind) {
	case KIND_ROOT:
		r = g = bl = 200;
		break;
	case KIND_COMM:
		r = 170 + a * 30 / 255;
		g = 160 + b * 30 / 255;
		bl = 200 + c * 40 / 255;
		break;
	case KIND_KERNEL: /* blues */
		r = 70 + a * 60 / 255;
		g = 130 + b * 60 / 255;
		bl = 205 + c * 45 / 255;
		break;
	case KIND_INLINED: /* teals */
		r = 40 + a * 60 / 255;
		g = 180 + b * 50 / 255;
		bl = 150 + c * 50 / 255;
		break;
	case KIND_UNSYMBOLIZED: /* dull reds: something to fix */
		r = 180 + a * 30 / 255;
		g = 110 + b * 40 / 255;
		bl = 110 + b * 40 / 255;
		break;
	default: /* warm: red through orange to yellow */
		r = 205 + a * 50 / 255;
		g = 40 + b * 170 / 255;
		bl = c * 55 / 255;
		break;
	}
	fprintf(f, "rgb(%u,%u,%u)", r, g, bl);
}

struct layout {
	unsigned int width, height;
	double usable;
	uint64_t total;
	int top_pad;
	uint32_t max_depth;
};

static double frame_y(const struct layout *l, uint32_t depth)
{
	return (double)l->height - BOTTOM_PAD - (double)(depth + 1) * FRAME_H;
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
	fprintf(f, " (%" PRIu64 " sample%s, %.2f%%)", nd->count, nd->count == 1 ? "" : "s",
		100.0 * (double)nd->count / (double)l->total);
	if (nd->file) {
		fputc('\n', f);
		xml_escape(f, nd->file);
		if (nd->line)
			fprintf(f, ":%" PRIu32, nd->line);
	}
	fprintf(f, "</title><rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%d\" fill=\"", x, y,
		w, FRAME_H - 1);
	put_color(f, name, nd->kind);
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
	"#search, #matched { text-anchor: end; }\n"
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
 * and search work on exact sample counts, not on rounded pixels.
 */
static const char svg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"\"use strict\";\n"
	"var frames = [], zoomed = null, term = null, inited = false;\n"
	"var details, matched, unzoomBtn, searchBtn;\n"
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
	"\tunzoomBtn = el(\"unzoom\"); searchBtn = el(\"search\");\n"
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
	"\tunzoomBtn.addEventListener(\"click\", unzoom);\n"
	"\tsearchBtn.addEventListener(\"click\", function () {\n"
	"\t\tif (term !== null) resetSearch(); else searchPrompt();\n"
	"\t});\n"
	"\twindow.addEventListener(\"keydown\", function (e) {\n"
	"\t\tif (((e.ctrlKey || e.metaKey) && e.key === \"f\") || e.key === \"/\") {\n"
	"\t\t\te.preventDefault(); searchPrompt();\n"
	"\t\t} else if (e.key === \"Escape\") {\n"
	"\t\t\tresetSearch(); unzoom();\n"
	"\t\t}\n"
	"\t});\n"
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
	"function zoom(z) {\n"
	"\tvar scale = USABLE / z.s;\n"
	"\tzoomed = z;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i];\n"
	"\t\tif (f.d < z.d && f.o <= z.o && f.o + f.s >= z.o + z.s)\n"
	"\t\t\tplace(f, XPAD, USABLE, true);\n"
	"\t\telse if (f.d >= z.d && f.o >= z.o && f.o + f.s <= z.o + z.s)\n"
	"\t\t\tplace(f, XPAD + (f.o - z.o) * scale, f.s * scale, false);\n"
	"\t\telse\n"
	"\t\t\tf.g.classList.add(\"hide\");\n"
	"\t}\n"
	"\tunzoomBtn.classList.toggle(\"hide\", z.d === 0);\n"
	"}\n"
	"function unzoom() {\n"
	"\tzoomed = null;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i];\n"
	"\t\tplace(f, XPAD + f.o * USABLE / TOTAL, f.s * USABLE / TOTAL, false);\n"
	"\t}\n"
	"\tunzoomBtn.classList.add(\"hide\");\n"
	"}\n"
	"function searchPrompt() {\n"
	"\tvar t = prompt(\"Search frames (regular expression):\", term === null ? \"\" : term);\n"
	"\tif (t === null) return;\n"
	"\tif (t === \"\") resetSearch(); else search(t);\n"
	"}\n"
	"function search(t) {\n"
	"\tvar re = null, hits = [], i;\n"
	"\ttry { re = new RegExp(t); } catch (err) { re = null; }\n"
	"\tterm = t;\n"
	"\tfor (i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i];\n"
	"\t\tvar hit = re ? re.test(f.name) : f.name.indexOf(t) >= 0;\n"
	"\t\tf.r.setAttribute(\"fill\", hit ? HIGHLIGHT : f.fill);\n"
	"\t\tif (hit) hits.push(f);\n"
	"\t}\n"
	"\t/* Frames nest (laminar intervals): count a hit inside another hit once. */\n"
	"\thits.sort(function (a, b) { return a.o - b.o || a.d - b.d; });\n"
	"\tvar sum = 0, end = -1;\n"
	"\tfor (i = 0; i < hits.length; i++) {\n"
	"\t\tif (hits[i].o >= end) { sum += hits[i].s; end = hits[i].o + hits[i].s; }\n"
	"\t}\n"
	"\tvar pct = TOTAL ? 100 * sum / TOTAL : 0;\n"
	"\tsetText(matched, \"Matched: \" + pct.toFixed(2) + \"% (\" + sum + \" of \" + TOTAL + \" "
	"samples)\");\n"
	"\tmatched.classList.remove(\"hide\");\n"
	"\tsetText(searchBtn, \"Reset Search\");\n"
	"}\n"
	"function resetSearch() {\n"
	"\tterm = null;\n"
	"\tfor (var i = 0; i < frames.length; i++)\n"
	"\t\tframes[i].r.setAttribute(\"fill\", frames[i].fill);\n"
	"\tmatched.classList.add(\"hide\");\n"
	"\tsetText(searchBtn, \"Search\");\n"
	"}\n"
	"]]></script>\n";

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
	      "Esc to reset. -->\n",
	      f);
	fputs("<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
	      "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
	      "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient></defs>\n",
	      f);
	fputs(svg_style, f);
	fprintf(f,
		"<script type=\"text/ecmascript\"><![CDATA[\n"
		"var XPAD = %d, USABLE = %.3f, TOTAL = %" PRIu64 ", FONT_SIZE = %d, "
		"FONT_WIDTH = %.2f, MIN_WIDTH = %.2f, HIGHLIGHT = \"rgb(230,0,230)\";\n"
		"]]></script>\n",
		XPAD, l->usable, l->total, FONT_SIZE, FONT_WIDTH, MIN_WIDTH_PX);
	fputs(svg_script, f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"url(#bg)\"/>\n",
		l->width, l->height);
	fprintf(f, "<text id=\"title\" x=\"%.1f\" y=\"24\">", l->width / 2.0);
	xml_escape(f, title);
	fputs("</text>\n", f);
	if (subtitle) {
		fprintf(f, "<text id=\"subtitle\" x=\"%.1f\" y=\"44\">", l->width / 2.0);
		xml_escape(f, subtitle);
		fputs("</text>\n", f);
	}
	fprintf(f, "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n",
		XPAD);
	fprintf(f, "<text id=\"search\" class=\"btn\" x=\"%u\" y=\"24\">Search</text>\n",
		l->width - XPAD);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", XPAD, l->height - 12);
	fprintf(f, "<text id=\"matched\" class=\"hide\" x=\"%u\" y=\"%u\"> </text>\n",
		l->width - XPAD, l->height - 12);
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
	if (!t.names || !t.index) {
		err = -ENOMEM;
		goto out_free;
	}
	err = build_tree(p, &t);
	if (err)
		goto out_free;

	l.width = opts && opts->width ? opts->width : DEFAULT_WIDTH;
	if (l.width < MIN_SVG_WIDTH)
		l.width = MIN_SVG_WIDTH;
	l.usable = l.width - 2.0 * XPAD;
	l.total = t.nodes[0].count;
	l.top_pad = opts && opts->subtitle ? TOP_PAD_SUBTITLE : TOP_PAD;
	if (l.total) {
		order = malloc(t.n * sizeof(*order));
		if (!order) {
			err = -ENOMEM;
			goto out_free;
		}
		drawn = place_nodes(&t, &l, order, &l.max_depth);
	}
	l.height = l.top_pad + (l.max_depth + 1) * FRAME_H + BOTTOM_PAD;

	put_header(f, &l, opts);
	fputs("<g id=\"frames\">\n", f);
	for (i = 0; i < drawn; i++)
		put_frame(f, &t, &t.nodes[order[i]], &l);
	if (!drawn)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">No samples</text>\n",
			l.width / 2.0, frame_y(&l, 0) + FRAME_H - 4.5);
	fputs("</g>\n</svg>\n", f);
	if (fflush(f) == EOF || ferror(f))
		err = -EIO;

out_free:
	if (err)
		log_err("svg: failed to write flame graph: %s", strerror(-err));
	free(order);
	free(t.nodes);
	hindex__free(t.index);
	strpool__free(t.names);
	return err;
}
