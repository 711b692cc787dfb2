// SPDX-License-Identifier: MIT
//
// A backend for Etsy's statsd (tests/statsd_server.c): at every flush,
// appends one JSON line {"counters":{...},"timer_data":{...}} to the file
// named by the config's "jsonDump", so a C test reads the server's own
// computed count and percentiles of each timer.
'use strict';

const fs = require('fs');

exports.init = function (startup, config, events) {
	events.on('flush', function (ts, metrics) {
		fs.appendFileSync(config.jsonDump, JSON.stringify({
			counters: metrics.counters,
			timer_data: metrics.timer_data,
		}) + '\n');
	});
	return true;
};
