// SPDX-License-Identifier: MIT
//
// Drive a sonde flame graph in a real browser (Debian's chromium through
// npm playwright-core) the way a person does, and print what it shows, so
// a C test can compare it exactly. Usage:
//   node svg_view.js FILE.svg STEP...
// Steps: open[:#FRAGMENT]  click:FRAME  search:TERM (typed into the prompt
// that "/" opens)  icase  unzoom  escape  reload. After each step:
//   == STEP
//   url #FRAGMENT            (or "url -" without one)
//   matched TEXT             (or "matched -" when hidden)
//   highlight N              frames in the search colour
//   frame NAME X W           every visible frame: its rect's x and width
//   legend A,B,...           the legend's labels
//   subtitle TEXT | TITLE    the subtitle as drawn, and its full text
'use strict';

const path = require('path');
const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));

const file = path.resolve(process.argv[2]);
const steps = process.argv.slice(3);
const url = 'file://' + file;

async function dump(page, step) {
	const s = await page.evaluate(() => {
		const out = [];
		const m = document.getElementById('matched');
		out.push('url ' + (location.hash || '-'));
		out.push('matched ' + (m.classList.contains('hide') ? '-' : m.textContent));
		let hl = 0;
		for (const f of frames) {
			if (f.r.getAttribute('fill') === HIGHLIGHT)
				hl++;
		}
		out.push('highlight ' + hl);
		for (const f of frames) {
			if (f.g.classList.contains('hide'))
				continue;
			out.push('frame ' + f.name + ' ' + f.r.getAttribute('x') + ' ' +
				 f.r.getAttribute('width'));
		}
		const labels = [...document.querySelectorAll('#legend text')].map((t) => t.textContent);
		out.push('legend ' + labels.join(','));
		const sub = document.getElementById('subtitle');
		if (sub) {
			const t = sub.querySelector('title');
			const drawn = [...sub.childNodes].filter((n) => n.nodeType === 3)
				.map((n) => n.textContent).join('');
			out.push('subtitle ' + drawn + ' | ' + (t ? t.textContent : ''));
		}
		return out.join('\n');
	});
	process.stdout.write('== ' + step + '\n' + s + '\n');
}

async function clickFrame(page, name) {
	const handle = await page.evaluateHandle((n) => {
		for (const f of frames) {
			if (f.name === n && !f.g.classList.contains('hide'))
				return f.r;
		}
		return null;
	}, name);
	const el = handle.asElement();
	if (!el)
		throw new Error('no visible frame ' + name);
	await el.click();
}

(async () => {
	const browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
	});
	const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	let answer = null;
	page.on('dialog', async (d) => {
		if (answer === null)
			await d.dismiss();
		else
			await d.accept(answer);
	});
	for (const step of steps) {
		const [cmd, ...rest] = step.split(':');
		const arg = rest.join(':');
		if (cmd === 'open') {
			await page.goto(url + arg);
		} else if (cmd === 'click') {
			await clickFrame(page, arg);
		} else if (cmd === 'search') {
			answer = arg;
			await page.keyboard.press('/');
			answer = null;
		} else if (cmd === 'icase') {
			await page.click('#icase');
		} else if (cmd === 'unzoom') {
			await page.click('#unzoom');
		} else if (cmd === 'escape') {
			await page.keyboard.press('Escape');
		} else if (cmd === 'reload') {
			await page.reload();
		} else {
			throw new Error('unknown step ' + step);
		}
		await dump(page, step);
	}
	await browser.close();
	if (errors.length) {
		console.error('page errors: ' + errors.join('; '));
		process.exit(1);
	}
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
