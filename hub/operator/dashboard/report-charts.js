// The HTML report's charts, drawn by charts.js from the JSON the report carries (#report-data).
// hub/operator/report.py inlines this file after format.js and charts.js, whose functions it calls:
// it is part of the report's one inline module, not of the dashboard.
const report = JSON.parse(document.getElementById('report-data').textContent);
const english = formatter('en-GB');
const NO_DATA = 'No data yet';

const chartOf = (name) => document.querySelector(`svg[data-chart="${name}"]`);
const unixOf = (text) => Date.parse(text.length === 10 ? `${text}T12:00:00+07:00` : text) / 1000;

/** A share (0..1) over time, with its target dashed when it has one. */
function shareChart(name, times, values, target) {
  lineChart(chartOf(name), {
    times, series: [{ key: name === 'connectivity' ? 'share' : name, values }], top: 1, noData: NO_DATA,
    yLabel: (v) => english.target(v), timeLabel: english.day,
    target, targetText: target == null ? '' : `target ${english.target(target)}`,
  });
}

function drawReport() {
  const history = report.history.points || [];
  shareChart('connectivity', history.map((p) => unixOf(p.at)), history.map((p) => p.share), report.history.target);
  const days = report.daily;
  const times = days.map((d) => unixOf(d.day));
  dailyBars(chartOf('received'), {
    days, yLabel: english.tick, dayLabel: english.day, noData: NO_DATA,
    title: (d) => `${english.date(d.day)}: received ${english.int(d.received)} (${english.int(d.online)} online), `
      + `late ${english.int(d.late)}`,
  });
  shareChart('online', times, days.map((d) => d.online_share), report.targets.online);
  shareChart('late', times, days.map((d) => d.late_share), null);
  shareChart('signed', times, days.map((d) => d.signed_share), report.targets.signed);
  const target = report.targets.documents;
  shareBars(chartOf('documents'), {
    periods: report.monthly.map((m) => ({ period: m.month, ...m })), yLabel: (v) => english.target(v),
    periodLabel: english.month, noData: NO_DATA, target,
    targetText: target == null ? '' : `target ${english.target(target)}`,
    title: (m) => `${english.month(m.month)}: ${english.percent(m.share)} electronic `
      + `(${english.int(m.electronic)} of ${english.int(m.documents)} documents)`,
  });
}

drawReport();
